"""Load profiles of one meter for the case page, checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from geoenergy.store import Store
from geoenergy.web.profiles import RECENT_DAYS, load_profiles


@pytest.fixture
def store(shared_ws):
    with Store.for_workspace(shared_ws) as store:
        yield store


def test_m1_is_flat_3_kw_since_onset(shared_ws, store, kit):
    p = load_profiles(shared_ws, "M1", interval_s=3600, onset=kit.ONSET, store=store)
    assert p.step_s == 3600
    # 21 days of readings, 2023-11-01..21: daily energy 72 kWh (3 kW x 24 h) from the 8th.
    assert len(p.daily_kwh) == 21
    assert p.daily_kwh[7:] == pytest.approx(72.0)
    assert p.daily_kwh[:7] == pytest.approx(np.full(7, p.daily_kwh[0]))
    assert p.daily_kwh[0] < 30
    assert p.avg_day["since onset"] == pytest.approx(np.full(24, 3.0))
    before = p.avg_day["before onset"]
    assert before.argmax() == 19 and before[3] == pytest.approx(0.4, abs=0.01)
    assert len(p.hourly_kw) == RECENT_DAYS * 24 and p.hourly_kw == pytest.approx(3.0)
    assert str(p.hourly_time[-1]).startswith("2023-11-21T23:00")  # local wall-clock time


def test_without_onset_one_average_day(shared_ws, store):
    p = load_profiles(shared_ws, "M2", interval_s=3600, store=store)
    assert list(p.avg_day) == ["whole period"]
    # 1.0 kW, 1.5 kW from 09:00 to 17:59.
    assert p.avg_day["whole period"][[8, 9, 17, 18]] == pytest.approx([1.0, 1.5, 1.5, 1.0])
    assert p.daily_kwh == pytest.approx(np.full(21, 24 * 1.0 + 9 * 0.5))


def test_no_readings(shared_ws, store):
    assert load_profiles(shared_ws, "M4", interval_s=None, store=store) is None
    assert load_profiles(shared_ws, "M4", interval_s=3600, store=store) is None
    assert load_profiles(None, "M1", interval_s=3600) is None


def test_cached_until_new_readings(shared_ws, store, kit):
    a = load_profiles(shared_ws, "M1", interval_s=3600, onset=kit.ONSET, store=store)
    b = load_profiles(shared_ws, "M1", interval_s=3600, onset=kit.ONSET, store=store)
    assert a is b
    c = load_profiles(shared_ws, "M1", interval_s=3600, onset=dt.date(2023, 11, 9), store=store)
    assert c is not a
