"""Gather a workspace's results and publish them as a static, offline web site.

The officials' map carries aggregates only (districts and H3 cells, counts
below ``min_count`` suppressed) and the data centres' PUE compliance; the
waste-heat map the heat analysis; the enforcement map -- addresses,
personal data -- is built only with ``include_addresses=True``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from geoenergy.errors import ConfigError

__all__ = ["PublishResult", "latest_run", "publish_workspace", "run_flags"]


@dataclass
class PublishResult:
    site: object  # webmap.site.PublishedSite
    index: Path
    run_id: int | None
    maps: list[str]


def latest_run(store, run_id: int | None = None):
    """The chosen detection run, else the latest one, or None."""
    from geoenergy.store import DetectionRun

    with store.session() as s:
        if run_id is not None:
            run = s.get(DetectionRun, run_id)
            if run is None:
                raise ConfigError(f"there is no detection run {run_id}; see `geoenergy status`.")
            return run
        return (
            s.execute(sa.select(DetectionRun).order_by(DetectionRun.id.desc())).scalars().first()
        )


def run_flags(store, run_id: int) -> gpd.GeoDataFrame:
    """Every scored meter of a run with its address and WGS84 point."""
    from geoenergy.store import Flag, Meter

    cols = [
        Flag.meter_id,
        Flag.score,
        Flag.rank,
        Flag.flagged,
        Flag.status,
        Flag.reasons,
        Flag.district,
        Flag.building_use,
        Flag.peer_group,
        Flag.onset_date,
        Flag.hotspot_id,
        Meter.address,
        Meter.customer_class,
        Meter.lon,
        Meter.lat,
    ]
    with store.session() as s:
        rows = s.execute(
            sa.select(*cols)
            .join(Meter, Meter.meter_id == Flag.meter_id)
            .where(Flag.run_id == run_id)
            .order_by(Flag.rank)
        ).all()
    df = pd.DataFrame(rows, columns=[c.key for c in cols])
    df["reasons"] = ["; ".join(r) if isinstance(r, list) else str(r or "") for r in df["reasons"]]
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


def _hotspots(store, run_id: int) -> gpd.GeoDataFrame | None:
    import shapely
    from geoalchemy2 import functions as gfn

    from geoenergy.store import Hotspot

    with store.session() as s:
        rows = s.execute(
            sa.select(
                Hotspot.label,
                Hotspot.n_flagged,
                Hotspot.total_score,
                gfn.ST_AsBinary(Hotspot.geom),
            ).where(Hotspot.run_id == run_id)
        ).all()
    if not rows:
        return None
    return gpd.GeoDataFrame(
        {
            "name": [r[0] for r in rows],
            "n_flagged": [r[1] for r in rows],
            "total_score": [r[2] for r in rows],
        },
        geometry=shapely.from_wkb([bytes(r[3]) for r in rows]),
        crs=4326,
    )


def _profiles(ws, store, meter_ids, weeks: int = 3) -> dict:
    """Hourly energy of the last weeks and the average day [kW] per meter."""
    from geoenergy.readings import open_readings

    if not meter_ids:
        return {}
    ds = open_readings(ws, resolution="hourly", meters=list(meter_ids), store=store).load()
    local = pd.DatetimeIndex(ds["local_time"].values)
    keep = local >= local[-1] - pd.Timedelta(weeks=weeks)
    out = {}
    for i, m in enumerate(ds["meter"].values):  # a few hundred charts, not every meter
        x = ds["kwh"].values[i]
        hourly = pd.Series(x[keep], index=local[keep])
        avg_day = pd.Series(x).groupby(local.hour).mean().reindex(range(24)).to_numpy()
        out[str(m)] = {"hourly": hourly, "avg_day": avg_day}
    return out


def _flagged_energy(ws, store, meter_ids) -> pd.Series:
    """Energy of each flagged meter over the run's data [MWh]."""
    from geoenergy.readings import open_readings

    if not meter_ids:
        return pd.Series(dtype=float)
    ds = open_readings(ws, resolution="daily", meters=list(meter_ids), store=store)
    mwh = ds["kwh"].sum("time").compute() / 1000.0
    return pd.Series(mwh.values, index=mwh["meter"].values.astype(str))


def _confirmed(store) -> set[str]:
    from geoenergy.store import InspectionLabel

    with store.session() as s:
        rows = s.execute(
            sa.select(InspectionLabel.meter_id, InspectionLabel.label).order_by(
                InspectionLabel.inspected_on
            )
        ).all()
    latest = dict(rows)  # the latest verdict per meter wins
    return {m for m, lab in latest.items() if lab == "mining"}


