"""The enforcement map: flagged meters, explained popups, charts, hotspots."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

from webmap.assets import localize
from webmap.enforcement import CLUSTER_AUTO_ABOVE, FlaggedMeters, enforcement_map
from webmap.features import FeatureLayer
from webmap.frame import WebMap


def payload(m: WebMap) -> dict:
    layer = next(c for c in m._children.values() if isinstance(c, FlaggedMeters))
    return json.loads(layer.data_json)


def test_map_carries_every_flag_with_its_fields(flags, profiles, hotspots):
    m = enforcement_map(flags, profiles=profiles, hotspots=hotspots, data_date="2024-02-05")
    assert m.kind == "enforcement" and m.personal_data
    d = payload(m)
    assert d["n"] == 5 and not d["cluster"]  # 5 <= CLUSTER_AUTO_ABOVE
    assert d["id"] == ["M1", "M2", "M3", "M4", "M5"]
    assert d["addr"][0] == flags.address[0]  # verbatim: escaped where it meets HTML
    # Coordinates are 1e-5 deg offsets from the south-west corner.
    assert (d["lat0"], d["lon0"]) == (39.9, 116.4)
    assert d["lon"] == [0, 1000, 2000, 3000, 4000] and d["lat"] == [0] * 5
    assert d["score"] == [0.97, 0.91, 0.84, 0.72, 0.55]
    # Repeated texts are stored once.
    assert d["dist"]["v"][d["dist"]["c"][1]] == "东城区" and d["dist"]["c"][1] == d["dist"]["c"][2]
    assert d["onset"]["c"][1] == -1 and d["onset"]["v"][d["onset"]["c"][0]] == "2024-01-03"
    # Charts for the two meters with profiles, by row position.
    assert set(d["svg"]) == {"0", "1"} and d["svg"]["0"].startswith("<svg")
    assert m.summary["Flagged meters"] == "5" and m.summary["Hotspots"] == "1"


def test_raw_data_text_never_appears_unescaped_in_the_page(flags, hotspots):
    html = enforcement_map(flags, hotspots=hotspots).get_root().render()
    # In scripts, data are JSON with <, > and & as \u003c etc.; in HTML, entities.
    assert "<img src=x" not in html
    assert "</script><script>window.__xss" not in html
    assert "\\u003cimg src=x" in html


def test_review_link_template_is_embedded(flags):
    d = payload(enforcement_map(flags, review_url="https://review.example/cases/{meter_id}"))
    assert d["review"] == "https://review.example/cases/{meter_id}"


def test_clustering_and_profile_limit():
    n = CLUSTER_AUTO_ABOVE + 1
    many = gpd.GeoDataFrame(
        {
            "meter_id": [f"M{i}" for i in range(n)],
            "address": ["a"] * n,
            "customer_class": ["residential"] * n,
            "district": ["d"] * n,
            "score": np.linspace(0.5, 1, n),
            "rank": np.arange(n, 0, -1),  # the last row is rank 1
            "reasons": ["r"] * n,
        },
        geometry=gpd.points_from_xy(np.linspace(116, 117, n), [40] * n),
        crs=4326,
    )
    prof = {f"M{i}": {"avg_day": [1.0] * 24} for i in range(n)}
    d = payload(enforcement_map(many, profiles=prof, max_profiles=2))
    m = enforcement_map(many, profiles=prof, max_profiles=2)
    assert d["cluster"] and localize(m) >= {"supercluster"}
    assert set(d["svg"]) == {str(n - 1), str(n - 2)}  # the two best ranks
    m = enforcement_map(many, cluster=False)
    assert not payload(m)["cluster"] and "supercluster" not in localize(m)


def test_hotspot_layer_and_fit_bounds(flags, hotspots):
    m = enforcement_map(flags, hotspots=hotspots)
    layers = [c for c in m._children.values() if isinstance(c, FeatureLayer)]
    assert [la.layer_name for la in layers] == ["Hotspots"]
    html = m.get_root().render()
    assert "fitBounds" in html and "[39.895, 116.395]" in html


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda f: f.drop(columns="reasons"), ValueError, r"lacks columns \['reasons'\]"),
        (lambda f: f.to_crs(3857), ValueError, "must be in EPSG:4326"),
        (lambda f: f.assign(score=f.score * 2), ValueError, "score must be numbers in 0..1"),
        (lambda f: f.assign(meter_id="M1"), ValueError, "meter_id must be unique"),
        (lambda f: f.set_geometry(f.buffer(0.001)), ValueError, "must hold Point"),
        (lambda f: f.drop(columns="geometry").pipe(lambda df: df), TypeError, "GeoDataFrame"),
    ],
)
def test_bad_flags(flags, change, error, match):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # buffer in degrees
        bad = change(flags)
    with pytest.raises(error, match=match):
        enforcement_map(bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"review_url": "https://x/cases/"}, "must be a URL template containing"),
        ({"review_url": "javascript:alert(1)//{meter_id}"}, "must start with http"),
        ({"review_url": "https://x/{meter_id}/{other}"}, "only use the placeholder"),
        ({"score_breaks": (0.9, 0.5)}, "score_breaks must ascend"),
        ({"cluster": "yes"}, "cluster must be"),
        ({"max_profiles": -1}, "max_profiles must be"),
    ],
)
def test_bad_options(flags, kwargs, match):
    with pytest.raises(ValueError, match=match):
        enforcement_map(flags, **kwargs)
