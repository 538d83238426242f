"""Writing the city: the sample-city files in GeoEnergy's input formats.

:func:`generate_city` simulates a population
(:mod:`~geoenergy.samplecity.population`), places it in the town
(:mod:`~geoenergy.samplecity.geometry`), builds the heat layers
(:mod:`~geoenergy.samplecity.heat`) and writes the lot to one directory:
the meter registry, hourly readings as Parquet, a CSV of duplicates and
deliberately bad rows, inspection labels, daily weather, the ground truth
(for evaluation only), one GeoPackage per layer and a ``README.txt`` that
says the data are synthetic. Files are byte-reproducible for a seed (the
GeoPackage change stamp is pinned).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from geoenergy.samplecity.geometry import _buildings_layer, _districts_layer, _place_meters
from geoenergy.samplecity.heat import _data_centres_layer, _heat_demand, _heating_network
from geoenergy.samplecity.population import (
    ARCHETYPES,
    _check_generate_city,
    _contracted_kw,
    _gaps,
    _labels,
    _simulate,
)

__all__ = ["SampleCity", "generate_city"]

_UNKNOWN_METER = "M999999"
_BAD_TIMESTAMP = "2023-13-45 25:00"
_BAD_KWH = "abc"
_N_EXTRA_ROWS = 200
_N_BAD_PER_KIND = 4


@dataclass
class SampleCity:
    """Paths of the files written by :func:`generate_city`.

    Attributes
    ----------
    root : Path
        The output directory (holds ``README.txt``).
    registry, readings, readings_csv_extra, labels, weather, truth : Path
        ``registry.csv``, ``readings.parquet``, ``readings_extra.csv`` (None
        when errors were not injected), ``labels.csv``, ``weather.csv`` and
        ``truth.csv`` (ground truth, for evaluation only, never ingested).
    layers : dict of str to Path
        ``{kind: path}`` of the GeoPackage layers (layer name = kind).
    n_meters : int
    start, end : pd.Timestamp
        The readings cover ``[start, end)``, naive local time (Asia/Shanghai).
    """

    root: Path
    registry: Path
    readings: Path
    readings_csv_extra: Path | None
    labels: Path
    weather: Path
    truth: Path
    layers: dict[str, Path] = field(default_factory=dict)
    n_meters: int = 0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


@contextlib.contextmanager
def _fixed_gdal_date():
    """Pin the GeoPackage ``last_change`` stamp so files are byte-reproducible."""
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2023-11-15T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_layer(gdf, path, kind):
    path.unlink(missing_ok=True)
    gdf.to_file(path, layer=kind, driver="GPKG", engine="pyogrio")


def _write_readings(path, meter_ids, load, keep, clock):
    H = load.shape[1]
    flat_keep = keep.ravel()
    idx = np.flatnonzero(flat_keep)
    meter_idx = (idx // H).astype(np.int32)
    hour = idx % H
    t0 = np.datetime64(clock.start.to_datetime64(), "us").astype(np.int64)
    ts = t0 + hour.astype(np.int64) * 3_600_000_000
    kwh = load.ravel()[idx]
    table = pa.table(
        {
            "meter_id": pc.take(pa.array(meter_ids, pa.string()), pa.array(meter_idx)),
            "timestamp": pa.array(ts, pa.timestamp("us")),
            "kwh": pa.array(kwh, pa.float64()),
        }
    )
    pq.write_table(
        table,
        path,
        row_group_size=1_000_000,
        compression="zstd",
        use_dictionary=["meter_id"],
        column_encoding={"timestamp": "DELTA_BINARY_PACKED", "kwh": "BYTE_STREAM_SPLIT"},
    )
    return idx


def _extra_rows(rng, meter_ids, load, kept_idx, clock):
    """Exact duplicates of parquet rows plus every kind of bad row."""
    H = clock.H
    n_bad = 6 * _N_BAD_PER_KIND
    pick = rng.choice(kept_idx, _N_EXTRA_ROWS, replace=False)
    m, h = pick // H, pick % H
    stamps = clock.start + pd.to_timedelta(h, unit="h")
    iso = stamps.strftime("%Y-%m-%dT%H:%M:%S").to_numpy().astype(object)
    with_tz = rng.random(_N_EXTRA_ROWS) < 0.35
    iso[with_tz] = iso[with_tz] + "+08:00"
    kwh = np.array([repr(float(v)) for v in load.ravel()[pick]], dtype=object)
    mid = np.asarray(meter_ids, dtype=object)[m].copy()
    kinds = np.array(["duplicate"] * (_N_EXTRA_ROWS - n_bad), dtype=object)
    bad = [
        "negative_kwh",
        "non_numeric_kwh",
        "bad_timestamp",
        "empty_meter_id",
        "unknown_meter",
        "conflicting_duplicate",
    ]
    kinds = np.r_[kinds, np.repeat(bad, _N_BAD_PER_KIND)]
    v = load.ravel()[pick]
    for i in np.flatnonzero(kinds != "duplicate"):
        k = kinds[i]
        if k == "negative_kwh":
            kwh[i] = repr(-round(float(rng.uniform(0.1, 5.0)), 3))
        elif k == "non_numeric_kwh":
            kwh[i] = _BAD_KWH
        elif k == "bad_timestamp":
            iso[i] = _BAD_TIMESTAMP
        elif k == "empty_meter_id":
            mid[i] = ""
        elif k == "unknown_meter":
            mid[i] = _UNKNOWN_METER
        else:
            kwh[i] = repr(round(float(v[i] + rng.uniform(0.5, 3.0)), 3))
    order = rng.permutation(_N_EXTRA_ROWS)
    return pd.DataFrame({"meter_id": mid[order], "timestamp": iso[order], "kwh": kwh[order]})


_README = """\
SYNTHETIC DATA -- NOT REAL
==========================

