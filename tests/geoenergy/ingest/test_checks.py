"""The vectorised row checks, on hand-made columns and on random text (hypothesis)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoenergy.ingest.checks import (
    RowChecks,
    check_choice,
    check_float,
    parse_dates,
    parse_timestamps,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _checks(values, column="x"):
    s = pd.Series(values, index=pd.RangeIndex(1, len(values) + 1, name="row"), name=column)
    return RowChecks(s.to_frame()), s


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2023-11-15 08:00", "2023-11-15 00:00"),
        ("2023-11-15T08:00:00", "2023-11-15 00:00"),
        ("2023/11/15 08:00", "2023-11-15 00:00"),
        ("2023-11-15", "2023-11-14 16:00"),  # a bare date is local midnight
        ("2023/11/15", "2023-11-14 16:00"),
        ("2023-11-15T08:00+08:00", "2023-11-15 00:00"),
        ("2023-11-15T00:00Z", "2023-11-15 00:00"),
        ("2023-11-15 00:00:00+00:00", "2023-11-15 00:00"),
        ("2023-11-15T02:00-0600", "2023-11-15 08:00"),
        ("2023-11-15 08:00:00.000+08", "2023-11-15 00:00"),
    ],
)
def test_timestamp_spellings(text, utc):
    checks, s = _checks([text])
    got = parse_timestamps(checks, s, "x", SHANGHAI)
    assert not checks.bad.any(), checks.reason
    assert got.iloc[0] == pd.Timestamp(utc, tz="UTC")


def test_timestamp_problems_first_problem_wins():
    values = ["", "yesterday", "1970-01-01 00:00", "2099-01-01", 5, "2923-11-15", "2023-11-15"]
    checks, s = _checks(values)
    out = parse_timestamps(checks, s, "x", SHANGHAI)
    assert checks.problem.tolist() == [
        "empty",
        "bad_timestamp",
        "implausible_date",
        "future",
        "bad_timestamp",
        "implausible_date",  # beyond what datetime64[ns] holds: rejected, no crash
        None,
    ]
    assert "check the year" in checks.reason[5]
    assert out.isna().tolist() == [True, True, False, False, True, True, False]
    rej = checks.rejects()
    assert rej["row_number"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rej["value"].tolist() == [*values[:4], "5", "2923-11-15"]


def test_timestamp_column_of_numbers_is_a_type_error():
    checks, s = _checks([1.0, 2.0])
    out = parse_timestamps(checks, s, "x", SHANGHAI)
    assert out.isna().all()
    assert set(checks.problem) == {"wrong_type"}
    assert "ISO 8601 text" in checks.reason[0]


def test_timestamp_datetime_column_naive_and_aware():
    naive = pd.Series(pd.to_datetime(["2023-11-15 08:00", "2023-03-26 02:30"]))
    checks = RowChecks(naive.to_frame("x"))
    out = parse_timestamps(checks, naive, "x", ZoneInfo("Europe/Berlin"))
    assert out.iloc[0] == pd.Timestamp("2023-11-15 07:00", tz="UTC")
    assert checks.problem.tolist() == [None, "dst"]

    aware = naive.dt.tz_localize("UTC")
    checks = RowChecks(aware.to_frame("x"))
    out = parse_timestamps(checks, aware, "x", SHANGHAI)
    assert out.tolist() == aware.tolist()
    assert not checks.bad.any()


def test_float_checks():
    checks, s = _checks(["1", " 2.5 ", "1,5", "-1", "x", "", "inf", "1e3"])
    values = check_float(checks, s, "x", unit="kWh", minimum=0, maximum=100)
    np.testing.assert_array_equal(values[:3], [1.0, 2.5, 1.5])
    assert checks.problem.tolist() == [
        None,
        None,
        None,
        "out_of_range",
        "not_a_number",
        "empty",
        "not_a_number",
        "out_of_range",
    ]
    assert "x=-1 is out of range; it must be >= 0 [kWh]." in checks.reason
    assert "x=1e3 is out of range; it must be <= 100 [kWh]." in checks.reason


def test_float_optional_and_numeric_dtype():
    checks, s = _checks([1.0, np.nan, -2.0])
    values = check_float(checks, s, "x", unit="kW", required=False, minimum=0)
    assert np.isnan(values[1])
    assert checks.problem.tolist() == [None, None, "out_of_range"]


def test_choice_normalises():
    checks, s = _checks(["Data Centre", "data-centre", " RESIDENTIAL ", "shop", ""])
    out = check_choice(checks, s, "x", ("residential", "data_centre"), default=None)
    assert out.tolist()[:3] == ["data_centre", "data_centre", "residential"]
    assert checks.problem.tolist() == [None, None, None, "unknown_value", "empty"]


def test_dates():
    checks, s = _checks(
        ["2023-11-15", "2023/1/5", "2023-02-30", "2023-11-15 10:00", "", "3023-01-01"]
    )
    out = parse_dates(checks, s, "x")
    assert out.iloc[0] == pd.Timestamp("2023-11-15")
    assert out.iloc[1] == pd.Timestamp("2023-01-05")
    assert checks.problem.tolist() == [
        None,
        None,
        "bad_date",
        "bad_date",
        "empty",
        "implausible_date",
    ]


# -- property tests: validators never raise, they only reject ---------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30
) | st.sampled_from(["", " ", "nan", "NaT", "inf", "-0", "1e309", "2023-11-15", "+08:00", "Z"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_text, min_size=1, max_size=20))
def test_validators_never_raise_on_text(values):
    checks, s = _checks(values)
    ts = parse_timestamps(checks, s, "x", SHANGHAI)
    kwh = check_float(checks, s, "x", unit="kWh", minimum=0)
    day = parse_dates(checks, s, "x")
    check_choice(checks, s, "x", ("a", "b"))
    assert len(ts) == len(kwh) == len(day) == len(values)
    rej = checks.rejects()
    # Every row either passed every check or is rejected with a reason.
    assert len(rej) == int(checks.bad.sum())
    assert rej["reason"].map(bool).all()
    good = ~checks.bad
    assert ts[good].notna().all()
    assert np.isfinite(kwh[good]).all()


def test_reason_list_skips_rows_that_already_have_a_problem():
    # Reasons given as a list follow the mask; a row already bad keeps its first problem.
    checks, _ = _checks(["a", "b", "c"])
    checks.add(np.array([True, False, False]), "x", "first", "first problem")
    checks.add(np.array([True, True, True]), "x", "second", ["r1", "r2", "r3"])
    assert checks.problem.tolist() == ["first", "second", "second"]
    assert checks.reason.tolist() == ["first problem", "r2", "r3"]
    assert checks.bad.tolist() == [True, True, True]
