"""Heating season, reference profiles and usable heat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoenergy.heat.season import (
    heating_season_mask,
    parse_month_day,
    reference_hours,
    reference_profile,
    usable_heat,
)


def test_beijing_season_hours():
    # 15 Nov - 15 Mar inclusive in 2023: 16 + 31 (Dec) + 31 + 28 + 15 = 121 days.
    mask = heating_season_mask(reference_hours(2023), "11-15", "03-15")
    assert mask.sum() == 121 * 24


def test_season_without_wrap():
    assert heating_season_mask(reference_hours(2023), "06-01", "06-30").sum() == 30 * 24


def test_usable_heat_with_and_without_base_demand():
    mask = heating_season_mask(reference_hours(2023))
    out = usable_heat(2.0, mask)
    assert out["theoretical_mwh"] == pytest.approx(2.0 * 8760)
    assert out["usable_mwh"] == pytest.approx(2.0 * 2904)
    assert out["usable_hours"] == 2904
    base = usable_heat(2.0, mask, base_demand_fraction=0.25)
    assert base["usable_mwh"] == pytest.approx(2.0 * 2904 + 0.5 * (8760 - 2904))


def test_reference_profile_repeats_a_short_record_by_hour_of_day():
    idx = pd.date_range("2023-11-01", periods=48, freq="h", tz="Asia/Shanghai").tz_convert("UTC")
    values = np.tile(np.r_[np.full(12, 1.0), np.full(12, 3.0)], 2)
    prof = reference_profile(pd.Series(values, index=idx), year=2023)
    assert prof.shape == (8760,)
    assert prof.mean() == pytest.approx(2.0)
    hours = reference_hours(2023)
    assert prof[(hours.month == 7) & (hours.hour == 13)].mean() == pytest.approx(3.0)


def test_bad_input():
    with pytest.raises(ValueError, match="not a month-day"):
        parse_month_day("Nov 15")
    with pytest.raises(ValueError, match="not a valid day"):
        parse_month_day("02-30")
    with pytest.raises(ValueError, match="non-leap"):
        reference_hours(2024)
    with pytest.raises(TypeError, match="DatetimeIndex"):
        heating_season_mask([1, 2])
    with pytest.raises(ValueError, match="timezone-aware"):
        reference_profile(pd.Series([1.0], index=pd.DatetimeIndex(["2023-01-01"])))
