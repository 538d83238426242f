"""Regimes: steps up and on/off days, the changes of level a rig brings.

The features of the *regime* family. A step: ``step_ratio`` and
``step_fit`` (the best upward least-squares split of daily energy, which
also dates the onset), ``base_step_ratio`` (the same for the daily
minimum; ``base_step_vs_peer`` is its rise over the peer level, filled in
by :mod:`detectors.features._extract`). Two levels of days:
``off_day_share``, ``intermittency`` and ``idle_day_share``. Installing
rigs steps the load up for good; price-driven miners switch them off in
short blocks of days, a vacant home idles for weeks. See
:data:`detectors.features.FEATURES` for the reasoning and references.
"""

from __future__ import annotations

import numpy as np

from detectors.features._reduce import MIN_SEGMENT_DAYS, TINY, sorted_quantile

IDLE_FRACTION = 0.15
"""``idle_day_share``: days at or below 15 % of the 90th-percentile day."""
ONOFF_CONTRAST = 2.0
"""Day states exist when the 90th-percentile day is at least twice the 10th."""
STEP_SEGMENT_DAYS = 14
"""Complete days a regime must last for a step (when the span has four times as many):
longer than the longest Chinese public holiday (8 days, Spring Festival and National
Day), so a household away for the golden week or a factory closed over it does not
pass for a step. Shorter spans use a quarter of their days, at least MIN_SEGMENT_DAYS."""


