"""Peer groups with fallback to coarser groups, and consumption per floor area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.peers import PEER_SCHEMES, consumption_intensity, peer_groups


def _meters():
    # Three residential meters in 西峰区, one in 东城区, two commercial in 西峰区,
    # one industrial meter with no district.
    return pd.DataFrame(
        {
            "meter_id": [f"m{i}" for i in range(7)],
            "customer_class": ["residential"] * 4 + ["commercial"] * 2 + ["industrial"],
            "district": ["西峰区", "西峰区", "西峰区", "东城区", "西峰区", "西峰区", None],
            "building_use": ["residential"] * 3 + [None, "office", "office", "factory"],
        },
        index=list("abcdefg"),
    )


def test_class_district_with_fallback():
    out = peer_groups(_meters(), min_size=2)
    assert out.index.tolist() == list("abcdefg")
    assert out["peer_group"].tolist() == [
        "residential|西峰区",
        "residential|西峰区",
        "residential|西峰区",
        "residential",  # alone in 东城区: falls back to the class (4 meters)
        "commercial|西峰区",
        "commercial|西峰区",
        "all",  # no district (skips level 1) and alone in its class
    ]
    assert out["peer_level"].tolist() == (
        ["customer_class|district"] * 3
        + ["customer_class"]
        + ["customer_class|district"] * 2
        + ["all"]
    )
    assert out["peer_size"].tolist() == [3, 3, 3, 4, 2, 2, 7]


def test_min_size_one_keeps_every_fine_group_and_large_min_size_gives_all():
    assert peer_groups(_meters(), min_size=1)["peer_group"].iloc[3] == "residential|东城区"
    big = peer_groups(_meters(), min_size=100)
    assert set(big["peer_group"]) == {"all"}  # the last level is taken even if small
    assert set(big["peer_size"]) == {7}


def test_building_use_scheme():
    out = peer_groups(_meters(), scheme="building_use", min_size=2)
    assert out["peer_group"].tolist() == [
        "residential|西峰区",
        "residential|西峰区",
        "residential|西峰区",
        "all",  # no building use
        "office|西峰区",
        "office|西峰区",
        "all",
    ]


def test_custom_levels():
    out = peer_groups(_meters(), levels=[("district",), ()], min_size=5)
    assert out["peer_group"].tolist() == ["西峰区"] * 3 + ["all"] + ["西峰区"] * 2 + ["all"]
    assert PEER_SCHEMES["class_district"][-1] == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheme": "nope"}, "scheme='nope' is not one of"),
        ({"levels": [("floor",)]}, r"lacks the column\(s\) \['floor'\]"),
        ({"levels": []}, "levels is empty"),
        ({"min_size": 0}, "min_size must be a positive integer"),
        ({"min_size": 2.5}, "min_size must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        peer_groups(_meters(), **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("xy")), min_size=1, max_size=40),
    st.integers(1, 10),
)
def test_every_meter_gets_one_group_at_least_min_size_unless_last(rows, min_size):
    df = pd.DataFrame(rows, columns=["customer_class", "district"])
    out = peer_groups(df, min_size=min_size)
    assert out["peer_group"].notna().all()
    counts = out["peer_group"].value_counts()
    not_last = out["peer_level"] != "all"
    assert (out.loc[not_last, "peer_size"] >= min_size).all()
    # peer_size counts the group among all meters, so it can exceed the members left in it.
    assert (out["peer_size"] >= out["peer_group"].map(counts)).all()


def test_consumption_intensity_prefers_the_meters_own_floor_area():
    df = pd.DataFrame(
        {
            "meter_id": ["a", "b", "c", "d"],
            "kwh": [1000.0, 1000.0, 1000.0, 1000.0],
            "floor_area_m2": [100.0, np.nan, 0.0, np.nan],
            "building_floor_area_m2": [400.0, 250.0, 500.0, np.nan],
        }
    )
    out = consumption_intensity(df, "kwh")
    assert out["floor_area_source"].tolist() == ["meter", "building", "building", "none"]
    np.testing.assert_allclose(out["intensity_kwh_m2"], [10.0, 4.0, 2.0, np.nan])
    by_id = consumption_intensity(df, pd.Series({"d": 5.0, "a": 200.0}))
    np.testing.assert_allclose(by_id["intensity_kwh_m2"], [2.0, np.nan, np.nan, np.nan])


def test_consumption_intensity_errors():
    df = pd.DataFrame({"meter_id": ["a"], "kwh": [1.0]})
    with pytest.raises(ValueError, match="energy='kWh' is not a column"):
        consumption_intensity(df, "kWh")
    with pytest.raises(TypeError, match="energy must be a column name or a pandas Series"):
        consumption_intensity(df, [1.0])
    assert consumption_intensity(df, "kwh")["floor_area_source"].tolist() == ["none"]


def test_peer_groups_without_any_district():
    """No districts layer: every meter falls back to its class (no crash on an empty level)."""
    import pandas as pd

    from layers.peers import peer_groups

    m = pd.DataFrame({"customer_class": ["residential"] * 3, "district": [None, None, None]})
    out = peer_groups(m, min_size=2)
    assert out["peer_group"].tolist() == ["residential"] * 3
    assert out["peer_level"].tolist() == ["customer_class"] * 3


def test_labels_join_the_key_values_as_text_in_level_order():
    # Keys of any type are written as text ("3"), in the order of the level's columns.
    df = pd.DataFrame(
        {
            "customer_class": ["residential", "residential", "commercial"],
            "district": [3, 3, "东城区"],
            "building_use": ["flat", "flat", None],
        },
        index=[10, 20, 30],
    )
    out = peer_groups(df, levels=[("district", "customer_class", "building_use"), ()], min_size=1)
    assert out["peer_group"].tolist() == ["3|residential|flat", "3|residential|flat", "all"]
    assert out["peer_level"].tolist() == ["district|customer_class|building_use"] * 2 + ["all"]
    assert out.index.tolist() == [10, 20, 30]