Every file in this directory was generated by GeoEnergy
(geoenergy.samplecity.generate_city, seed={seed}, n_meters={n},
readings {start} to {end} exclusive, errors injected: {errors}).

The town, its districts, streets, villages, buildings, meters, customers,
heating network, operators and data centres are fictional. It is placed
near 116.20-116.35 E, 39.95-40.03 N (north-west of Beijing) only so that
coordinates and the weather look plausible. Addresses start with "[示例]"
("example") and company names end with "（示例）".

Files
-----
registry.csv        meter registry: meter_id, address, customer_class, lon, lat,
                    coord_system (wgs84 | gcj02; about 10 % are GCJ-02 as from
                    AMap geocoding), contracted_kw [kW], floor_area_m2 [m2]
readings.parquet    hourly readings, long format: meter_id, timestamp (naive
                    local time Asia/Shanghai, start of the hour), kwh [kWh];
                    includes gaps (missing rows), never zeros for gaps
readings_extra.csv  (only with errors injected) exact duplicates of parquet
                    rows plus deliberately bad rows: negative kwh, non-numeric
                    kwh, unparseable timestamp, empty meter_id, unknown meter
                    {unknown}, duplicates with a different kwh
labels.csv          inspection outcomes: meter_id, label (mining|not_mining),
                    inspected_on
weather.csv         daily mean air temperature: date, temp_c [degC]
truth.csv           GROUND TRUTH for evaluation only, never to be ingested:
                    meter_id, archetype, is_mining, onset_date
districts.gpkg      6 fictional districts (name, name_pinyin)
buildings.gpkg      building footprints (use, floor_area_m2 [m2], floors)
heating_network.gpkg  district-heating pipes (kind primary|secondary,
                    supply_temp_c, return_temp_c [degC], diameter_mm, operator)
heat_demand.gpkg    500 m grid of annual heat demand (demand_mwh [MWh/yr])
data_centres.gpkg   data centres (name, it_load_mw [MW], meter_id, pue,
                    cooling, operator)
