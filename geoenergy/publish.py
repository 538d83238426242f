"""Gather a workspace's results and publish them as a static, offline web site.

The officials' map carries aggregates only (districts, H3 cells and the city
total, counts below ``min_count`` suppressed together with the cells that
would let them be worked out, :func:`layers.aggregate.aggregate_linked`) and
the data centres' PUE compliance; the
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

__all__ = [
    "PublishResult",
    "latest_run",
    "map_profiles",
    "meter_energy_mwh",
    "meters_for_aggregates",
    "publish_workspace",
    "run_flags",
    "wasteheat_layers",
]


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


def map_profiles(ws, meter_ids, *, weeks: int = 3, store=None) -> dict:
    """Load profiles for map popups: ``{meter_id: {"hourly": Series, "avg_day": array}}``.

    ``hourly`` is the energy per hour [kWh] of the last ``weeks`` (local-time
    index), ``avg_day`` the mean of each local hour over all readings [kW];
    the input :func:`webmap.enforcement_map` takes as ``profiles``.
    """
    from geoenergy.readings import open_readings

    meter_ids = list(meter_ids)
    if not meter_ids:
        return {}
    ds = open_readings(ws, resolution="hourly", meters=meter_ids, store=store).load()
    local = pd.DatetimeIndex(ds["local_time"].values)
    keep = local >= local[-1] - pd.Timedelta(weeks=weeks)
    out = {}
    for i, m in enumerate(ds["meter"].values):  # a few hundred charts, not every meter
        x = ds["kwh"].values[i]
        hourly = pd.Series(x[keep], index=local[keep])
        avg_day = pd.Series(x).groupby(local.hour).mean().reindex(range(24)).to_numpy()
        out[str(m)] = {"hourly": hourly, "avg_day": avg_day}
    return out


def meter_energy_mwh(ws, meter_ids, *, store=None) -> pd.Series:
    """Energy of each meter over all its readings [MWh], indexed by meter id."""
    from geoenergy.readings import open_readings

    meter_ids = list(meter_ids)
    if not meter_ids:
        return pd.Series(dtype=float)
    ds = open_readings(ws, resolution="daily", meters=meter_ids, store=store)
    mwh = ds["kwh"].sum("time").compute() / 1000.0
    return pd.Series(mwh.values, index=mwh["meter"].values.astype(str))


def meters_for_aggregates(ws, scores: pd.DataFrame, *, store=None) -> gpd.GeoDataFrame:
    """Every registered meter as a WGS84 point, ready for :mod:`layers.aggregate`.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    scores : DataFrame
        One row per scored meter with ``meter_id`` and ``flagged`` (a detection
        result or a stored run's flags); its other columns are kept, except
        ``address``, ``district`` and the geometry, which come from the registry
        and the spatial join.

    Returns
    -------
    geopandas.GeoDataFrame
        ``meter_id, address, district``, the columns of ``scores``, ``flagged``
        (False for meters not scored), ``confirmed`` (the latest inspection
        found mining) and ``flagged_mwh`` (energy of flagged meters [MWh]).
    """
    from geoenergy.detection import load_labels, meter_context

    context = meter_context(ws, store=store)
    geom = context.geometry.name
    own = [c for c in scores.columns if c not in ("address", "district", geom, "geometry")]
    meters = context[["meter_id", "address", "district", geom]].merge(
        pd.DataFrame(scores[own]), on="meter_id", how="left"
    )
    meters["flagged"] = meters["flagged"].fillna(False).astype(bool)
    labels = load_labels(ws, store=store).drop_duplicates("meter_id", keep="last")
    confirmed = set(labels.loc[labels["label"] == "mining", "meter_id"])
    meters["confirmed"] = meters["meter_id"].isin(confirmed)
    energy = meter_energy_mwh(ws, meters.loc[meters["flagged"], "meter_id"], store=store)
    meters["flagged_mwh"] = meters["meter_id"].map(energy).fillna(0.0)
    return gpd.GeoDataFrame(meters, geometry=geom, crs=4326)


def wasteheat_layers(heat) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Data centres and connection lines of a heat analysis in the maps' column names.

    Parameters
    ----------
    heat : geoenergy.heat.HeatResult

    Returns
    -------
    data_centres : geopandas.GeoDataFrame
        ``heat.sites`` plus ``compliant``, ``excess_mwh`` and
        ``usable_heat_mwh_th`` (:func:`webmap.officials_map`,
        :func:`webmap.wasteheat_map`).
    connections : geopandas.GeoDataFrame
        ``heat.connections`` with ``route_m`` and each site's ``distance_m``,
        ``capex_cny``, ``lcoh_cny_per_mwh`` and ``usable_heat_mwh_th``.
    """
    sites = heat.sites
    dc = sites.assign(
        compliant=sites["pue_compliant"],
        excess_mwh=sites["pue_excess_energy_mwh_per_yr"],
        usable_heat_mwh_th=sites["usable_heat_mwh_th_per_yr"],
    )
    costs = pd.DataFrame(
        dc[["name", "distance_m", "capex_cny", "lcoh_cny_per_mwh", "usable_heat_mwh_th"]]
    )
    con = heat.connections.merge(costs, on="name", how="left").rename(
        columns={"route_length_m": "route_m"}
    )
    return dc, gpd.GeoDataFrame(con, geometry="geometry", crs=4326)


def rectification_table(ws, store, *, min_count: int = 5) -> pd.DataFrame:
    """Confirmed mining cases by kind of site and by measure, as officials may see them.

    Classified rectification (分类整治) in one table: ``table`` (``kind``,
    ``measure`` or ``total``), ``code``, ``label`` and ``cases`` (None where
    suppressed). Counts below ``min_count`` and the counts that would let them
    be solved from the rest are suppressed together
    (:func:`geoenergy.rectification.rectification_counts`).

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        Its ``[rectification]`` vocabularies label the codes.
    store : geoenergy.store.Store
    min_count : int, default 5
        Smallest count published.
    """
    from geoenergy.rectification import rectification_counts, rectification_vocabulary

    with store.session() as s:
        counts = rectification_counts(
            s, vocabulary=rectification_vocabulary(ws), min_count=min_count
        )
    rows = [{"table": "kind", **r} for r in counts["by_kind"]]
    rows += [{"table": "measure", **r} for r in counts["by_measure"]]
    rows.append(
        {"table": "total", "code": "", "label": "confirmed mining cases", "cases": counts["total"]}
    )
    table = pd.DataFrame(rows, columns=["table", "code", "label", "cases"])
    table["cases"] = table["cases"].astype("Int64")
    return table


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
    from geoenergy.heat import analyse_workspace
    from geoenergy.layerstore import load_layer
    from layers.aggregate import aggregate_linked, aggregate_to_grid
    from webmap import MapSpec, publish_site

    store = store or ws.store
    store.check()
    run = latest_run(store, run_id)
    maps: dict = {}
    downloads: dict = {}
    # A name, not the server's folder; no city-wide counts (the total is one of the
    # linked tables and may be suppressed, see layers.aggregate.aggregate_linked).
    sources = [("workspace", ws.path.name)]
    data_date = None
    if run is not None:
        flags = run_flags(store, run.id)
        data_date = run.data_end.date().isoformat() if run.data_end else None
        sources.append(
            (f"detection run {run.id}", f"{run.detector} detector, data to {data_date}")
        )
        meters = meters_for_aggregates(ws, flags[["meter_id", "flagged"]], store=store)
        officials: dict = {"min_count": min_count, "basemap": basemap, "data_date": data_date}
        districts = load_layer(ws, "districts", store=store, required=False)
        kw = {
            "flagged_col": "flagged",
            "confirmed_col": "confirmed",
            "sum_cols": ["flagged_mwh"],
            "min_count": min_count,
        }
        if districts is not None:
            # Districts, H3 cells and the total are suppressed together: every layer
            # and download below comes from these three tables.
            linked = aggregate_linked(
                meters,
                districts,
                district_col="district",
                grid="h3",
                resolution=h3_resolution,
                **kw,
            )
            officials["districts"] = downloads["districts"] = linked.districts
            hexes = linked.cells
        else:
            hexes = aggregate_to_grid(meters, grid="h3", resolution=h3_resolution, **kw)
        officials["hexagons"] = hexes
        downloads["h3_cells"] = hexes
        downloads["rectification"] = rectification_table(ws, store, min_count=min_count)
        if include_addresses:
            top = flags[flags["flagged"]].head(max_profiles)["meter_id"].tolist()
            maps["enforcement"] = MapSpec(
                "enforcement",
                {
                    "flags": flags[flags["flagged"]].copy(),
                    "profiles": map_profiles(ws, top, store=store),
                    "hotspots": _hotspots(store, run.id),
                    "districts": None if districts is None else districts.to_crs(4326),
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
        dc, connections = wasteheat_layers(heat)
        if officials is not None:
            officials["data_centres"] = dc[
                ["name", "pue", "pue_limit", "compliant", "excess_mwh", "geometry"]
            ]
        maps["wasteheat"] = MapSpec(
            "wasteheat",
            {
                "data_centres": dc,
                "network": load_layer(ws, "heating_network", store=store, required=False),
                "demand_grid": heat.heat_density,
                "connections": connections,
                "networks": heat.networks,
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
        generated_at=dt.datetime.now(ws.tz),
        data_sources=sources,
        include_enforcement=include_addresses,
    )
    written = [n for n in maps if include_addresses or n != "enforcement"]
    return PublishResult(site, Path(site.index), run.id if run is not None else None, written)
