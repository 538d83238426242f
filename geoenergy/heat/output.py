"""Writing a waste-heat result to files: GeoPackage or CSV, monthly PUE, NetCDF grid.

:func:`write_result` is what ``geoenergy heat --out`` and the demo write,
and what a notebook calls to hand a :class:`~geoenergy.heat.HeatResult` on
to a GIS: one row per data centre with every quantity and its unit in the
column name (GeoPackage layer ``data_centres``: available, connected and
used heat, the share of the network's demand covered, ...), the connection
lines (layer ``connections``), one row per heating network (layer
``networks``: demand, used heat, coverage, investment, LCOH and monthly
figures), metered monthly PUE beside them and, if asked, the heat-density
grid.
"""

from __future__ import annotations

from pathlib import Path

from geoenergy.errors import ConfigError

__all__ = ["CONNECTIONS_LAYER", "NETWORKS_LAYER", "SITES_LAYER", "SUFFIXES", "write_result"]

SITES_LAYER = "data_centres"
"""GeoPackage layer of the one-row-per-data-centre table."""
CONNECTIONS_LAYER = "connections"
"""GeoPackage layer of the connection lines (site to network)."""
NETWORKS_LAYER = "networks"
"""GeoPackage layer of the heating networks and their balance."""
SUFFIXES = (".gpkg", ".csv")
"""File name endings :func:`write_result` writes: GeoPackage or CSV."""


def _boolish(s) -> bool:
    import numpy as np
    import pandas as pd

    vals = [v for v in s if v is not None and v is not pd.NA]
    return bool(vals) and all(isinstance(v, bool | np.bool_) for v in vals)


def _for_file(frame):
    """Plain dtypes every OGR driver and CSV reader understand (NA stays empty)."""
    import pandas as pd

    out = frame.copy()
    geom = frame.geometry.name if hasattr(frame, "geometry") else None
    for c in out.columns:
        s = out[c]
        if c == geom:
            continue
        if isinstance(s.dtype, pd.BooleanDtype) or (s.dtype == object and _boolish(s)):
            out[c] = pd.array(
                [None if v is None or v is pd.NA else bool(v) for v in s], dtype="boolean"
            )
        elif isinstance(s.dtype, pd.Int64Dtype):
            out[c] = s.astype("float64")
    return out


def write_result(res, out: Path, *, grid: Path | None = None) -> list[Path]:
    """Write a :class:`geoenergy.heat.HeatResult` to GeoPackage or CSV.

    Parameters
    ----------
    res : HeatResult
    out : Path
        ``.gpkg`` (layers ``data_centres``, ``connections`` and ``networks``)
        or ``.csv`` (geometry as WKT plus ``lon``/``lat`` [deg, WGS84];
        connections and networks in sibling ``<name>_connections.csv`` and
        ``<name>_networks.csv``). Metered monthly PUE, if any, goes
        to ``<name>_pue_monthly.csv``.
    grid : Path, optional
        NetCDF file for the heat-density grid [MWh/ha/yr]; needs a result
        computed with heat demand or buildings.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ConfigError
        For an ``out`` that is neither ``.gpkg`` nor ``.csv``, or a ``grid``
        asked of a result without a heat-density grid.
    """
    import pandas as pd

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(
            f"out={str(out)!r}: unknown extension {out.suffix!r}; use .gpkg (GeoPackage) or .csv."
        )
    if grid is not None and res.heat_density is None:
        raise ConfigError(
            "grid: this result has no heat-density grid because it was computed without "
            "heat demand; give heat_demand or buildings to the analysis (or load a "
            "heat_demand or buildings layer into the workspace), or leave grid out."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out]
    sites = _for_file(res.sites)
    connections = _for_file(res.connections)
    networks = (
        _for_file(res.networks.reset_index())
        if getattr(res, "networks", None) is not None
        else None
    )
    if suffix == ".gpkg":
        out.unlink(missing_ok=True)
        sites.to_file(out, layer=SITES_LAYER, driver="GPKG", engine="pyogrio")
        connections.to_file(out, layer=CONNECTIONS_LAYER, driver="GPKG", engine="pyogrio")
        if networks is not None:
            networks.to_file(out, layer=NETWORKS_LAYER, driver="GPKG", engine="pyogrio")
    else:
        cent = res.sites.geometry.representative_point()
        table = pd.DataFrame(sites.drop(columns=sites.geometry.name))
        table["lon"], table["lat"] = cent.x.to_numpy(), cent.y.to_numpy()
        table["geometry_wkt"] = res.sites.geometry.to_wkt().to_numpy()
        table.to_csv(out, index=False)
        side = out.with_name(f"{out.stem}_connections.csv")
        lines = pd.DataFrame(connections.drop(columns=connections.geometry.name))
        lines["geometry_wkt"] = res.connections.geometry.to_wkt().to_numpy()
        lines.to_csv(side, index=False)
        written.append(side)
        if networks is not None:
            nside = out.with_name(f"{out.stem}_networks.csv")
            table = pd.DataFrame(networks.drop(columns=networks.geometry.name))
            table["geometry_wkt"] = res.networks.geometry.to_wkt().to_numpy()
            table.to_csv(nside, index=False)
            written.append(nside)
    if len(res.monthly_pue):
        monthly = out.with_name(f"{out.stem}_pue_monthly.csv")
        res.monthly_pue.to_csv(monthly, index=False)
        written.append(monthly)
    if grid is not None:
        grid = Path(grid)
        grid.parent.mkdir(parents=True, exist_ok=True)
        res.heat_density.to_netcdf(grid)
        written.append(grid)
    return written
