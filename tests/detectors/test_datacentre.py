"""Data-centre evidence: utilisation and step-up, hosting rhythm, PUE, the own-list score.

Small hand-checkable sites over 90 days from 2023-11-01 (a Wednesday): hosting
with a 3 % daily cycle peaking at 15:00 and weekends 2 % lower, rigs stepping up
from 400 to 900 kW on day 40 (2023-12-11) under a 1,000 kW contract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from detectors.datacentre import (
    FLAG_SCORE,
    PUE_FLOOR,
    datacentre_evidence,
    hosting_rhythm,
    hourly_kw,
    pue_behaviour,
    score_data_centres,
    utilisation_step,
)

T = pd.date_range("2023-11-01", periods=90 * 24, freq="h")
HOUR = T.hour.to_numpy()
WEEKEND = T.day_of_week.to_numpy() >= 5
DAY = np.arange(len(T)) // 24


def _noise(seed, sigma=0.01):
    return np.random.default_rng(seed).lognormal(0, sigma, len(T))


def hosting(kw=500.0, amp=0.03, weekend=-0.02, seed=0):
    """IT load with users: a daily cycle peaking at 15:00 and lower weekends [kW]."""
    daily = 1 + amp * np.cos(2 * np.pi * (HOUR - 15) / 24)
    return kw * daily * (1 + weekend * WEEKEND) * _noise(seed)


def rigs(before=400.0, after=900.0, onset_day=40, seed=1):
    """Flat load stepping up on ``onset_day`` [kW]."""
    return np.where(onset_day <= DAY, after, before) * _noise(seed)


def _ds(loads: dict) -> xr.Dataset:
    return xr.Dataset(
        {"kwh": (("meter", "time"), np.vstack(list(loads.values())))},
        coords={"meter": list(loads), "time": T},
        attrs={"step_s": 3600},
    )


def test_utilisation_and_step_up_with_onset_date():
    out = utilisation_step(pd.Series(rigs(), index=T), 1000.0)
    assert out["days"] == 90
    assert out["utilisation"] == pytest.approx(0.9, abs=0.01)  # 900 kW of 1,000
    assert out["onset_date"] == pd.Timestamp("2023-12-11")
    assert out["step_kw"] == pytest.approx(500, rel=0.02)
    assert out["step_share"] == pytest.approx(0.5, abs=0.01)  # of the contract


def test_a_slow_drift_is_not_a_step_up():
    # +30 % over 90 days, as cooling drifts with the season: no abrupt rise.
    drift = 500.0 * (1 + 0.3 * DAY / 90) * _noise(2)
    out = utilisation_step(pd.Series(drift, index=T), 1000.0)
    assert out["step_kw"] == 0 and pd.isna(out["onset_date"])
    # Without a contract the rise is measured on the level before it.
    step = utilisation_step(pd.Series(rigs(), index=T))
    assert np.isnan(step["utilisation"]) and step["step_share"] == pytest.approx(1.25, abs=0.03)


def test_too_few_days_and_bad_contract():
    short = pd.Series(rigs()[: 10 * 24], index=T[: 10 * 24])
    out = utilisation_step(short, 1000.0)
    assert out["days"] == 10 and np.isnan(out["level_kw"])
    with pytest.raises(ValueError, match="contracted_kw must be a positive"):
        utilisation_step(pd.Series(rigs(), index=T), 0.0)
    with pytest.raises(TypeError, match="DatetimeIndex"):
        utilisation_step(rigs(), 1000.0)


def test_hosting_rhythm_amplitude_phase_and_weekly_difference():
    out = hosting_rhythm(pd.Series(hosting(), index=T))
    assert out["daily_amplitude"] == pytest.approx(0.03, abs=0.002)
    assert out["daily_peak_hour"] == pytest.approx(15, abs=0.3)
    assert out["daily_snr"] > 20
    assert out["weekly_difference"] == pytest.approx(-0.02, abs=0.003)
    assert out["weekly_snr"] > 5
    flat = hosting_rhythm(pd.Series(rigs(900, 900), index=T))
    assert flat["daily_snr"] < 3 and flat["weekly_snr"] < 3


def test_pue_not_available_without_an_it_meter():
    f = pd.Series(hosting() * 1.3, index=T)
    out = pue_behaviour(f)
    assert out["available"] is False and out["why"] == "no IT meter" and np.isnan(out["pue"])
    with pytest.raises(ValueError, match="cooling must be one of"):
        pue_behaviour(f, cooling="freon")


def test_pue_metered_temperature_response_and_it_share_jump():
    it = hosting()
    temp = pd.Series(np.linspace(-5, 15, 90), index=pd.date_range("2023-11-01", periods=90))
    pue_h = 1.3 + 0.01 * np.repeat(temp.to_numpy(), 24)
    out = pue_behaviour(
        pd.Series(it * pue_h, index=T), pd.Series(it, index=T), temp_c=temp, cooling="air"
    )
    assert out["available"] and out["pue"] == pytest.approx(1.35, abs=0.01)  # at 5 degC mean
    assert out["pue_per_k"] == pytest.approx(0.01, abs=1e-3)
    assert out["pue_floor"] == PUE_FLOOR["air"] and out["it_share_jump"] == 0
    # The IT share of the facility energy jumps from 0.6 to 0.75 on day 40.
    facility = np.full(len(T), 1000.0) * _noise(3)
    share = np.where(DAY >= 40, 0.75, 0.6)
    jump = pue_behaviour(pd.Series(facility, index=T), pd.Series(facility * share, index=T))
    assert jump["it_share_jump"] == pytest.approx(0.15, abs=0.01)
    assert jump["it_share_onset"] == pd.Timestamp("2023-12-11")


def test_hourly_kw_from_15_minute_steps():
    t = pd.date_range("2023-11-01", periods=8, freq="15min")
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), np.full((1, 8), 25.0))},
        coords={"meter": ["A"], "time": t, "local_time": ("time", t + pd.Timedelta(hours=8))},
        attrs={"step_s": 900},
    )
    kw = hourly_kw(ds)
    assert kw.shape == (2, 1) and (kw["A"] == 100.0).all()  # 25 kWh per 15 min = 100 kW
    assert kw.index[0] == pd.Timestamp("2023-11-01 08:00")
    with pytest.raises(ValueError, match="not in ds"):
        hourly_kw(ds, ["B"])


def _sites():
    loads = {
        "HOST": hosting(500, seed=4),
        "HOST2": hosting(800, amp=0.02, weekend=-0.01, seed=5),
        "RIGS": rigs(),
        "FULL": rigs(920, 920, seed=6),
    }
    reg = pd.DataFrame(
        {
            "meter_id": list(loads),
            "customer_class": "data_centre",
            "contracted_kw": [1000.0, 1500.0, 1000.0, 1000.0],
        }
    )
    return _ds(loads), reg


def test_hidden_mining_ranks_first_among_data_centres_with_reasons():
    ds, reg = _sites()
    r = score_data_centres(ds, reg)
    assert list(r["meter_id"][:2]) == ["RIGS", "FULL"] and list(r["rank"]) == [1, 2, 3, 4]
    assert r.set_index("meter_id").loc["RIGS", "evidence"] == pytest.approx(1.0)
    assert r["flagged"].tolist() == [True, True, False, False]
    assert (r.loc[r["flagged"], "evidence"] >= FLAG_SCORE).all()
    # The score: the evidence through a logistic, 0.5 at the flag threshold.
    assert (r.loc[r["flagged"], "score"] >= 0.5).all() and (
        r.loc[~r["flagged"], "score"] < 0.5
    ).all()
    assert r["score"].is_monotonic_decreasing
    rigs_row = r.set_index("meter_id").loc["RIGS"]
    assert rigs_row["onset_date"] == pd.Timestamp("2023-12-11")
    assert "90 % of the contracted 1,000 kW" in rigs_row["reasons"]
    assert "stepped up by 500 kW (50 % of the contract) from 2023-12-11" in rigs_row["reasons"]
    assert "PUE behaviour: not available (no IT meter)" in rigs_row["reasons"]
    host = r.set_index("meter_id").loc["HOST"]
    assert host["evidence"] == 0 and host["score"] < 1e-4
    assert "weekend/weekday difference -" in host["reasons"]
    assert "a hosting rhythm" in host["reasons"]
    # A site's score does not depend on the other data centres of the batch.
    alone = score_data_centres(ds, reg, meters=["RIGS"])
    assert alone.loc[0, "score"] == rigs_row["score"] and alone.loc[0, "rank"] == 1


def test_without_contract_utilisation_is_not_available():
    ds, reg = _sites()
    r = score_data_centres(ds, reg.drop(columns="contracted_kw")).set_index("meter_id")
    assert np.isnan(r.loc["RIGS", "s_utilisation"])
    assert "utilisation of contract: not available (no contracted_kw)" in r.loc["RIGS", "reasons"]
    assert r.loc["RIGS", "rank"] == 1 and r.loc["RIGS", "flagged"]


def test_the_it_meter_gives_the_pue_and_the_rhythm():
    it = rigs(900, 900, seed=7)
    loads = {"SITE": it * 1.08, "SITE-IT": it}
    reg = pd.DataFrame(
        {
            "meter_id": ["SITE", "SITE-IT"],
            "customer_class": "data_centre",
            "contracted_kw": [1100.0, np.nan],
            "it_meter_id": ["SITE-IT", None],
            "cooling": ["air", None],
        }
    )
    ev = datacentre_evidence(_ds(loads), reg, meters=["SITE"])
    assert ev.loc["SITE", "rhythm_on"] == "IT meter"
    assert ev.loc["SITE", "pue"] == pytest.approx(1.08, abs=0.005)
    r = score_data_centres(_ds(loads), reg, meters=["SITE"]).iloc[0]
    assert r["s_pue_too_low"] == 1.0  # 1.08 metered, air cooling reaches 1.20 at best
    assert "metered PUE 1.08, below the 1.20 the declared cooling reaches" in r["reasons"]


def test_a_site_with_too_few_hourly_days_is_not_scored_and_says_why():
    ds, reg = _sites()
    short = ds.isel(time=slice(0, 10 * 24))
    r = score_data_centres(short, reg).set_index("meter_id")
    assert r["score"].isna().all() and r["rank"].isna().all() and not r["flagged"].any()
    assert r.loc["RIGS", "reasons"] == (
        "not scored: 10 days with 20 or more hourly readings, the data-centre evidence needs 14"
    )


def test_an_it_sub_meter_registered_as_a_data_centre_is_listed_once():
    """The registry names DCIT as the IT meter of DCF: DCF is scored with its PUE, DCIT
    gets a row without a score that says whose IT meter it is."""
    it = hosting(seed=11)
    ds = _ds({"DCF": 1.4 * it, "DCIT": it, "OTHER": hosting(seed=12)})
    reg = pd.DataFrame(
        {
            "meter_id": ["DCF", "DCIT", "OTHER"],
            "customer_class": "data_centre",
            "contracted_kw": [1000.0, 800.0, 1000.0],
            "it_meter_id": ["DCIT", None, None],
            "cooling": ["air", None, None],
        }
    )
    out = score_data_centres(ds, reg).set_index("meter_id")
    assert sorted(out.index) == ["DCF", "DCIT", "OTHER"]
    assert out["score"].notna().sum() == 2 and np.isnan(out.at["DCIT", "score"])
    assert pd.isna(out.at["DCIT", "rank"]) and not out.at["DCIT", "flagged"]
    assert "IT meter of data centre DCF" in out.at["DCIT", "reasons"]
    assert "metered PUE 1.40" in out.at["DCF", "reasons"]
    assert out.loc[["DCF", "OTHER"], "rank"].tolist() in ([1, 2], [2, 1])
    without = score_data_centres(ds, reg.drop(columns=["it_meter_id", "cooling"]))
    assert without["score"].notna().sum() == 3  # nothing says DCIT is a part of DCF


def test_daily_levels_equal_pandas_groupby_with_gaps_nans_and_ties():
    # The NumPy day grouping (_Days) gives pandas' daily median and hour count exactly:
    # missing hours, NaN hours, tied values, even and odd counts, any index unit.
    from detectors.datacentre import _daily

    rng = np.random.default_rng(3)
    for unit in ("ns", "us", "s"):
        t = pd.date_range("2024-01-01", periods=24 * 30, freq="h").as_unit(unit)
        x = np.round(rng.gamma(2.0, 50.0, len(t)), 0)  # ties
        x[rng.random(len(t)) < 0.1] = np.nan
        kw = pd.Series(x, index=t).drop(t[rng.choice(len(t), 50, replace=False)])
        got = _daily(kw)
        g = kw.dropna().groupby(kw.dropna().index.normalize())
        want = pd.DataFrame({"level": g.median(), "hours": g.size()})
        pd.testing.assert_frame_equal(got, want, check_freq=False, check_names=False)
    assert _daily(pd.Series([np.nan] * 3, index=t[:3])).empty
