"""Ranking waste-heat opportunities by a documented score.

:data:`SCORES` is the one registry of scores (name -> function); the
analysis uses ``"heat_per_cost"`` unless told otherwise. A site is ranked
only when it is *eligible*: a temperature-compatible network segment within
the search radius, a route no longer than the configured limit, and some
usable heat after losses. Ineligible sites keep their figures but get no
rank, and a reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SCORES", "eligibility", "rank", "score_heat_per_cost", "score_lcoh"]


def score_heat_per_cost(usable_heat_mwh, annual_cost_cny, **_):
    """Usable heat per annualised cost [MWh per 1,000 CNY/yr].

    ``score = usable net heat [MWh/yr] / (capex x CRF + yearly costs) [kCNY/yr]``
    -- the inverse of the levelised cost of heat, scaled to be readable.
    Higher is better. A longer connection costs more and loses more heat,
    so of two otherwise identical sites the nearer one always scores higher.

    Parameters
    ----------
    usable_heat_mwh : array_like
        Usable heat delivered to the network after losses [MWh_th/yr].
    annual_cost_cny : array_like
        Annualised capital plus yearly costs [CNY/yr].

    Returns
    -------
    numpy.ndarray
        Score [MWh per kCNY]; NaN where the cost is not positive.
    """
    q = np.asarray(usable_heat_mwh, dtype=float)
    c = np.asarray(annual_cost_cny, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, q / (np.where(c > 0, c, 1.0) / 1000.0), np.nan)


def score_lcoh(usable_heat_mwh, annual_cost_cny, **_):
    """Negative levelised cost of heat [-CNY/MWh] (higher is better)."""
    q = np.asarray(usable_heat_mwh, dtype=float)
    c = np.asarray(annual_cost_cny, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, -c / np.where(q > 0, q, 1.0), np.nan)


SCORES = {"heat_per_cost": score_heat_per_cost, "lcoh": score_lcoh}
"""Score name -> function(usable_heat_mwh, annual_cost_cny); higher is better."""


def eligibility(connected, route_length_m, usable_heat_mwh, *, max_connection_m: float):
    """Which sites can be ranked, and why the others cannot.

    Parameters
    ----------
    connected : array_like of bool
        A temperature-compatible segment was found within the search radius.
    route_length_m : array_like
        Estimated route length [m].
    usable_heat_mwh : array_like
        Usable net heat [MWh_th/yr].
    max_connection_m : float
        Longest route that is ranked [m].

    Returns
    -------
    eligible : numpy.ndarray of bool
    reason : numpy.ndarray of str
        Empty for eligible sites.
    """
    con = np.asarray(connected, dtype=bool)
    route = np.asarray(route_length_m, dtype=float)
    heat = np.asarray(usable_heat_mwh, dtype=float)
    reason = np.where(
        ~con,
        "no temperature-compatible network segment within the search radius",
        np.where(
            ~(route <= max_connection_m),
            f"route longer than max_connection_m={max_connection_m:g} m",
            np.where(~(heat > 0), "no usable heat after losses", ""),
        ),
    )
    return reason == "", reason


def rank(score, eligible, *, tiebreak=None) -> pd.array:
    """Rank 1 = best score among eligible sites; NA for the others.

    Parameters
    ----------
    score : array_like
        Higher is better.
    eligible : array_like of bool
    tiebreak : array_like, optional
        Ascending secondary key for equal scores (e.g. route length).

    Returns
    -------
    pandas.array of Int64
    """
    s = np.asarray(score, dtype=float)
    ok = np.asarray(eligible, dtype=bool) & np.isfinite(s)
    tb = np.zeros(len(s)) if tiebreak is None else np.asarray(tiebreak, dtype=float)
    order = np.lexsort((np.arange(len(s)), tb, -np.where(ok, s, -np.inf)))
    out = pd.array([pd.NA] * len(s), dtype="Int64")
    r = 1
    for i in order:
        if ok[i]:
            out[i] = r
            r += 1
    return out
