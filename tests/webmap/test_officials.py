"""The officials' map: aggregates only, small counts suppressed, PUE compliance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from webmap.features import FeatureLayer
from webmap.officials import officials_map, suppress


def layers(m) -> dict[str, FeatureLayer]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, FeatureLayer)}


def test_suppress_on_paper(districts, hexagons):
    d = suppress(districts, 5)
    # Row 0 shown; row 1 has 3 flagged (< 5): flagged, confirmed and energy hidden,
    # meters (800) shown; row 2 is suppressed upstream: everything hidden.
    assert d.iloc[0].tolist() == [1200, 12, 6, 410]
    assert d.iloc[1, 0] == 800 and d.iloc[1, 1:].isna().all()
    assert d.iloc[2].isna().all()
    h = suppress(hexagons, 5)
    np.testing.assert_array_equal(h.n_flagged, [9, np.nan, 5, np.nan])
    np.testing.assert_array_equal(h.n_confirmed, [5, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(h.n_meters, [50, 30, 60, np.nan])
    np.testing.assert_array_equal(h.flagged_mwh, [80, np.nan, 40, np.nan])


def test_popups_show_counts_or_suppressed_never_a_small_count(districts, hexagons):
    m = officials_map(districts, hexagons=hexagons)
    by_name = layers(m)
    flagged = by_name["Districts: Flagged meters"]
    assert flagged.rows(0) == (
        "东城区",
        {
            "Meters": "1,200",
            "Flagged meters": "12",
            "Confirmed mining": "6",
            "Flagged energy": "410 MWh",
        },
    )
    # None is shown as "suppressed (< 5)" (the layer's missing text).
    assert flagged.rows(1)[1] == {
        "Meters": "800",
        "Flagged meters": None,
        "Confirmed mining": None,
        "Flagged energy": None,
    }
    assert set(flagged.rows(2)[1].values()) == {None}
    assert '"missing":"suppressed (\\u003c 5)"' in flagged.spec_json
    cells = by_name["Grid cells: flagged meters"]
    assert [cells.rows(i)[1]["Flagged meters"] for i in range(4)] == ["9", None, "5", None]
    # No count under 5 anywhere in what the page gets.
    shown = [
        int(v.split()[0].replace(",", ""))
        for layer in by_name.values()
        if layer.layer_name != "Data centres: PUE compliance"
        for i in range(layer.n_features)
        for k, v in layer.rows(i)[1].items()
        if v is not None and k != "Flagged energy"
    ]
    assert shown and min(shown) >= 5, shown
    # The raw small counts are not in the page at all, not even hidden.
    data = json.loads(cells.data_json)
    assert all("n_flagged" not in f["properties"] for f in data["features"])


def test_no_address_meter_or_point_ever_reaches_the_page(districts, hexagons, pue_centres):
    html = (
        officials_map(districts, hexagons=hexagons, data_centres=pue_centres).get_root().render()
    )
    assert "SECRET" not in html
    assert "<img src=x" not in html and "</script><script>window" not in html
    assert "\\u003cimg src=x" in html  # the district name, as JSON text for textContent


def test_min_count_is_configurable(districts):
    layer = layers(officials_map(districts, min_count=3))["Districts: Flagged meters"]
    assert layer.rows(1)[1]["Flagged meters"] == "3"
    assert layer.rows(1)[1]["Confirmed mining"] is None
    assert "suppressed (\\u003c 3)" in layer.spec_json


def test_layers_legend_and_summary(districts, hexagons, pue_centres):
    m = officials_map(
        districts, hexagons=hexagons, data_centres=pue_centres, data_date="2024-03-31"
    )
    names = list(layers(m))
    assert names == [
        "Districts: Flagged meters",
        "Districts: Confirmed mining",
        "Districts: Flagged energy [MWh]",
        "Grid cells: flagged meters",
        "Data centres: PUE compliance",
    ]
    shown = {name: layer.show for name, layer in layers(m).items()}
    assert shown["Districts: Flagged meters"] and not shown["Districts: Confirmed mining"]
    dc = json.loads(layers(m)["Data centres: PUE compliance"].data_json)
    assert [f["properties"]["s"] for f in dc["features"]] == [0, 1]  # compliant, not
    # Totals only over what is shown, so no suppressed count can be worked out.
    assert m.summary["Flagged meters (districts shown)"] == "12"
    assert m.summary["Districts suppressed (< 5)"] == "2"
    assert m.summary["Data centres above the PUE limit"] == "1"
    html = m.get_root().render()
    assert "Data as of 2024-03-31" in html and "wm-legend" in html


def test_points_are_refused(districts):
    points = districts.copy()
    points["geometry"] = points.representative_point()
    with pytest.raises(ValueError, match="never shows single meters"):
        officials_map(points)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_count": 0}, ValueError, "min_count must be >= 1"),
        ({"min_count": 2.5}, TypeError, "min_count must be an int"),
        ({"data_centres": pd.DataFrame()}, TypeError, "data_centres must be a GeoDataFrame"),
    ],
)
def test_bad_options(districts, kwargs, error, match):
    with pytest.raises(error, match=match):
        officials_map(districts, **kwargs)


def test_missing_columns(districts):
    with pytest.raises(ValueError, match=r"districts lacks columns \['suppressed'\]"):
        officials_map(districts.drop(columns="suppressed"))
