"""Weather response: how a meter's daily energy follows the outdoor temperature.

The features of the *weather* family: ``temperature_sensitivity``,
``temperature_sensitivity_rel`` and ``temperature_corr`` (a PRISM-style
regression of daily energy on daily mean temperature, fitted jointly with
the level shift of the best upward split, and on the on-days of a
two-level meter), and ``heating_season_ratio``. Electric heating follows
the cold and pond aerators the warmth; a rig does not follow the weather,
which is what exonerates or implicates a night load. See
:data:`detectors.features.FEATURES` for the reasoning and references.
"""

from __future__ import annotations

import numpy as np

from detectors.features._reduce import MIN_SEGMENT_DAYS, TINY
from detectors.features._regimes import _stepped


def weather_features(energy, ok, off, split, cal, opts, res) -> None:
    """The temperature features and ``heating_season_ratio`` into ``res``.

    Parameters
    ----------
    energy : ndarray, shape (meters, days)
        Daily energy [kWh], NaN unless the day is complete.
    ok : ndarray of bool, shape (meters, days)
        Complete days.
    off : ndarray of bool, shape (meters, days)
        Off days of a two-level meter (:func:`detectors.features._regimes.off_days`).
    split : ndarray of int, shape (meters,)
        First day after the best upward split of daily energy, -1 if none
        (:func:`detectors.features._regimes.energy_step`).
    cal : detectors.features._calendar.Calendar
        Its ``temp`` [degC] (None without weather) and ``heating`` days.
    opts : detectors.features._kernel.Options
    res : dict
        Feature name -> values, filled in place.
    """
    # temperature: least-squares slope of daily energy on daily mean temperature
    if cal.temp is None:
        res["temperature_sensitivity"] = np.full(len(energy), np.nan)
        res["temperature_sensitivity_rel"] = np.full(len(energy), np.nan)
        res["temperature_corr"] = np.full(len(energy), np.nan)
    else:
        # On all days, and on the on-days of a two-level meter: a rig switched off on
        # some days makes the daily energy jump, and when its stops happen to fall on
        # warm days the jumps correlate with the weather although no kWh follows it.
        # The weaker of the two responses counts: the weather explains a load only
        # when it does within the days the load is on, too. A steadily weather-
        # driven load (a heater whose use triples over the winter, also "two-level")
        # keeps its response there; with under ``min_days`` on-days only all days count.
        t = cal.temp[None, :]
        tok = ok & np.isfinite(t)
        season = _season_onset(split, cal.heating)
        every = _new_load_response(energy, tok, t, split, season, opts.min_days)
        on = _new_load_response(energy, tok & ~off, t, split, season, opts.min_days)
        use_on = np.isfinite(on[0]) & (np.abs(on[0]) < np.abs(every[0]))
        corr, slope, rel = (np.where(use_on, a, b) for a, b in zip(on, every, strict=True))
        res["temperature_corr"] = corr
        res["temperature_sensitivity"] = slope
        res["temperature_sensitivity_rel"] = rel

    h = cal.heating[None, :]
    n_in, n_out = (ok & h).sum(axis=1), (ok & ~h).sum(axis=1)
    m_in = np.where(ok & h, energy, 0.0).sum(axis=1) / n_in
    m_out = np.where(ok & ~h, energy, 0.0).sum(axis=1) / n_out
    res["heating_season_ratio"] = np.where(
        (n_in >= MIN_SEGMENT_DAYS) & (n_out >= MIN_SEGMENT_DAYS) & (m_out > 0),
        m_in / m_out,
        np.nan,
    )


SEASON_ONSET_DAYS = 7
"""[days] A step this close to the first day of the heating season is taken for the
heating switched on with it (:func:`_new_load_response`)."""


def _season_onset(split, heating) -> np.ndarray:
    """Whether each meter's upward split falls within :data:`SEASON_ONSET_DAYS` of a
    first day of the heating season inside the window."""
    starts = np.flatnonzero(heating[1:] & ~heating[:-1]) + 1
    if not len(starts):
        return np.zeros(len(split), dtype=bool)
    near = np.abs(split[:, None] - starts[None, :]).min(axis=1) <= SEASON_ONSET_DAYS
    return (split >= 0) & near


