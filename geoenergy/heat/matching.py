"""Hour by hour: how much of each data centre's heat a network can actually take.

A network takes at most its demand in each hour, less the share its
existing plants must keep supplying (CHP under contract, boilers kept warm:
the *must-run* share). Several data centres on one network share what is
left in *merit order*: the one whose heat costs least at the margin (direct
use before a heat pump, a better COP before a worse one) goes first, the
next takes what remains, and heat beyond the demand is dumped (the data
centre's own cooling rejects it as today).

:func:`dispatch` does this for every network and hour at once; it never
lets a network take more than its capacity, and adding a data centre to a
network can only add heat where capacity is left.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dispatch", "marginal_cost_cny_per_mwh", "network_sum"]


def marginal_cost_cny_per_mwh(cop, electricity_price_cny_per_kwh: float):
    """Marginal cost of delivered heat: the heat pump's electricity per MWh [CNY/MWh].

    Parameters
    ----------
    cop : array_like
        Heating COP [-] (inf for direct use: cost 0).
    electricity_price_cny_per_kwh : float
        [CNY/kWh]

    Returns
    -------
    numpy.ndarray
        [CNY/MWh_th]
    """
    c = np.asarray(cop, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(np.isinf(c), 0.0, 1000.0 * electricity_price_cny_per_kwh / c)


def dispatch(supply_mw, site_network, capacity_mw, *, merit=None):
    """Heat each site delivers into its network's demand, hour by hour.

    Parameters
    ----------
    supply_mw : array_like
        ``(n_sites, n_hours)`` heat each site could deliver [MW] (>= 0; NaN = 0).
    site_network : array_like of int
        Network row of each site in ``capacity_mw``; -1 = not connected.
    capacity_mw : array_like
        ``(n_networks, n_hours)`` heat each network can take [MW] (demand
        less must-run; ``inf`` = unbounded).
    merit : array_like, optional
        Sort key per site, lower first (e.g. marginal cost, then route
        length as a tie-break via :func:`numpy.lexsort` beforehand). Default:
        the sites' order.

    Returns
    -------
    used : numpy.ndarray
        ``(n_sites, n_hours)`` [MW]; ``used <= supply`` and, summed over a
        network's sites, ``<= capacity`` in every hour.
    taken : numpy.ndarray
        ``(n_networks, n_hours)`` [MW], the heat each network takes.
    """
    q = np.nan_to_num(np.asarray(supply_mw, dtype=float), nan=0.0)
    if q.ndim != 2:
        raise ValueError(f"supply_mw must be (sites, hours), got shape {q.shape}.")
    if np.any(q < 0):
        raise ValueError("supply_mw must be >= 0 [MW].")
    net = np.asarray(site_network, dtype=np.int64)
    cap = np.asarray(capacity_mw, dtype=float)
    if cap.ndim != 2 or (len(cap) and cap.shape[1] != q.shape[1]):
        raise ValueError(
            f"capacity_mw must be (networks, {q.shape[1]} hours), got shape {cap.shape}."
        )
    if net.shape != (len(q),) or np.any(net >= len(cap)) or np.any(net < -1):
        raise ValueError("site_network must give one network row (or -1) per site.")
    if np.any(np.isnan(cap)) or np.any(cap < 0):
        raise ValueError("capacity_mw must be >= 0 (inf for unbounded), never NaN.")
    order = np.arange(len(q)) if merit is None else np.argsort(merit, kind="stable")
    remaining = cap.copy()
    used = np.zeros_like(q)
    for i in order:
        n = net[i]
        if n < 0:
            continue
        take = np.minimum(q[i], remaining[n])
        used[i] = take
        remaining[n] = remaining[n] - take
    return used, network_sum(used, net, len(cap))


def network_sum(values, site_network, n_networks: int):
    """Sum of per-site rows per network: ``(n_networks, n_hours)``; -1 sites count nowhere."""
    net = np.asarray(site_network, dtype=np.int64)
    onehot = (net[None, :] == np.arange(n_networks)[:, None]).astype(values.dtype)
    return onehot @ values
