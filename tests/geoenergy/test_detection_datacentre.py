"""Data-centre sites in ``run_detection``: the data_centres layer's IT meter and cooling.

A facility meter and its IT sub-meter (both registered as data centres, as the
demo's live site is) are added to the sample city. Without a layer naming the
IT meter, the site's PUE evidence is "not available" and the IT meter is listed
as a second site; with one, the facility's reasons give the metered PUE and the
IT meter is listed once, under its site.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from geoenergy.detection import detection_inputs, run_detection
from geoenergy.ingest import ingest_layer, ingest_readings, ingest_registry

FAC, IT = "DCF0001", "DCIT001"


def _add_site(ws, tmp_path):
    """Register the two meters and ingest 35 days of their hourly readings."""
    t = pd.date_range("2023-11-01", "2023-12-06", freq="h", inclusive="left")
    hour = t.hour.to_numpy()
    rng = np.random.default_rng(7)
    it_kw = (
        800.0 * (1 + 0.04 * np.cos(2 * np.pi * (hour - 15) / 24)) * rng.lognormal(0, 0.01, len(t))
    )
    fac_kw = 1.45 * it_kw * rng.lognormal(0, 0.005, len(t))  # PUE about 1.45
    pd.DataFrame(
        {
            "meter_id": [FAC, IT],
            "address": ["site facility", "site IT"],
            "customer_class": "data_centre",
            "lon": 116.30,
            "lat": 39.97,
            "coord_system": "wgs84",
            "contracted_kw": [2000.0, 1500.0],
        }
    ).to_csv(tmp_path / "reg.csv", index=False)
    ingest_registry(ws, tmp_path / "reg.csv")
    rows = pd.DataFrame(
        {
            "meter_id": np.repeat([FAC, IT], len(t)),
            "timestamp": np.tile(t.to_numpy(), 2),
            "kwh": np.r_[fac_kw, it_kw],
        }
    )
    rows.to_parquet(tmp_path / "site.parquet", index=False)
    ingest_readings(ws, tmp_path / "site.parquet")


def test_the_layer_names_the_it_meter_pue_evidence_and_one_listing(city_ws, tmp_path):
    _add_site(city_ws, tmp_path)
    before = run_detection(city_ws, detector="unsupervised", save=False).scores
    before = before.set_index("meter_id")
    assert "PUE behaviour: not available" in before.at[FAC, "reasons"]
    assert np.isfinite(before.at[IT, "score"])  # listed as a site of its own

    layer = gpd.GeoDataFrame(
        {
            "name": ["test site"],
            "it_load_mw": [0.8],
            "pue": [1.45],
            "cooling": ["air"],
            "meter_id": [FAC],
            "it_meter_id": [IT],
            "operator": ["test"],
        },
        geometry=[Point(116.30, 39.97)],
        crs="EPSG:4326",
    )
    layer.to_file(tmp_path / "dc.geojson", driver="GeoJSON")
    ingest_layer(city_ws, "data_centres", tmp_path / "dc.geojson", name="sites with IT meters")

    reg = detection_inputs(city_ws, load=False).registry.set_index("meter_id")
    assert reg.at[FAC, "it_meter_id"] == IT and reg.at[FAC, "cooling"] == "air"
    assert reg["it_meter_id"].notna().sum() == 1  # only the site the layer names

    after = run_detection(city_ws, detector="unsupervised", save=False).scores
    after = after.set_index("meter_id")
    reasons = after.at[FAC, "reasons"]
    assert "metered PUE 1.45" in reasons and "PUE behaviour: not available" not in reasons
    assert "peaking near 15:00 (IT meter)" in reasons  # the rhythm measured on the IT meter
    # The IT meter is a part of the site: not scored, not listed again.
    assert np.isnan(after.at[IT, "score"]) and not after.at[IT, "flagged"]
    assert f"IT meter of data centre {FAC}" in after.at[IT, "notes"]
    listed = after[(after["list"] == "data_centre") & after["score"].notna()]
    assert FAC in listed.index and IT not in listed.index
    # The other data centres are scored as before.
    others = before.index[(before["list"] == "data_centre") & ~before.index.isin([FAC, IT])]
    pd.testing.assert_series_equal(after.loc[others, "score"], before.loc[others, "score"])