All layers are EPSG:4326, one layer per file named after the file.
"""


def generate_city(
    out_dir,
    *,
    n_meters: int = 3000,
    start="2023-09-01",
    end="2024-01-31",
    seed: int = 20231115,
    inject_errors: bool = True,
) -> SampleCity:
    """Write a synthetic sample city in GeoEnergy's input formats.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write to; created if missing, files in it overwritten.
    n_meters : int, default 3000
        Number of meters (at least 100, so that every archetype occurs).
    start, end : str or Timestamp
        Readings cover ``[start, end)``; whole days, naive local time
        (Asia/Shanghai), at least 14 days apart.
    seed : int
        Seed of the random generator; the output is deterministic for it.
    inject_errors : bool, default True
        Also write ``readings_extra.csv`` with duplicates and bad rows.

    Returns
    -------
    SampleCity
        Paths of the files written.

    Examples
    --------
    >>> city = generate_city("sample", n_meters=300, start="2023-11-01", end="2023-11-22")
    >>> city.readings.name
    'readings.parquet'
    """
    out, n, t0, t1, seed = _check_generate_city(out_dir, n_meters, start, end, seed)
    out.mkdir(parents=True, exist_ok=True)
    sim = _simulate(n, t0, t1, seed)
    arch, cls, meter_ids, clock, weather = sim.arch, sim.cls, sim.meter_ids, sim.clock, sim.weather
    load, onset = sim.load, sim.onset
    r_geo, r_gap, r_out = sim.r_geo, sim.r_gap, sim.r_out

    # Geography.
    town = _place_meters(r_geo, arch, cls, sim.dc_rows)
    b = town.b
    registry = pd.DataFrame(
        {
            "meter_id": meter_ids,
            "address": town.address,
            "customer_class": cls,
            "lon": np.round(town.lon, 6),
            "lat": np.round(town.lat, 6),
            "coord_system": np.where(town.gcj, "gcj02", "wgs84"),
            "contracted_kw": _contracted_kw(r_geo, load.max(axis=1), cls),
            "floor_area_m2": pd.array(
                np.where(town.missing_area, np.nan, town.floor_area), dtype="Float64"
            ),
        }
    )

    keep = _gaps(r_gap, n, clock)

    # Tables.
    paths = {
        "registry": out / "registry.csv",
        "readings": out / "readings.parquet",
        "labels": out / "labels.csv",
        "weather": out / "weather.csv",
        "truth": out / "truth.csv",
    }
    registry.to_csv(paths["registry"], index=False)
    weather.to_csv(paths["weather"], index=False)
    kept_idx = _write_readings(paths["readings"], meter_ids, load, keep, clock)
    is_mining = np.array([ARCHETYPES[a][0] == "mining" for a in arch])
    onset_day = np.where(onset >= 0, onset // 24, -1)
    onset_date = np.where(
        onset_day >= 0,
        clock.dates[np.maximum(onset_day, 0)].strftime("%Y-%m-%d"),
        "",
    )
    pd.DataFrame(
        {
            "meter_id": meter_ids,
            "archetype": arch,
            "is_mining": is_mining,
            "onset_date": onset_date,
        }
    ).to_csv(paths["truth"], index=False)
    _labels(r_out, arch, is_mining, onset_day, clock, meter_ids).to_csv(
        paths["labels"], index=False
    )
    extra = None
    if inject_errors:
        extra = out / "readings_extra.csv"
        _extra_rows(r_out, meter_ids, load, kept_idx, clock).to_csv(extra, index=False)
    else:
        (out / "readings_extra.csv").unlink(missing_ok=True)

    # Layers; the data centres draw from r_out before the heat layers.
    data_centres = _data_centres_layer(
        r_out, b, town.meter_b, meter_ids, sim.dc_rows, sim.n_linked, sim.dc_it, sim.dc_pue
    )
    layers = {
        "districts": _districts_layer(town.xs, town.ysplit),
        "buildings": _buildings_layer(b, town.b_floor_area),
        "heating_network": _heating_network(r_out, b),
        "heat_demand": _heat_demand(r_out, b, town.b_floor_area),
        "data_centres": data_centres,
    }

    layer_paths = {}
    with _fixed_gdal_date():
        for k, gdf in layers.items():
            layer_paths[k] = out / f"{k}.gpkg"
            _write_layer(gdf, layer_paths[k], k)

    (out / "README.txt").write_text(
        _README.format(
            seed=seed,
            n=n,
            start=t0.date(),
            end=t1.date(),
            errors=inject_errors,
            unknown=_UNKNOWN_METER,
        ),
        encoding="utf-8",
    )
    return SampleCity(
        root=out,
        registry=paths["registry"],
        readings=paths["readings"],
        readings_csv_extra=extra,
        labels=paths["labels"],
        weather=paths["weather"],
        truth=paths["truth"],
        layers=layer_paths,
        n_meters=n,
        start=t0,
        end=t1,
    )