def _step_segment(n_days: int) -> int:
    """Complete days each side of a step, for a span of ``n_days`` days."""
    return max(MIN_SEGMENT_DAYS, min(STEP_SEGMENT_DAYS, n_days // 4))


ONSET_MIN_RATIO, ONSET_MIN_FIT = 1.5, 0.5
"""An onset date is reported when ``step_ratio`` and ``step_fit`` reach these."""


def off_days(energy, ok, n_ok) -> tuple[np.ndarray, np.ndarray]:
    """Day states: 'off' when the days fall into two clearly different levels.

    A meter is two-level when its 90th-percentile day is at least
    ``ONOFF_CONTRAST`` times its 10th; its days below the midpoint of the two
    are off.

    Returns
    -------
    off : ndarray of bool
        Shaped like ``energy``; all False for a one-level meter.
    p90 : ndarray
        The 90th-percentile day of each meter [kWh].
    """
    srt = np.sort(energy, axis=1)
    p10, p90 = sorted_quantile(srt, n_ok, 0.1), sorted_quantile(srt, n_ok, 0.9)
    two_level = (p90 > ONOFF_CONTRAST * p10) & (p90 > 0)
    return ok & two_level[:, None] & (energy < ((p10 + p90) / 2)[:, None]), p90


def onoff_features(energy, ok, n_ok, off, p90, res) -> None:
    """``off_day_share``, ``intermittency`` and ``idle_day_share`` into ``res``.

    Parameters
    ----------
    energy : ndarray, shape (meters, days)
        Daily energy [kWh], NaN unless the day is complete.
    ok : ndarray of bool, shape (meters, days)
        Complete days.
    n_ok : ndarray, shape (meters,)
        Complete days of each meter.
    off, p90 : ndarray
        Day states and 90th-percentile day [kWh] from :func:`off_days`.
    res : dict
        Feature name -> values, filled in place.
    """
    res["off_day_share"] = np.where(n_ok > 0, off.sum(axis=1) / n_ok, np.nan)
    pair = ok[:, 1:] & ok[:, :-1]
    n_pair = pair.sum(axis=1)
    switches = ((off[:, 1:] != off[:, :-1]) & pair).sum(axis=1)
    res["intermittency"] = np.where(n_pair >= MIN_SEGMENT_DAYS, 30.0 * switches / n_pair, np.nan)
    idle = ok & (energy <= (IDLE_FRACTION * p90)[:, None])
    res["idle_day_share"] = np.where(n_ok > 0, idle.sum(axis=1) / n_ok, np.nan)


def energy_step(energy, ok, n_ok, res):
    """Best upward least-squares split of daily energy.

    Returns the onset day index (NaN if none), the mean daily energy
    before and after the split [kWh], and the first day after the best
    upward split whatever its size (-1 if none), which the temperature
    regression takes as a regime change.
    """
    m, n_days = energy.shape
    e0 = np.where(ok, energy, 0.0)
    c = np.cumsum(ok, axis=1)
    s = np.cumsum(e0, axis=1)
    n, total = c[:, -1:], s[:, -1:]
    c1, s1 = c[:, :-1], s[:, :-1]  # days before split k = 1 .. D-1
    c2, s2 = n - c1, total - s1
    m1 = s1 / np.maximum(c1, 1)
    m2 = s2 / np.maximum(c2, 1)
    gain = c1 * c2 / np.maximum(n, 1) * (m2 - m1) ** 2
    seg = _step_segment(n_days)
    allowed = (c1 >= seg) & (c2 >= seg) & ok[:, 1:] & (m2 > m1)
    gain = np.where(allowed, gain, -1.0)
    k = np.argmax(gain, axis=1) if n_days > 1 else np.zeros(m, dtype=np.int64)
    found = gain[np.arange(m), k] > 0 if n_days > 1 else np.zeros(m, dtype=bool)
    mean = total[:, 0] / np.maximum(n[:, 0], 1)
    ss = np.where(ok, (energy - mean[:, None]) ** 2, 0.0).sum(axis=1)
    rows = np.arange(m)
    if n_days > 1:
        before, after, g = m1[rows, k], m2[rows, k], gain[rows, k]
    else:
        before = after = g = np.zeros(m)
    tiny = (TINY * mean) ** 2 * n[:, 0]
    fit = np.where(found & (ss > tiny), g / np.where(ss > 0, ss, 1.0), 0.0)
    ratio = np.where(found, after / np.maximum(before, 0.01 * mean), 1.0)
    enough = n_ok >= 2 * MIN_SEGMENT_DAYS
    res["step_ratio"] = np.where(enough, ratio, np.nan)
    res["step_fit"] = np.where(enough, fit, np.nan)
    onset = found & enough & (ratio >= ONSET_MIN_RATIO) & (fit >= ONSET_MIN_FIT)
    split = np.where(found & enough, k + 1, -1)
    return np.where(onset, k + 1.0, np.nan), before, after, split


def base_step(dmin, energy, ok) -> np.ndarray:
    """Step of the base load: median daily minimum after its best upward split / the
    highest level the base load sustained before it.

    Returns the ratio and the rise [kW] (0 without an upward split).

    The split is the least-squares one of the daily minimum (at least
    ``_step_segment`` complete days each side, as the step of daily energy); medians of the two
    segments ignore short dips and spikes (holidays, maintenance). The level
    before is the larger of the median before the split and the highest median
    of a ``SUSTAINED_DAYS`` block entirely before it (:func:`sustained_level`)
    when the floor rose by ``ONSET_MIN_RATIO`` or more at the split: a floor
    that returns to a level it already held for weeks (electric heating in its
    second winter, a home back from a long absence) did not step up; a rig's
    floor is new. Smaller rises keep the median before, so that the ordinary
    floors of a peer group keep the spread that their robust scale needs (with
    every floor checked, most shops of the town read exactly 1 and three were
    flagged for a rise of 0.0x their peers' load). The before-level is floored
    at 1 % of the mean load so a load off at night stays finite. 1 when there
    is no upward split, NaN with too few days.
    """
    n_days = dmin.shape[1]
    valid = ~np.isnan(dmin)
    enough = valid.sum(axis=1) >= 2 * MIN_SEGMENT_DAYS
    if n_days < 2 * MIN_SEGMENT_DAYS:
        return np.where(enough, 1.0, np.nan), np.where(enough, 0.0, np.nan)
    found, late, before, after = _split_medians(dmin, valid)
    stepped = _stepped(found, before, after)
    if stepped.any():  # only a clear step is checked: ordinary floors keep their spread
        first_late = np.argmax(late[stepped], axis=1)
        held = sustained_level(dmin[stepped], first_late)
        before = before.copy()
        before[stepped] = np.fmax(before[stepped], held)
    mean_kw = np.where(ok, energy, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1) / 24.0
    ratio = after / np.maximum(before, 0.01 * mean_kw)
    up = found & (ratio > 1.0)
    return (
        np.where(enough, np.where(up, ratio, 1.0), np.nan),
        np.where(enough, np.where(up, after - before, 0.0), np.nan),
    )


SUSTAINED_DAYS = 28
"""Days a level must hold to count as one the base load already had (:func:`base_step`):
four weeks, twice a step's segment, so a fortnight of guests or a cold snap does not
count, a heating season does."""


def sustained_level(d, stop) -> np.ndarray:
    """Highest median of consecutive ``SUSTAINED_DAYS``-day blocks that end before ``stop``.

    Parameters
    ----------
    d : ndarray, shape (meters, days)
        A daily value (NaN on incomplete days).
    stop : ndarray of int, shape (meters,)
        First day not to use (the split) for each row.

    Returns
    -------
    ndarray, shape (meters,)
        NaN where no block with at least half its days valid ends before ``stop``.
    """
    m, n_days = d.shape
    n_blocks = n_days // SUSTAINED_DAYS
    if n_blocks == 0:
        return np.full(m, np.nan)
    blocks = d[:, : n_blocks * SUSTAINED_DAYS].reshape(m, n_blocks, SUSTAINED_DAYS)
    n_valid = (~np.isnan(blocks)).sum(axis=2)
    med = sorted_quantile(
        np.sort(blocks, axis=2).reshape(m * n_blocks, SUSTAINED_DAYS),
        n_valid.reshape(-1),
        0.5,
    ).reshape(m, n_blocks)
    ends = (np.arange(n_blocks) + 1) * SUSTAINED_DAYS
    use = (ends[None, :] <= stop[:, None]) & (2 * n_valid >= SUSTAINED_DAYS)
    out = np.where(use, med, -np.inf).max(axis=1)
    return np.where(np.isfinite(out), out, np.nan)


def upward_split_medians(dmin):
    """Best upward least-squares split of a daily series, and the medians either side.

    Parameters
    ----------
    dmin : ndarray, shape (meters, days)
        A daily value (e.g. the lowest hour [kW]), NaN on incomplete days.

    Returns
    -------
    found : ndarray of bool
        Whether an upward split with ``_step_segment`` days each side exists.
    before, after : ndarray
        Medians before and after it (NaN without a split or too few days).
    enough : ndarray of bool
        At least ``2 * MIN_SEGMENT_DAYS`` valid days.
    """
    valid = ~np.isnan(dmin)
    n_valid = valid.sum(axis=1)
    m, n_days = dmin.shape
    enough = n_valid >= 2 * MIN_SEGMENT_DAYS
    if n_days < 2 * MIN_SEGMENT_DAYS:
        nan = np.full(m, np.nan)
        return np.zeros(m, dtype=bool), nan, nan, enough
    found, _late, before, after = _split_medians(dmin, valid)
    return found, before, after, enough


def _split_medians(d, valid):
    """:func:`_upward_split` of ``d`` (NaN where not ``valid``) and the medians either side.

    Returns ``found, late, before, after`` (the medians NaN where a side has no valid day).
    """
    found, late = _upward_split(d, valid)
    lo = np.sort(np.where(late, np.nan, d), axis=1)
    hi = np.sort(np.where(late, d, np.nan), axis=1)
    before = sorted_quantile(lo, (valid & ~late).sum(axis=1), 0.5)
    after = sorted_quantile(hi, (valid & late).sum(axis=1), 0.5)
    return found, late, before, after


def _stepped(found, before, after) -> np.ndarray:
    """Whether the median rose by ``ONSET_MIN_RATIO`` or more at an upward split."""
    with np.errstate(invalid="ignore"):
        return found & (after >= ONSET_MIN_RATIO * np.maximum(before, TINY))


def _upward_split(d, valid) -> tuple[np.ndarray, np.ndarray]:
    """Best upward least-squares split of each row: whether found, and the days after it."""
    m, n_days = d.shape
    d0 = np.where(valid, d, 0.0)
    c = np.cumsum(valid, axis=1)
    s = np.cumsum(d0, axis=1)
    n, total = c[:, -1:], s[:, -1:]
    c1, s1 = c[:, :-1], s[:, :-1]
    c2, s2 = n - c1, total - s1
    m1, m2 = s1 / np.maximum(c1, 1), s2 / np.maximum(c2, 1)
    gain = c1 * c2 / np.maximum(n, 1) * (m2 - m1) ** 2
    seg = _step_segment(n_days)
    allowed = (c1 >= seg) & (c2 >= seg) & valid[:, 1:] & (m2 > m1)
    gain = np.where(allowed, gain, -1.0)
    k = np.argmax(gain, axis=1)
    found = gain[np.arange(m), k] > 0
    late = np.arange(n_days)[None, :] > k[:, None]
    return found, late


def latest_regime(d, ok) -> np.ndarray:
    """The days of each row's latest regime: after its best upward split when the median
    rises there by ``ONSET_MIN_RATIO`` or more (a rig switched on), else every ``ok`` day.

    Parameters
    ----------
    d : ndarray, shape (meters, days)
        A daily value (e.g. each night's valley energy [kWh]).
    ok : ndarray of bool, shape (meters, days)
    """
    n_days = d.shape[1]
    if n_days < 2 * MIN_SEGMENT_DAYS:
        return ok
    found, late, before, after = _split_medians(np.where(ok, d, np.nan), ok)
    return np.where(_stepped(found, before, after)[:, None], ok & late, ok)


def refine_onset(onset, xh, ok, before, after, daily_row) -> np.ndarray:
    """Move the onset a day earlier when the day before already ends at the new level.

    The least-squares split puts a day switched on in the afternoon into the
    'before' segment; its last two hours at or above the midpoint between
    the two levels show the rigs were already running.
    """
    has = np.isfinite(onset) & ~daily_row
    if not has.any():
        return onset
    rows = np.flatnonzero(has)
    prev = onset[rows].astype(np.int64) - 1
    x3 = xh.reshape(xh.shape[0], -1, 24)
    mid = (before[rows] + after[rows]) / 48.0  # midpoint of the two levels [kW]
    late = x3[rows, prev][:, 22:24]
    earlier = (late >= mid[:, None]).all(axis=1) & ok[rows, prev]
    out = onset.copy()
    out[rows[earlier]] -= 1
    return out
