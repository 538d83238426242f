"""Entry points from a workspace or from layer files into the waste-heat computation.

The computation (:func:`geoenergy.heat.compute.analyse`) takes plain frames;
this room gathers them and calls it:

- from a :class:`~geoenergy.config.Workspace`: the layers from the
  workspace's open store (``ws.store``, or the store the caller already
  holds; never reopened from a path), the hourly readings of the data
  centres' meters from its readings store, and the ``[heat]`` table of its
  ``geoenergy.toml`` (:func:`load_workspace_inputs`, :func:`workspace_config`,
  :func:`analyse_workspace`);
- from layer files (any OGR format or GeoParquet; declared loads, no
  readings): :func:`load_file_inputs`, :func:`analyse_files`;
- :func:`readings_from_dataset` turns an ``open_readings`` Dataset into the
  ``{meter_id: kWh Series}`` mapping the computation takes.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoenergy.errors import ConfigError
from geoenergy.heat.compute import HeatResult, _clean_id, _column, analyse
from geoenergy.heat.config import HeatConfig

__all__ = [
    "analyse_files",
    "analyse_workspace",
    "load_file_inputs",
    "load_workspace_inputs",
    "readings_from_dataset",
    "workspace_config",
]


# -- readings ------------------------------------------------------------------------------


def readings_from_dataset(ds, meters=None) -> dict[str, pd.Series]:
    """Turn :func:`geoenergy.readings.open_readings` output into ``{meter_id: kWh series}``.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``kwh`` [kWh] on dims ``("meter", "time")`` and ``time`` in UTC.
    meters : iterable of str, optional
        Only these meters.

    Returns
    -------
    dict
        meter_id -> pandas.Series of kWh per step on a UTC DatetimeIndex.
    """
    if not hasattr(ds, "kwh") or "meter" not in ds.dims:
        raise TypeError("ds must be the Dataset from open_readings (variable kwh, dim meter).")
    ids = list(ds["meter"].values) if meters is None else [m for m in meters if m in ds["meter"]]
    if not ids:
        return {}
    block = ds["kwh"].sel(meter=ids).compute()
    times = pd.DatetimeIndex(block["time"].values).tz_localize("UTC")
    return {str(m): pd.Series(block.sel(meter=m).values, index=times, name=str(m)) for m in ids}


# -- from a workspace ---------------------------------------------------------------------


def _workspace_readings(ws, meter_ids, store, notes):
    """Hourly readings of the given meters, skipping the ones the workspace lacks.

    ``store`` is the open relational store the caller holds; meters that
    cannot be read are reported in ``notes`` (appended to).
    """
    from geoenergy.readings import open_readings

    wanted = sorted(set(meter_ids))
    if not wanted:
        return {}
    try:
        ds = open_readings(ws, resolution="hourly", meters=wanted, store=store)
        return readings_from_dataset(ds)
    except ValueError:
        pass
    out = {}
    for m in wanted:
        try:
            ds = open_readings(ws, resolution="hourly", meters=[m], store=store)
        except ValueError as exc:
            notes.append(f"meter {m}: no usable hourly readings ({exc}); using declared values.")
            continue
        out.update(readings_from_dataset(ds))
    return out


def load_workspace_inputs(ws, *, store=None) -> tuple[dict, list[str]]:
    """The inputs of :func:`~geoenergy.heat.compute.analyse` from a workspace.

    Layers come from the store (``data_centres``, ``heating_network``, and
    ``heat_demand`` / ``buildings`` when present); hourly readings of the data
    centres' ``meter_id`` and ``it_meter_id`` from the readings store.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The open workspace.
    store : geoenergy.store.Store, optional
        The relational store the caller already holds (default: the
        workspace's open store, ``ws.store``). Opened once; every layer and
        the readings are read through it.

    Returns
    -------
    inputs : dict
        Keyword arguments for :func:`~geoenergy.heat.compute.analyse` and
        :func:`~geoenergy.heat.sweep.sensitivity` (``data_centres``,
        ``network``, ``heat_demand``, ``buildings``, ``readings``).
    notes : list of str
        Meters whose readings could not be used.
    """
    from geoenergy.layerstore import load_layer

    store = ws.store if store is None else store
    dc = load_layer(ws, "data_centres", store=store)
    notes: list[str] = []
    ids = [
        m
        for col in ("meter_id", "it_meter_id")
        for m in (_clean_id(v) for v in _column(dc, col))
        if m
    ]
    inputs = {
        "data_centres": dc,
        "network": load_layer(ws, "heating_network", store=store),
        "heat_demand": load_layer(ws, "heat_demand", store=store, required=False),
        "buildings": load_layer(ws, "buildings", store=store, required=False),
        "readings": _workspace_readings(ws, ids, store, notes),
    }
    return inputs, notes


def workspace_config(ws) -> HeatConfig:
    """The workspace's ``[heat]`` table of ``geoenergy.toml``, else the defaults.

    A relative ``weather_file`` is taken relative to the workspace folder.
    """
    extra = ws.settings.extra.get("heat") if hasattr(ws, "settings") else None
    if not extra:
        return HeatConfig()
    extra = dict(extra)
    weather = extra.get("weather_file")
    if isinstance(weather, str) and not Path(weather).is_absolute():
        # A weather file named in the workspace's geoenergy.toml is relative to the workspace.
        extra["weather_file"] = str(Path(ws.path) / weather)
    return HeatConfig.from_dict(extra, source=f"{ws.config_path} [heat]")


def analyse_workspace(ws, *, config: HeatConfig | None = None, store=None) -> HeatResult:
    """Run :func:`~geoenergy.heat.compute.analyse` on the layers and readings of a workspace.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The open workspace.
    config : HeatConfig, optional
        Assumptions (default: the workspace's ``[heat]`` table in
        ``geoenergy.toml``, see :func:`workspace_config`).
    store : geoenergy.store.Store, optional
        The relational store the caller holds (default ``ws.store``); see
        :func:`load_workspace_inputs`.

    Returns
    -------
    HeatResult
        With the notes of :func:`load_workspace_inputs` first.
    """
    inputs, notes = load_workspace_inputs(ws, store=store)
    res = analyse(**inputs, config=config or workspace_config(ws))
    res.notes[:0] = notes
    return res


# -- from files --------------------------------------------------------------------------


def load_file_inputs(data_centres, network, *, demand=None, buildings=None, streets=None) -> dict:
    """The inputs of :func:`~geoenergy.heat.compute.analyse` from layer files (no readings).

    Loads are the declared ones (``it_load_mw``, ``pue``).

    Parameters
    ----------
    data_centres, network : str or Path
        Files of the ``data_centres`` and ``heating_network`` layers (any OGR
        format or GeoParquet), checked with :func:`layers.io.read_layer`.
    demand : str or Path, optional
        ``heat_demand`` layer file.
    buildings : str or Path, optional
        ``buildings`` layer file (demand when ``demand`` is not given).
    streets : str or Path, optional
        Street centre lines for routing.

    Returns
    -------
    dict
        Keyword arguments for :func:`~geoenergy.heat.compute.analyse`
        (``data_centres``, ``network``, ``heat_demand``, ``buildings``,
        ``streets``).
    """
    from layers.io import read_layer

    st = None
    if streets is not None:
        path = Path(streets)
        if not path.exists():
            raise ConfigError(f"--streets {path}: file not found.")
        st = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path)
        if st.crs is None:
            raise ConfigError(f"--streets {path}: no CRS; set it in the file (e.g. EPSG:4326).")
    return {
        "data_centres": read_layer(Path(data_centres), "data_centres"),
        "network": read_layer(Path(network), "heating_network"),
        "heat_demand": read_layer(Path(demand), "heat_demand") if demand is not None else None,
        "buildings": read_layer(Path(buildings), "buildings") if buildings is not None else None,
        "streets": st,
    }


def analyse_files(
    data_centres,
    network,
    *,
    demand=None,
    buildings=None,
    streets=None,
    config: HeatConfig | None = None,
) -> HeatResult:
    """Run :func:`~geoenergy.heat.compute.analyse` straight from layer files.

    See :func:`load_file_inputs`.
    """
    inputs = load_file_inputs(
        data_centres, network, demand=demand, buildings=buildings, streets=streets
    )
    return analyse(**inputs, config=config)
