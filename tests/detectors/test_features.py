"""Load-signature features: hand-checkable fixtures, dask == memory, peers, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.features import (
    FEATURES,
    STATUSES,
    Feature,
    PeerReference,
    _calendar,
    extract_features,
    peer_reference,
    render_markdown,
)
from detectors.features import _kernel as sig
from detectors.features._level import floor_bimodality

ROOT = Path(__file__).resolve().parents[2]
DAYS = 21
START = "2024-01-01"  # local midnight, Asia/Shanghai (UTC+8, no DST)


def make_ds(loads: dict[str, np.ndarray], *, start=START, tz="Asia/Shanghai", step_s=3600):
    """A dataset laid out like open_readings: UTC ``time``, ``local_time``, attrs.

    ``loads`` maps meter id to energy per step [kWh], starting at local ``start``.
    """
    n = len(next(iter(loads.values())))
    local = pd.date_range(start, periods=n, freq=f"{step_s}s")
    if tz is None:
        utc = local
    else:
        aware = pd.date_range(
            pd.Timestamp(start).tz_localize(tz), periods=n, freq=f"{step_s}s"
        )  # regular in UTC, as open_readings builds it
        utc = aware.tz_convert("UTC").tz_localize(None)
        local = aware.tz_localize(None)
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), np.array(list(loads.values()), dtype=float))},
        coords={
            "meter": list(loads),
            "time": ("time", utc.to_numpy(), {"timezone": "UTC"}),
            "customer_class": ("meter", ["residential"] * len(loads)),
        },
        attrs={"step_s": step_s},
    )
    if tz is not None:
        ds = ds.assign_coords(local_time=("time", local.to_numpy(), {"timezone": tz}))
        ds.attrs["timezone"] = tz
    return ds


def hourly(per_hour) -> np.ndarray:
    """DAYS days of a 24-value daily profile [kW == kWh per hour]."""
    return np.tile(np.asarray(per_hour, dtype=float), DAYS)


HOD = np.arange(24)
FLAT = hourly(np.full(24, 2.0))
STEP = np.r_[np.full(10 * 24, 0.5), np.full(11 * 24, 3.0)]  # 0.5 -> 3 kW at day 10 00:00
SHOP = hourly(np.where((HOD >= 8) & (HOD < 20), 5.0, 0.0))  # open 08:00-20:00
VALLEY = hourly(0.2 + 4.0 * ((HOD >= 23) | (HOD < 7)))  # rig 23:00-07:00 on a 0.2 kW base
SHORT = np.r_[np.full(9 * 24, 1.0), np.full(12 * 24, np.nan)]  # 9 days of data
ZERO = np.zeros(DAYS * 24)
EMPTY = np.full(DAYS * 24, np.nan)


@pytest.fixture(scope="module")
def small():
    ds = make_ds(
        {
            "flat": FLAT,
            "step": STEP,
            "shop": SHOP,
            "valley": VALLEY,
            "short": SHORT,
            "zero": ZERO,
            "empty": EMPTY,
        }
    )
    return ds, extract_features(ds)


# -- hand-checked values -------------------------------------------------------------


def test_output_layout(small):
    _, f = small
    assert list(f.columns) == [*FEATURES, "status", "onset_date"]
    assert f.index.name == "meter_id"
    assert list(f.index) == ["flat", "step", "shop", "valley", "short", "zero", "empty"]
    assert f["onset_date"].dtype.kind == "M"
    assert all(f[c].dtype == float for c in FEATURES)
    for s in f["status"]:
        assert s.split(":")[0].split(";")[0] in STATUSES


def test_flat_meter(small):
    r = small[1].loc["flat"]
    assert r.status == "ok"
    assert r.mean_kw == pytest.approx(2.0)
    assert r.load_factor == pytest.approx(1.0)
    assert r.base_load_ratio == pytest.approx(1.0)
    assert r.plateau_share == pytest.approx(1.0)
    assert r.night_day_ratio == pytest.approx(1.0)
    assert r.valley_share == pytest.approx(8 / 24)
    assert r.valley_night_cv == pytest.approx(0.0, abs=1e-12)
    assert r.missing_share == 0.0
    for name in (
        "hour_to_hour_variability",
        "day_to_day_variability",
        "daily_periodicity",
        "weekly_periodicity",
        "darkness_corr",
        "step_fit",
        "off_day_share",
        "intermittency",
        "idle_day_share",
        "floor_bimodality",  # one level: the floor never changes
    ):
        assert r[name] == pytest.approx(0.0, abs=1e-12), name
    assert r.step_ratio == 1.0
    assert pd.isna(r.onset_date)


def test_step_meter_onset_and_magnitude(small):
    r = small[1].loc["step"]
    assert r.status == "ok"
    assert r.onset_date == pd.Timestamp("2024-01-11")  # day 10 of 0..20
    assert r.step_ratio == pytest.approx(6.0)  # 72 / 12 kWh per day
    assert r.step_fit == pytest.approx(1.0)
    assert r.mean_kw == pytest.approx((10 * 0.5 + 11 * 3.0) / 21)
    assert r.load_factor == pytest.approx(r.mean_kw / 3.0)
    # two day levels, one switch over 20 consecutive pairs
    assert r.off_day_share == pytest.approx(10 / 21)
    assert r.intermittency == pytest.approx(30 / 20)


def test_day_to_day_change_leaves_out_on_off_switches():
    # A 3 kW rig switched off (0.1 kW) on days 3-4, 9-11 and 16: steady from one on-day to
    # the next, so only its switches change the daily energy and none of them counts.
    on = np.ones(DAYS, dtype=bool)
    on[[3, 4, 9, 10, 11, 16]] = False
    rig = np.repeat(np.where(on, 3.0, 0.1), 24)
    # One level (the high day is less than twice the low one): every change counts.
    wobble = np.repeat(np.where(np.arange(DAYS) % 2 == 0, 2.0, 2.5), 24)
    r = extract_features(make_ds({"rig": rig, "wobble": wobble}))
    assert r.loc["rig", "off_day_share"] == pytest.approx(6 / 21)
    assert r.loc["rig", "day_to_day_variability"] == pytest.approx(0.0)
    mean_day = (11 * 48.0 + 10 * 60.0) / 21
    assert r.loc["wobble", "day_to_day_variability"] == pytest.approx(12.0 / mean_day)


def test_daytime_shop(small):
    r = small[1].loc["shop"]
    # no energy at all in the valley hours: their night-to-night variation is undefined
    assert r.status == (
        "ok; not computed: valley_night_cv (needs 7 nights between complete days and "
        "non-zero valley energy)"
    )
    assert np.isnan(r.valley_night_cv)
    assert r.night_day_ratio == pytest.approx(0.0)
    assert r.valley_share == pytest.approx(0.0)
    assert r.mean_kw == pytest.approx(2.5)
    assert r.load_factor == pytest.approx(0.5)
    assert r.base_load_ratio == pytest.approx(0.0)
    assert r.plateau_share == pytest.approx(0.5)  # the 12 open hours
    assert r.daily_periodicity == pytest.approx(1.0)  # profile 5 or 0 kW: std 2.5, mean 2.5
    assert r.hour_to_hour_variability == pytest.approx(
        (2 * 5.0 / (21 * 24 - 1)) * 21 / 2.5, rel=0.01
    )


def test_valley_only_rig(small):
    r = small[1].loc["valley"]
    assert r.valley_share == pytest.approx(8 * 4.2 / (8 * 4.2 + 16 * 0.2))
    assert r.night_day_ratio == pytest.approx(4.2 / 0.2)
    assert r.valley_night_cv == pytest.approx(0.0, abs=1e-12)


def test_short_zero_and_empty_meters(small):
    f = small[1]
    short = f.loc["short"]
    assert short.status == "insufficient_data: 9 complete days of data, need 14"
    assert short.missing_share == pytest.approx(12 / 21)
    assert short.mean_kw == pytest.approx(1.0)
    assert short[[c for c in FEATURES if c not in ("mean_kw", "missing_share")]].isna().all()

    zero = f.loc["zero"]
    assert zero.status.startswith("zero_load")
    assert zero.mean_kw == 0.0 and zero.missing_share == 0.0
    assert np.isnan(zero.load_factor) and np.isnan(zero.step_ratio)

    empty = f.loc["empty"]
    assert empty.status.startswith("no_data")
    assert empty.missing_share == 1.0
    assert empty.drop(["missing_share", "status", "onset_date"]).isna().all()


def test_gaps_are_not_filled():
    x = FLAT.copy()
    x[5 * 24 + 3] = np.nan  # one missing hour: day 5 is incomplete
    f = extract_features(make_ds({"m": x}))
    r = f.loc["m"]
    assert r.status == "ok"
    assert r.missing_share == pytest.approx(1 / (21 * 24))
    assert r.mean_kw == pytest.approx(2.0)
    assert r.load_factor == pytest.approx(1.0)


def test_no_meter_at_all(small):
    f = extract_features(small[0].isel(meter=[]))
    assert f.empty and list(f.columns) == [*FEATURES, "status", "onset_date"]


def test_negative_readings_get_a_status():
    x = FLAT.copy()
    x[:3] = -1.0
    r = extract_features(make_ds({"m": x})).loc["m"]
    assert r.status == "negative_readings: 3 readings below 0 kWh"
    assert np.isnan(r.mean_kw) and r.missing_share == 0.0


def test_nan_feature_is_named_in_status():
    # 14 complete days, but only one complete Monday (1 Jan 2024 is a Monday)
    x = np.full(DAYS * 24, np.nan)
    for d in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15):  # Mondays: days 0, 7, 14
        x[d * 24 : (d + 1) * 24] = 1.0 + 0.1 * d
    r = extract_features(make_ds({"m": x})).loc["m"]
    assert r.status.startswith("ok; not computed: ")
    assert "weekly_periodicity" in r.status
    assert np.isnan(r.weekly_periodicity)


def test_base_step_of_the_step_meter(small):
    f = small[1]
    r = f.loc["step"]
    assert r.base_step_ratio == pytest.approx(6.0)  # nightly floor 0.5 -> 3 kW
    ok = f.status.str.startswith("ok")
    peer = f.loc[ok, "mean_kw"].median()  # one peer group: every usable meter
    assert r.base_step_vs_peer == pytest.approx(2.5 / peer)
    assert f.loc["flat", "base_step_ratio"] == 1.0
    assert f.loc["flat", "base_step_vs_peer"] == 0.0


def test_a_floor_back_at_a_level_it_held_for_weeks_is_not_a_step():
    # 200 days. A home heated electrically: its night floor is 0.6 kW for 56 days (two
    # 28-day blocks), 0.1 kW for 84, and 0.6 kW again from day 140 (its second winter).
    # The best upward split of the floor is at day 140 (median before 0.1 kW), but the
    # floor only returns to a level it held for four weeks and more: no step (1.0, 0 kW).
    # A 0.5 kW rig switched on at day 140 in a home with a 0.1 kW floor all along is a
    # step of (0.1 + 0.5) / 0.1 = 6x; a 1 kW rig switched on in the heated home on day
    # 140 lifts its floor from 0.6 to 1.6 kW: 2.67x, a rise of 1 kW.
    days = 200
    day_use = np.tile(np.where((HOD >= 7) & (HOD < 23), 0.5, 0.0), days)
    floor = np.repeat(np.r_[np.full(56, 0.6), np.full(84, 0.1), np.full(60, 0.6)], 24)
    later = np.repeat(np.arange(days) >= 140, 24)
    loads = {
        "heated": floor + day_use,
        "rig": 0.1 + day_use + 0.5 * later,
        "heated_rig": floor + day_use + 1.0 * later,
    }
    f = extract_features(make_ds(loads))
    assert f.loc["heated", "base_step_ratio"] == 1.0
    assert f.loc["heated", "base_step_vs_peer"] == 0.0
    assert f.loc["rig", "base_step_ratio"] == pytest.approx(6.0)
    assert f.loc["heated_rig", "base_step_ratio"] == pytest.approx(1.6 / 0.6)
    peer = f["mean_kw"].median()
    assert f.loc["heated_rig", "base_step_vs_peer"] == pytest.approx(1.0 / peer)


def test_floor_bimodality_by_hand():
    # 20 nightly floors [kW]: a 0.5 kW rig off on 4 nights over a floor of 0.10/0.12 kW.
    # Each level: median 0.11 or 0.61, MAD 0.01, so s = 1.4826 * 0.01 for both and
    # D = sqrt(2) * 0.5 / sqrt(2 s^2) = 0.5 / (1.4826 * 0.01) = 33.7; the gap is the rig.
    base = np.tile([0.10, 0.12], 10)
    rig = base + np.r_[0.0, 0.0, 0.0, 0.0, np.full(16, 0.5)]
    # A wandering floor: 20 evenly spaced nights 0.20-0.40 kW (spacing h) split in the
    # middle; each half's MAD is 2.5 h and the medians lie 10 h apart, so
    # D = 10 / (1.4826 * 2.5) = 2.70: overlapping levels, whatever h is.
    wander = np.linspace(0.2, 0.4, 20)
    flat = np.full(20, 0.3)  # never changes: 0
    short = np.r_[rig[:13], np.full(7, np.nan)]  # 13 nights: too few
    gappy = rig.copy()
    gappy[[4, 11]] = np.nan  # a missing 0.60 and a missing 0.62 night of the upper level
    d, gap = floor_bimodality(np.vstack([rig, wander, flat, short]))
    assert d[0] == pytest.approx(0.5 / (1.4826 * 0.01))
    assert gap[0] == pytest.approx(0.5)
    assert d[1] == pytest.approx(10 / (1.4826 * 2.5))
    assert d[2] == 0.0 and gap[2] == 0.0
    assert np.isnan(d[3]) and np.isnan(gap[3])
    # missing nights leave the levels as they are (upper MAD still 0.01)
    assert floor_bimodality(gappy[None, :])[0][0] == pytest.approx(d[0])
    # two exactly constant levels: the spread is 1 % of the upper level, D stays finite
    exact = np.r_[np.full(4, 0.1), np.full(16, 0.6)]
    assert floor_bimodality(exact[None, :])[0][0] == pytest.approx(np.sqrt(2) * 0.5 / 0.006)


def test_floor_bimodality_of_a_rig_with_off_days_and_of_a_home_back_from_away():
    # 42 days. A home with a 0.1 kW night floor gets a 0.5 kW rig switched off on
    # 6 days (every seventh): its night floor holds two exact levels (D = sqrt(2) * 0.5 /
    # (1 % of 0.6 kW)). Another home is away for its first 14 days (floor 0.02 kW) and
    # back at 0.1 kW: its latest regime (after the 5x rise) holds one level only.
    days = 42
    home = np.tile(np.where((HOD >= 7) & (HOD < 23), 0.6, 0.1), days)
    on = np.repeat(np.arange(days) % 7 != 3, 24)
    away = home.copy()
    away[: 14 * 24] = 0.02
    f = extract_features(make_ds({"rig": home + 0.5 * on, "away": away, "home": home}))
    assert f.loc["rig", "floor_bimodality"] == pytest.approx(np.sqrt(2) * 0.5 / 0.006)
    assert f.loc["away", "floor_bimodality"] == 0.0
    assert f.loc["home", "floor_bimodality"] == 0.0


def test_a_week_away_over_a_holiday_is_not_a_step():
    # 60 days: a household at 10 % of its use for the first 6 days (golden week), then
    # normal. A regime must last 14 days, so the best split keeps the holiday in a
    # mostly normal fortnight and explains too little (fit about 0.37 < 0.5).
    days = 60
    home = np.tile(np.where((HOD >= 7) & (HOD < 23), 0.6, 0.2), days)
    home[: 6 * 24] *= 0.1
    f = extract_features(make_ds({"home": home}))
    assert pd.isna(f.loc["home", "onset_date"])
    assert f.loc["home", "step_fit"] < 0.5


# -- temperature, heating season, valley hours ---------------------------------------


def test_a_rig_switched_on_as_it_cools_is_not_weather_driven():
    # Rigs from day 10 while the weather cools: a plain slope would read -0.4 kWh/day/K
    # per kWh; fitted with the step's level shift, neither regime follows the weather.
    temp = np.linspace(10.0, -10.0, DAYS) + np.where(np.arange(DAYS) % 2, 1.0, -1.0)
    weather = pd.DataFrame({"date": pd.date_range(START, periods=DAYS), "temp_c": temp})
    f = extract_features(make_ds({"step": STEP}), weather=weather)
    assert f.loc["step", "temperature_sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert f.loc["step", "temperature_corr"] == 0.0


def test_a_rig_stopped_on_warm_days_is_not_weather_driven():
    # A 3 kW rig stopped (0.1 kW) on six of the warmer days: over all days its energy
    # rises as it gets colder, but on the days it runs it is flat, so it gets no response.
    temp = np.linspace(10.0, -10.0, DAYS)
    weather = pd.DataFrame({"date": pd.date_range(START, periods=DAYS), "temp_c": temp})
    on = np.ones(DAYS, dtype=bool)
    on[[0, 2, 4, 6, 8, 10]] = False
    rig = np.repeat(np.where(on, 3.0, 0.1), 24)
    # A heater whose use triples over the span is two-level too, but follows the weather
    # on its high days as well: it keeps its response.
    heat = np.repeat(1.0 + 0.1 * (10.0 - temp), 24)
    f = extract_features(make_ds({"rig": rig, "heat": heat}), weather=weather)
    assert f.loc["rig", "off_day_share"] > 0 and f.loc["heat", "off_day_share"] > 0
    assert f.loc["rig", "temperature_sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert f.loc["rig", "temperature_corr"] == 0.0
    assert f.loc["heat", "temperature_sensitivity"] == pytest.approx(-2.4)
    assert f.loc["heat", "temperature_corr"] == pytest.approx(-1.0)


def test_heaters_switched_on_with_the_heating_season_keep_their_response():
    # 70 days from 11 October: autumn cools from 20 to 0 degC over the first 35, winter
    # then wiggles around -3. Heaters come on with the heating season (15 November, day
    # 35) and use 2 kWh/day more per degree below 16; nothing followed the autumn weather
    # before. Fitted over all days (with the step's level shift) the flat autumn dilutes
    # the response; the new load after the clear step follows the cold exactly: -2
    # kWh/day/K, correlation -1. A 3 kW rig switched on the same day is flat after its
    # step and gets no response either way. The same heaters switched on a month later
    # than the season are fitted over all days, as any other step.
    days, start = 70, "2023-10-11"
    wiggle = np.where(np.arange(days) % 2, 1.5, -1.5)
    temp = np.r_[np.linspace(20.0, 0.0, 35), np.full(35, -3.0)] + wiggle
    weather = pd.DataFrame({"date": pd.date_range(start, periods=days), "temp_c": temp})
    base = np.full(days, 7.2)  # kWh/day
    heat = base + np.where(np.arange(days) >= 35, 2.0 * (16.0 - temp), 0.0)
    rig = base + np.where(np.arange(days) >= 35, 72.0, 0.0)
    late = base + np.where(np.arange(days) >= 49, 2.0 * (16.0 - temp), 0.0)  # 29 November
    loads = {"heat": heat, "rig": rig, "late": late}
    loads = {k: np.repeat(v / 24, 24) for k, v in loads.items()}
    f = extract_features(make_ds(loads, start=start), weather=weather)
    assert f.loc["heat", "temperature_corr"] == pytest.approx(-1.0)
    assert f.loc["heat", "temperature_sensitivity"] == pytest.approx(-2.0)
    after = heat[35:].mean()
    assert f.loc["heat", "temperature_sensitivity_rel"] == pytest.approx(-2.0 / after)
    assert f.loc["rig", "temperature_corr"] == 0.0
    assert f.loc["rig", "temperature_sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert pd.to_datetime(f.loc["late", "onset_date"]) == pd.Timestamp("2023-11-29")
    assert f.loc["late", "temperature_corr"] > -0.5  # over all days: diluted by the autumn


def test_temperature_sensitivity_and_attrs():
    temp = np.linspace(10.0, -10.0, DAYS)  # colder every day
    heat = np.repeat(24.0 * (1.0 + 0.1 * (10.0 - temp)), 24) / 24  # 2.4 kWh/day per K colder
    weather = pd.DataFrame({"date": pd.date_range(START, periods=DAYS), "temp_c": temp})
    ds = make_ds({"heat": heat, "flat": FLAT})
    f = extract_features(ds, weather=weather)
    assert f.loc["heat", "temperature_sensitivity"] == pytest.approx(-2.4)
    mean_daily = 24.0 * (1.0 + 0.1 * 10.0)
    assert f.loc["heat", "temperature_sensitivity_rel"] == pytest.approx(-2.4 / mean_daily)
    assert f.loc["flat", "temperature_sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert f.loc["heat", "temperature_corr"] == pytest.approx(-1.0)
    assert f.loc["flat", "temperature_corr"] == 0.0  # no variation: no correlation
    assert "temperature_sensitivity" not in f.attrs["not_computed"]
    g = extract_features(ds)
    assert g["temperature_sensitivity"].isna().all()
    assert "no weather" in g.attrs["not_computed"]["temperature_sensitivity"]
    assert (g.status == "ok").all()  # batch-level reasons stay out of the status
    h = extract_features(ds, weather=weather.iloc[:5])
    assert h.attrs["not_computed"]["temperature_sensitivity"] == (
        "weather covers 5 days of the span, need 14"
    )
    assert (h.status == "ok").all()


def test_heating_season_ratio():
    start = "2023-11-01"  # 14 days before 15 Nov, 14 inside
    x = np.r_[np.full(14 * 24, 1.0), np.full(14 * 24, 3.0)]
    f = extract_features(make_ds({"m": x}, start=start))
    assert f.loc["m", "heating_season_ratio"] == pytest.approx(3.0)
    assert f.loc["m", "onset_date"] == pd.Timestamp("2023-11-15")
    g = extract_features(make_ds({"m": FLAT}))  # all of January: inside the season
    assert "heating_season_ratio" in g.attrs["not_computed"]


def test_valley_hours_are_configurable():
    x = hourly(np.where((HOD >= 1) & (HOD < 5), 3.0, 1.0))
    f = extract_features(make_ds({"m": x}), valley_hours=(1, 5))
    assert f.loc["m", "valley_share"] == pytest.approx(12 / (12 + 20))


def test_street_lighting_follows_darkness():
    start = "2023-10-01"
    dates = pd.date_range(start, periods=DAYS)
    dark = _calendar.darkness(dates, 39.9, 116.4, np.full(DAYS, 8.0))  # Asia/Shanghai, UTC+8
    assert dark[0, 2] == 1.0 and dark[0, 12] == 0.0  # 02:00 dark, noon light
    assert 0 < dark[0, 6] < 1 and 0 < dark[0, 17] < 1  # sunrise about 06:18, sunset 17:50
    lamp = 5.0 * dark.ravel()  # on exactly while it is dark
    f = extract_features(make_ds({"lamp": lamp, "valley": VALLEY, "flat": FLAT}, start=start))
    assert f.loc["lamp", "darkness_corr"] == pytest.approx(1.0)
    assert 0.3 < f.loc["valley", "darkness_corr"] < 0.9  # dark evenings without load
    assert f.loc["flat", "darkness_corr"] == 0.0


# -- resolutions and time zones ------------------------------------------------------


def test_quarter_hour_data_equals_hourly():
    q = np.repeat(FLAT / 4, 4)
    step = np.repeat(STEP / 4, 4)
    f15 = extract_features(make_ds({"flat": q, "step": step}, step_s=900))
    f60 = extract_features(make_ds({"flat": FLAT, "step": STEP}))
    pd.testing.assert_frame_equal(f15, f60)
    q[7] = np.nan  # one missing quarter hour makes its hour missing
    r = extract_features(make_ds({"flat": q}, step_s=900)).loc["flat"]
    assert r.missing_share == pytest.approx(1 / (21 * 96))
    assert r.load_factor == pytest.approx(1.0)


def test_daily_dataset_gets_daily_features_only():
    daily = make_ds(
        {"flat": FLAT.reshape(DAYS, 24).sum(1), "step": STEP.reshape(DAYS, 24).sum(1)},
        step_s=86400,
    )
    f = extract_features(daily)
    assert f.status.str.startswith("daily_only").all()
    assert f.loc[:, list(sig.HOURLY_FEATURES)].isna().all().all()
    assert f.loc["flat", "mean_kw"] == pytest.approx(2.0)
    assert f.loc["step", "step_ratio"] == pytest.approx(6.0)
    assert f.loc["step", "onset_date"] == pd.Timestamp("2024-01-11")
    assert set(sig.HOURLY_FEATURES) <= set(f.attrs["not_computed"])


def test_daily_meter_in_an_hourly_grid():
    daily_meter = np.full(DAYS * 24, np.nan)
    daily_meter[::24] = 48.0  # one reading per local day
    ds = make_ds({"flat": FLAT, "daily": daily_meter})
    ds = ds.assign_coords(interval_s=("meter", [3600, 86400]))
    f = extract_features(ds)
    d = f.loc["daily"]
    assert d.status.startswith("daily_only")
    assert d.mean_kw == pytest.approx(2.0)
    assert d.missing_share == pytest.approx(0.0)
    assert np.isnan(d.load_factor) and d.day_to_day_variability == pytest.approx(0.0)
    assert f.loc["flat", "status"] == "ok"


@pytest.mark.parametrize("start", ["2024-03-20", "2024-10-20"])  # spring / autumn DST change
def test_dst_days_count_as_complete(start):
    x = np.ones(DAYS * 24 - (1 if start.startswith("2024-03") else -1))
    f = extract_features(make_ds({"m": x}, start=start, tz="Europe/Berlin"))
    r = f.loc["m"]
    assert r.status == "ok"
    assert r.load_factor == pytest.approx(1.0)
    assert r.missing_share == 0.0


def test_without_local_time_uses_attrs_timezone():
    ds = make_ds({"shop": SHOP})
    with_local = extract_features(ds)
    no_local = extract_features(ds.drop_vars("local_time"))
    pd.testing.assert_frame_equal(with_local, no_local)
    # no zone at all: time is taken as local; darkness then uses local mean solar
    # time (116.4 deg E is UTC+7.76 h, not the zone's +8 h)
    naive = extract_features(make_ds({"shop": SHOP}, tz=None))
    pd.testing.assert_frame_equal(
        naive.drop(columns="darkness_corr"), with_local.drop(columns="darkness_corr")
    )
    assert naive.darkness_corr.iloc[0] == pytest.approx(with_local.darkness_corr.iloc[0], abs=0.1)


# -- dask ----------------------------------------------------------------------------


def test_dask_chunked_equals_in_memory(small):
    ds, expected = small
    chunked = ds.chunk({"meter": 3, "time": 100})  # time chunks are merged
    got = extract_features(chunked)
    pd.testing.assert_frame_equal(got, expected)
    np.testing.assert_allclose(
        got[list(FEATURES)].to_numpy(), expected[list(FEATURES)].to_numpy(), equal_nan=True
    )


def test_threads_give_the_same_features_as_one(monkeypatch):
    from detectors.features import _kernel as sig

    monkeypatch.setattr(sig, "SLICE_BYTES", 8 * 24 * DAYS * 2)  # slices of 16 meters
    rng = np.random.default_rng(0)
    loads = {f"m{i}": rng.gamma(2.0, 0.5, DAYS * 24) for i in range(50)}
    ds = make_ds(loads)
    one = extract_features(ds, n_jobs=1)
    pd.testing.assert_frame_equal(extract_features(ds, n_jobs=3), one)
    pd.testing.assert_frame_equal(extract_features(ds), one)
    with pytest.raises(ValueError, match="n_jobs must be a positive number"):
        extract_features(ds, n_jobs=0)


def test_kernel_slices_equal_one_slice(small, monkeypatch):
    ds, expected = small
    monkeypatch.setattr(sig, "SLICE_BYTES", 1)  # slices of the 16-meter minimum
    big = xr.concat([ds] * 5, dim="meter")  # 35 meters: three slices
    big = big.assign_coords(meter=[f"{m}{i}" for i in range(5) for m in ds.meter.values])
    got = extract_features(big)
    for i in range(5):
        part = got.iloc[7 * i : 7 * (i + 1)]
        np.testing.assert_array_equal(part.status, expected.status)
        np.testing.assert_allclose(
            part[list(FEATURES)].to_numpy(), expected[list(FEATURES)].to_numpy(), equal_nan=True
        )


# -- peers ---------------------------------------------------------------------------


def _peer_features():
    """25 residential meters in A at 1 kW, 5 in B at 3 kW, 30 commercial in A at 10 kW."""
    ids = [f"r{i}" for i in range(30)] + [f"c{i}" for i in range(30)] + ["x"]
    level = [1.0] * 25 + [3.0] * 5 + [10.0] * 30 + [4.0]
    feats = pd.DataFrame({"mean_kw": level, "status": "ok"}, index=pd.Index(ids, name="meter_id"))
    groups = pd.DataFrame(
        {
            "customer_class": ["residential"] * 30 + ["commercial"] * 30 + [None],
            "district": ["A"] * 25 + ["B"] * 5 + ["A"] * 30 + ["A"],
        },
        index=ids,
    )
    return feats, groups


def test_peer_reference_falls_back_to_coarser_groups():
    feats, groups = _peer_features()
    ref = peer_reference(feats, groups, min_group_size=20)
    median, label = ref.lookup(groups)
    assert median["r0"] == 1.0 and label["r0"] == "customer_class=residential, district=A"
    assert median["r29"] == 1.0 and label["r29"] == "customer_class=residential"  # B: 5 < 20
    assert median["c0"] == 10.0
    assert median["x"] == 4.0 and label["x"] == "all meters"  # median of 61 values
    assert ref.overall == (4.0, 61)


def test_peer_reference_json_round_trip():
    feats, groups = _peer_features()
    ref = peer_reference(feats, groups.reset_index(names="meter_id"))
    back = PeerReference.from_dict(json.loads(json.dumps(ref.to_dict(), ensure_ascii=False)))
    assert back == ref
    with pytest.raises(ValueError, match=r"PeerReference\.to_dict"):
        PeerReference.from_dict({"columns": []})


def test_batch_independence_with_a_peer_reference(small):
    ds, _ = small
    groups = pd.DataFrame(
        {
            "customer_class": [
                "residential",
                "residential",
                "commercial",
                "residential",
                "residential",
                "residential",
                "commercial",
            ]
        },
        index=ds.meter.values,
    )
    full = extract_features(ds, groups=groups)
    ref = peer_reference(full, groups, min_group_size=1)
    a = extract_features(ds, groups=groups, peer_reference=ref)
    b = extract_features(ds.isel(meter=[1, 3]), groups=groups, peer_reference=ref)
    pd.testing.assert_frame_equal(a.iloc[[1, 3]], b)
    # without the reference the batch sets the yardstick: level_vs_peer changes
    c = extract_features(ds.isel(meter=[1, 3]), groups=groups)
    assert not np.allclose(c.level_vs_peer, b.level_vs_peer)


def test_level_vs_peer_from_the_batch(small):
    f = small[1]
    usable = f.status.str.startswith("ok")
    med = f.loc[usable, "mean_kw"].median()  # every meter is residential, 4 usable < 20
    assert f.loc["flat", "level_vs_peer"] == pytest.approx(2.0 / med)


# -- bad input -----------------------------------------------------------------------


def test_bad_input_errors(small):
    ds, _ = small
    with pytest.raises(TypeError, match=r"ds must be an xarray\.Dataset"):
        extract_features(ds.kwh)
    with pytest.raises(ValueError, match="no variable 'kwh'"):
        extract_features(ds.rename({"kwh": "energy"}))
    with pytest.raises(ValueError, match=r"dims \('meter', 'time'\).*transpose"):
        extract_features(ds.transpose("time", "meter"))
    with pytest.raises(ValueError, match="dims"):
        extract_features(ds.rename({"meter": "site"}))
    for bad in [(23, 23), (25, 7), "23-7", (23,), (23.5, 7)]:
        with pytest.raises(ValueError, match="valley_hours must be two different whole"):
            extract_features(ds, valley_hours=bad)
    with pytest.raises(ValueError, match="min_days must be an int of at least 14"):
        extract_features(ds, min_days=7)
    with pytest.raises(ValueError, match="lacks the column"):
        extract_features(ds, weather=pd.DataFrame({"date": ["2024-01-01"]}))
    with pytest.raises(ValueError, match="temp_c must be numbers"):
        extract_features(ds, weather=pd.DataFrame({"date": ["2024-01-01"], "temp_c": ["warm"]}))
    with pytest.raises(ValueError, match="more than once"):
        extract_features(ds, weather=pd.DataFrame({"date": ["2024-01-01"] * 2, "temp_c": [1, 2]}))
    with pytest.raises(TypeError, match="groups must be a DataFrame or Series"):
        extract_features(ds, groups=["residential"] * 7)
    with pytest.raises(TypeError, match="peer_reference must be a PeerReference"):
        extract_features(ds, peer_reference={"columns": []})
    with pytest.raises(ValueError, match="longitude must be"):
        extract_features(ds, longitude=200)
    with pytest.raises(ValueError, match="latitude must be"):
        extract_features(ds, latitude=80)
    with pytest.raises(ValueError, match="heating_season must be"):
        extract_features(ds, heating_season=((13, 1), (3, 15)))
    with pytest.raises(ValueError, match="strictly increasing"):
        extract_features(ds.isel(time=slice(None, None, -1)))
    with pytest.raises(ValueError, match="does not divide an hour"):
        extract_features(make_ds({"m": np.ones(100)}, step_s=2400))
    with pytest.raises(TypeError, match="numeric"):
        extract_features(ds.assign(kwh=ds.kwh.astype(str)))


def test_peer_reference_column_mismatch(small):
    ds, _ = small
    feats, groups = _peer_features()
    ref = peer_reference(feats, groups)
    wrong = pd.DataFrame({"district": ["A"] * 7}, index=ds.meter.values)
    with pytest.raises(ValueError, match=r"groups has columns \['district'\].*built on"):
        extract_features(ds, groups=wrong, peer_reference=ref)
    with pytest.raises(TypeError, match="features must be the DataFrame"):
        peer_reference(ds, groups)
    with pytest.raises(ValueError, match="min_group_size must be a positive int"):
        peer_reference(feats, groups, min_group_size=0)


# -- registry and docs ---------------------------------------------------------------


def test_registry_drives_the_kernel_and_is_complete():
    kernel = {c for c in sig.COLUMNS if not c.startswith("_")}
    assert kernel | {"level_vs_peer", "contract_utilisation"} == set(FEATURES)
    for name, f in FEATURES.items():
        assert isinstance(f, Feature) and f.name == name
        assert f.unit and f.definition.endswith(".") and f.why.endswith(".")
        assert f.suspicious in {"high", "low", "none"}
        assert f.phrase.format(value=0.5, peer="residential")  # a valid template


def test_docs_are_in_sync_with_the_registry():
    doc = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert doc == render_markdown(), (
        "docs/features.md is stale: run `python -m detectors.features > docs/features.md`"
    )


# -- properties ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 1000.0),
    gap_share=st.sampled_from([0.0, 0.01, 0.3]),
)
def test_features_are_bounded_and_scale_free(seed, scale, gap_share):
    rng = np.random.default_rng(seed)
    x = rng.gamma(0.7, 1.0, (4, DAYS * 24)) * rng.integers(0, 2, (4, 1))  # some zero meters
    x[rng.random(x.shape) < gap_share] = np.nan
    ds = make_ds({f"m{i}": row for i, row in enumerate(x)})
    f = extract_features(ds)
    g = extract_features(ds.assign(kwh=ds.kwh * scale))
    num = f[list(FEATURES)].to_numpy()
    assert not np.isinf(num).any()
    for c in (
        "load_factor",
        "plateau_share",
        "valley_share",
        "off_day_share",
        "idle_day_share",
        "missing_share",
        "step_fit",
    ):
        v = f[c].dropna()
        assert ((v >= -1e-12) & (v <= 1 + 1e-9)).all(), c
    for c in ("darkness_corr",):
        v = f[c].dropna()
        assert ((v >= -1 - 1e-9) & (v <= 1 + 1e-9)).all(), c
    assert (f.status == g.status).all()
    free = [c for c, spec in FEATURES.items() if spec.unit == "1" and c != "level_vs_peer"]
    np.testing.assert_allclose(g[free].to_numpy(), f[free].to_numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g.mean_kw, f.mean_kw * scale, rtol=1e-9)


# -- the synthetic population --------------------------------------------------------


@pytest.fixture(scope="module")
def population():
    samplecity = pytest.importorskip("geoenergy.samplecity")
    pop = samplecity.generate_population(
        300, start="2023-11-01", end="2023-12-06", seed=7, mining_share=0.08
    )
    f = extract_features(
        pop.readings,
        weather=pop.weather,
        groups=pop.registry[["meter_id", "customer_class", "district"]],
        contracted_kw=pop.registry.set_index("meter_id")["contracted_kw"],
    )
    return f.join(pop.truth.drop(columns="onset_date").set_index("meter_id"))


def test_population_features_separate_in_the_expected_direction(population):
    f = population
    assert f.status.str.startswith("ok").mean() > 0.95
    mining = f[f.role == "mining"]
    homes = f[f.archetype == "residential"]
    for name in ("plateau_share", "load_factor", "base_load_ratio", "level_vs_peer"):
        assert mining[name].median() > homes[name].median(), name
    for name in ("hour_to_hour_variability", "daily_periodicity"):
        assert mining[name].median() < homes[name].median(), name
    valley = f[f.archetype == "mining_valley_only"]
    assert valley.valley_share.median() > homes.valley_share.median()
    coal = f[f.archetype == "coal_to_electricity"]
    assert coal.temperature_sensitivity_rel.median() < homes.temperature_sensitivity_rel.median()
    lamps = f[f.archetype == "street_lighting"]
    others = f[f.archetype != "street_lighting"]
    assert lamps.darkness_corr.median() > 0.8 > 0.3 > others.darkness_corr.median()
    stepped = f[f.archetype.isin(["mining_step_onset", "mining_converted_shop"])]
    assert stepped.onset_date.notna().mean() > homes.onset_date.notna().mean()
