"""Load profiles: mining rigs, coal-to-electricity heating and street lighting look as they should."""

from __future__ import annotations

import pandas as pd


def _wide(readings, meters):
    """Hourly kWh of ``meters`` as a (meter, hour) frame."""
    sub = readings[readings["meter_id"].isin(meters)]
    return sub.pivot(index="meter_id", columns="timestamp", values="kwh")


def test_mining_signal_differs_from_residential(readings, truth):
    hod = readings["timestamp"].dt.hour
    night = (hod >= 23) | (hod < 7)
    g = readings.groupby("meter_id")["kwh"]
    cv = g.std() / g.mean()
    nd = (
        readings[night].groupby("meter_id")["kwh"].mean()
        / readings[~night].groupby("meter_id")["kwh"].mean()
    )
    arch = truth.set_index("meter_id")["archetype"]
    mining = truth.loc[truth["is_mining"], "meter_id"]
    residential = arch.index[arch == "residential"]
    assert nd[mining].mean() > nd[residential].mean()
    assert cv[mining].mean() < cv[residential].mean()
    # A 24/7 rig is almost flat.
    assert cv[arch.index[arch == "mining_24x7"]].max() < 0.3


def test_coal_to_electricity_heats_at_night_from_15_november(readings, truth):
    meters = truth.loc[truth["archetype"] == "coal_to_electricity", "meter_id"]
    wide = _wide(readings, meters)
    hod = wide.columns.hour
    night = (hod >= 23) | (hod < 7)
    # Night hours are assigned to the night's first evening; 15 Nov 23:00 is in season.
    before = night & (wide.columns < pd.Timestamp("2023-11-14 23:00"))
    after = night & (wide.columns >= pd.Timestamp("2023-11-14 23:00"))
    assert (wide.loc[:, after].mean(axis=1) > 4 * wide.loc[:, before].mean(axis=1)).all()
    # Ordinary households show no such step.
    plain = _wide(readings, truth.loc[truth["archetype"] == "residential", "meter_id"])
    ratio = plain.loc[:, after].mean(axis=1).mean() / plain.loc[:, before].mean(axis=1).mean()
    assert 0.5 < ratio < 2


def test_street_lighting_burns_only_at_night(readings, truth):
    wide = _wide(readings, truth.loc[truth["archetype"] == "street_lighting", "meter_id"])
    hod = wide.columns.hour
    day, night = wide.loc[:, (hod >= 9) & (hod < 16)], wide.loc[:, (hod >= 19) & (hod < 23)]
    assert ((day == 0) | day.isna()).all().all()  # NaN: a gap in the readings
    assert ((night > 0) | night.isna()).all().all()
