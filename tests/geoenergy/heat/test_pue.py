"""PUE from meters or declared, limits and compliance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoenergy.heat.pue import PUE_LIMITS, compliance, metered_pue, pue, pue_limit


def test_pue_ratio():
    assert pue(1300.0, 1000.0) == pytest.approx(1.3)
    assert np.isnan(pue(100.0, 0.0))
    np.testing.assert_allclose(pue([150, 120], [100, 100]), [1.5, 1.2])


def _hourly(values, start="2023-01-31 14:00", tz="UTC"):
    idx = pd.date_range(start, periods=len(values), freq="h", tz=tz)
    return pd.Series(values, index=idx, dtype=float)


def test_metered_pue_annual_and_monthly_in_local_time():
    # 2023-01-31 14:00 UTC is 22:00 in Beijing: the first two hours are January,
    # the next two February (local). Facility 130 and 140 kWh per hour over IT 100.
    fac = _hourly([130, 130, 140, 140])
    it = _hourly([100, 100, 100, 100])
    annual, monthly = metered_pue(fac, it, timezone="Asia/Shanghai")
    assert annual == pytest.approx(540 / 400)
    assert list(monthly["month"]) == ["2023-01", "2023-02"]
    np.testing.assert_allclose(monthly["pue"], [1.3, 1.4])
    assert list(monthly["hours"]) == [2, 2]


def test_metered_pue_uses_common_hours_only():
    fac = _hourly([130, np.nan, 140])
    it = _hourly([100, 100, 100])
    annual, _ = metered_pue(fac, it)
    assert annual == pytest.approx(270 / 200)


def test_limits_by_status_and_size():
    lim = pue_limit(
        ["existing", "new", "new", "new", "new"], [50_000, 5_000, 15_000, 25_000, 40_000]
    )
    np.testing.assert_allclose(lim, [1.40, 1.30, 1.25, 1.20, 1.15])
    assert PUE_LIMITS["beijing_existing"].value == 1.40
    assert not PUE_LIMITS["beijing_reward"].verified


def test_compliance_and_excess_energy():
    # PUE 1.5 against 1.4 with 10,000 MWh of IT energy: 0.1 x 10,000 = 1,000 MWh/yr.
    out = compliance([1.5, 1.3, np.nan], [1.4, 1.4, 1.4], [10_000, 10_000, 10_000])
    assert list(out["pue_compliant"].astype(object)) == [False, True, pd.NA]
    np.testing.assert_allclose(out["pue_excess"][:2], [0.1, 0.0])
    assert out["pue_excess_energy_mwh_per_yr"][0] == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: pue(-1, 10), ValueError, "must be >= 0"),
        (lambda: pue("x", 10), TypeError, "facility_energy must be a number"),
        (lambda: pue_limit(["old"], [1.0]), ValueError, "status must be 'existing' or 'new'"),
        (lambda: compliance([0.9], [1.4], [1.0]), ValueError, "pue_value must be >= 1"),
        (lambda: metered_pue([1], [1]), TypeError, "facility_kwh must be a pandas Series"),
        (
            lambda: metered_pue(
                pd.Series([1.0], index=pd.DatetimeIndex(["2023-01-01"])),
                pd.Series([1.0], index=pd.DatetimeIndex(["2023-01-01"])),
            ),
            ValueError,
            "naive time index",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