def publish_workspace(
    ws,
    out,
    *,
    store=None,
    run_id: int | None = None,
    include_addresses: bool = False,
    min_count: int = 5,
    basemap=None,
    review_url: str | None = None,
    h3_resolution: int = 8,
    max_profiles: int = 300,
) -> PublishResult:
    """Build the maps of a workspace and write the static site to ``out``.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    out : str or Path
        Site folder (created; a folder written by an earlier publish is replaced).
    run_id : int, optional
        Detection run to show (default the latest).
    include_addresses : bool, default False
        Also publish the enforcement map (addresses: personal data).
    min_count : int, default 5
        Areas with fewer meters, flags or confirmations are suppressed.
    basemap : webmap.basemap.Basemap, optional
        Tile server; None draws the data on a plain background.
    review_url : str, optional
        Review-app case URL template for the enforcement map.
    """
    from geoenergy.detection import meter_context
    from geoenergy.heat import analyse_workspace
    from geoenergy.layerstore import load_layer
    from geoenergy.store import Store
    from layers.aggregate import aggregate_to_districts, aggregate_to_grid
    from webmap import MapSpec, publish_site

    store = store or Store.for_workspace(ws)
    store.check()
    run = latest_run(store, run_id)
    maps: dict = {}
    downloads: dict = {}
    sources = [("workspace", str(ws.path))]
    data_date = None
    if run is not None:
        flags = run_flags(store, run.id)
        data_date = run.data_end.date().isoformat() if run.data_end else None
        sources.append(
            (
                f"detection run {run.id}",
                f"{run.detector}, {run.n_meters:,} meters, "
                f"{run.n_flagged:,} flagged, data to {data_date}",
            )
        )
        flagged_ids = flags.loc[flags["flagged"], "meter_id"].tolist()
        energy = _flagged_energy(ws, store, flagged_ids)
        confirmed = _confirmed(store)
        meters = meter_context(ws, store=store)[["meter_id", "district", "geometry"]]
        meters = meters.merge(flags[["meter_id", "flagged"]], on="meter_id", how="left")
        meters["flagged"] = meters["flagged"].fillna(False).astype(bool)
        meters["confirmed"] = meters["meter_id"].isin(confirmed)
        meters["flagged_mwh"] = meters["meter_id"].map(energy).fillna(0.0)
        meters = gpd.GeoDataFrame(meters, geometry="geometry", crs=4326)
        officials: dict = {"min_count": min_count, "basemap": basemap, "data_date": data_date}
        districts = load_layer(ws, "districts", store=store, required=False)
        if districts is not None:
            agg = aggregate_to_districts(
                meters,
                districts,
                district_col="district",
                flagged_col="flagged",
                confirmed_col="confirmed",
                sum_cols=["flagged_mwh"],
                min_count=min_count,
            )
            officials["districts"] = agg
            downloads["districts"] = agg
        hexes = aggregate_to_grid(
            meters,
            grid="h3",
            resolution=h3_resolution,
            flagged_col="flagged",
            confirmed_col="confirmed",
            sum_cols=["flagged_mwh"],
            min_count=min_count,
        )
        officials["hexagons"] = hexes
        downloads["h3_cells"] = hexes
        if include_addresses:
            top = flags[flags["flagged"]].head(max_profiles)["meter_id"].tolist()
            maps["enforcement"] = MapSpec(
                "enforcement",
                {
                    "flags": flags[flags["flagged"]].copy(),
                    "profiles": _profiles(ws, store, top),
                    "hotspots": _hotspots(store, run.id),
                    "review_url": review_url,
                    "basemap": basemap,
                    "data_date": data_date,
                },
            )
    else:
        officials = None
    heat = None
    if load_layer(ws, "data_centres", store=store, required=False) is not None:
        heat = analyse_workspace(ws, store=store)
        sites = heat.sites
        dc = sites.assign(
            compliant=sites["pue_compliant"],
            excess_mwh=sites["pue_excess_energy_mwh_per_yr"],
            usable_heat_mwh_th=sites["usable_heat_mwh_th_per_yr"],
        )
        if officials is not None:
            officials["data_centres"] = dc[
                ["name", "pue", "pue_limit", "compliant", "excess_mwh", "geometry"]
            ]
        con = heat.connections.merge(
            pd.DataFrame(
                sites[["name", "distance_m", "capex_cny", "lcoh_cny_per_mwh"]].assign(
                    usable_heat_mwh_th=sites["usable_heat_mwh_th_per_yr"]
                )
            ),
            on="name",
            how="left",
        ).rename(columns={"route_length_m": "route_m"})
        maps["wasteheat"] = MapSpec(
            "wasteheat",
            {
                "data_centres": dc,
                "network": load_layer(ws, "heating_network", store=store, required=False),
                "demand_grid": heat.heat_density,
                "connections": gpd.GeoDataFrame(con, geometry="geometry", crs=4326),
                "basemap": basemap,
                "data_date": data_date or dt.date.today().isoformat(),
            },
        )
        downloads["data_centres"] = dc.drop(columns=["status"], errors="ignore")
        sources.append(("waste-heat analysis", "geoenergy.heat with the workspace's assumptions"))
    if officials is not None and ("districts" in officials or "hexagons" in officials):
        if "districts" not in officials:
            raise ConfigError(
                "the officials' map needs a districts layer: `geoenergy layers add districts FILE`."
            )
        maps = {"officials": MapSpec("officials", officials), **maps}
    if not maps:
        raise ConfigError(
            "nothing to publish yet: run `geoenergy detect` and/or load a data_centres layer."
        )
    site = publish_site(
        out,
        maps,
        downloads=downloads,
        generated_at=dt.datetime.now().astimezone(),
        data_sources=sources,
        include_enforcement=include_addresses,
    )
    written = [n for n in maps if include_addresses or n != "enforcement"]
    return PublishResult(site, Path(site.index), run.id if run is not None else None, written)