def _new_load_response(energy, tok, t, split, season, min_days: int):
    """The weather response of a meter, or of the heating switched on with the season.

    A coal-to-electricity home switches its heaters on when the heating season
    starts, and on cold nights they run at their rated power, flat. Fitted over
    the whole window (:func:`_temperature_response`, jointly with the split), the
    autumn weeks before, which cool by 20 K while nothing follows them, dilute
    the response of the heating: on the sample city over September-January
    (seed 20231115) to a partial correlation of -0.43, and 41 of its 60 such
    homes were flagged; over the heating days alone it is -0.94. So where the
    daily energy steps up clearly (the mean after the split at least
    ``ONSET_MIN_RATIO`` times the mean before) within :data:`SEASON_ONSET_DAYS`
    of the first day of the heating season (``season``), the response of the
    days after the split (a plain regression: no regime left to hold fixed)
    counts instead, feature by feature, when it follows the cold more strongly.
    Only there: fitting every split's tail widened the spread of ordinary meters,
    which sets how much a response exonerates (the city over November-March,
    seed 101, AP 0.983 -> 0.900), and every clear step's tail explained away rigs
    added to farms' weather-driven loads (town, farm rigs flagged 4 -> 0 of 36).
    A rig switched on with the season is flat after its step and keeps the fit
    over all days; one hidden in a home heated from the same day is the case
    this cannot tell (as before).
    """
    n = energy.shape[1]
    after = tok & (np.arange(n)[None, :] >= split[:, None]) & (split >= 0)[:, None]
    before = tok & ~after & (split >= 0)[:, None]
    joint = _temperature_response(energy, tok, t, split, min_days)
    tail = _temperature_response(energy, after, t, np.full(len(energy), -1), min_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_before = np.where(before, energy, 0.0).sum(axis=1) / before.sum(axis=1)
        mean_after = np.where(after, energy, 0.0).sum(axis=1) / after.sum(axis=1)
    clear = _stepped(season, mean_before, mean_after)
    heats = clear & (tail[0] < 0) & np.isfinite(joint[0])  # NaN compares False
    return tuple(
        np.where(heats & (np.abs(a) > np.abs(b)), a, b) for a, b in zip(tail, joint, strict=True)
    )


def _temperature_response(energy, tok, t, split, min_days: int):
    """Response of daily energy to daily mean temperature over the days ``tok``.

    Least squares jointly with the best upward split (a regime dummy): a rig
    switched on in autumn raises the load while it gets colder, which a plain
    slope would read as electric heating. With the dummy only the day-to-day
    weather within each regime moves the slope.

    Returns
    -------
    corr, slope, rel : ndarray
        Partial correlation [-], slope [kWh/day per K] and slope over the mean
        daily energy [1/K]; NaN with fewer than ``min_days`` days.
    """
    n_t = tok.sum(axis=1)
    nt1 = np.maximum(n_t, 1)
    tm = np.where(tok, t, 0.0).sum(axis=1) / nt1
    em = np.where(tok, energy, 0.0).sum(axis=1) / nt1
    dt = np.where(tok, t - tm[:, None], 0.0)
    de = np.where(tok, energy - em[:, None], 0.0)
    after = tok & (np.arange(energy.shape[1])[None, :] >= split[:, None]) & (split >= 0)[:, None]
    am = after.sum(axis=1) / nt1
    da = np.where(tok, after - am[:, None], 0.0)
    stt, saa = (dt * dt).sum(axis=1), (da * da).sum(axis=1)
    sta, ste, sae = (dt * da).sum(axis=1), (dt * de).sum(axis=1), (da * de).sum(axis=1)
    joint = saa > 0.5  # both regimes hold days with a temperature
    sxx = np.where(joint, stt - sta * sta / np.where(joint, saa, 1.0), stt)
    slope = np.where(joint, ste - sta * sae / np.where(joint, saa, 1.0), ste) / sxx
    good = (n_t >= min_days) & (sxx > 1e-12)
    see = (de * de).sum(axis=1)
    see = np.where(joint, see - sae * sae / np.where(joint, saa, 1.0), see)
    corr = np.where(
        good, np.where(see > TINY * (em * em) * n_t, slope * np.sqrt(sxx / see), 0.0), np.nan
    )
    return corr, np.where(good, slope, np.nan), np.where(good & (em > 0), slope / em, np.nan)
