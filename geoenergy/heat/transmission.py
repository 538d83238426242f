"""Connection lines from data centres to a network: the tree, pipe sizes and their cost.

Several data centres near one network need not each lay their own pipe: as
in Hotmaps' excess-heat module, the lines form the *minimum-length tree*
over the sources and the network (whose entry points are joined at no cost,
being one distribution system already). A site then feeds either the
network directly or the line of a neighbour, and a line carries the heat of
every site behind it.

* :func:`connection_tree` -- the tree (Prim's algorithm on the complete
  graph of sites plus one network node).
* :func:`peak_flow` -- the peak of a flow averaged over a few hours, on
  which lines and plants are sized (Hotmaps: 3 hours, "district heating
  systems have a large heat capacity").
* :func:`line_cost_per_m` -- cost per metre by peak flow from Hotmaps'
  table (:data:`HOTMAPS_LINE_COST_EUR_PER_M`), escalated to current prices
  and converted to CNY; flows beyond the largest line use parallel lines.
* :func:`parallel_pipes` -- the pipe diameter and the number of parallel
  pipe pairs a flow needs within the design pressure drop.
"""

from __future__ import annotations

import numpy as np

from geoenergy.heat.economics import PIPE_SERIES, pipe_size

__all__ = [
    "HOTMAPS_LINE_COST_EUR_PER_M",
    "HOTMAPS_PRICE_YEAR",
    "connection_tree",
    "line_cost_per_m",
    "parallel_pipes",
    "peak_flow",
]

HOTMAPS_LINE_COST_EUR_PER_M: tuple[tuple[float, float], ...] = (
    (0.2, 195.0),
    (0.3, 206.0),
    (0.6, 220.0),
    (1.2, 240.0),
    (1.9, 261.0),
    (3.6, 288.0),
    (6.1, 323.0),
    (9.8, 357.0),
    (20.0, 426.0),
    (45.0, 564.0),
    (75.0, 701.0),
    (125.0, 839.0),
    (190.0, 976.0),
)
"""(capacity [MW], cost [EUR per metre of line]) of a transmission line below 150 degC:
the smallest line whose capacity covers the peak flow is built.

References
----------
Hotmaps project, "CM Excess heat transport potential", section "Computation of
costs", table "Specific costs of transmission lines used" (HotMaps/wiki,
en/CM-Excess-heat-transport-potential.md). The wiki gives no price year; the
project ran 2016-2020 and :data:`HOTMAPS_PRICE_YEAR` takes 2018.
"""

HOTMAPS_PRICE_YEAR = 2018
"""Price year assumed for :data:`HOTMAPS_LINE_COST_EUR_PER_M` (see its note)."""

RESULT_PRICE_YEAR = 2024
"""Price year of every cost the analysis reports (CNY of 2024)."""


def peak_flow(hourly_mw, hours: int = 3):
    """Peak of a flow averaged over ``hours`` consecutive hours.

    Parameters
    ----------
    hourly_mw : array_like
        ``(..., 8760)`` hourly flow [MW].
    hours : int
        Averaging window [h] (Hotmaps: 3).

    Returns
    -------
    float or numpy.ndarray
        [MW] per row.
    """
    q = np.asarray(hourly_mw, dtype=float)
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours!r}.")
    if q.shape[-1] < hours:
        return np.nanmax(q, axis=-1) if q.size else 0.0
    c = np.cumsum(np.nan_to_num(q), axis=-1)
    c = np.concatenate([np.zeros((*q.shape[:-1], 1)), c], axis=-1)
    avg = (c[..., hours:] - c[..., :-hours]) / hours
    out = avg.max(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def line_cost_per_m(
    peak_mw, *, escalation: float = 1.21, cny_per_eur: float = 7.8, factor: float = 1.0
):
    """Cost of a transmission line per metre for its peak flow, in current CNY.

    The smallest line of :data:`HOTMAPS_LINE_COST_EUR_PER_M` that carries the
    flow; above the largest (190 MW), ``ceil(flow / 190)`` parallel lines
    each sized for an equal share.

    Parameters
    ----------
    peak_mw : float or array_like
        Peak flow (averaged, see :func:`peak_flow`) [MW]; 0 = no line.
    escalation : float
        Price index ratio from :data:`HOTMAPS_PRICE_YEAR` to the result year [-].
    cny_per_eur : float
        [CNY/EUR]
    factor : float
        Local price level or sensitivity multiplier [-].

    Returns
    -------
    cost : numpy.ndarray
        [CNY/m]
    n_lines : numpy.ndarray of int
        Parallel lines (0 for no flow).
    """
    q = np.atleast_1d(np.asarray(peak_mw, dtype=float))
    if np.any(~np.isfinite(q)) or np.any(q < 0):
        raise ValueError("peak_mw must be finite and >= 0 [MW].")
    caps = np.array([c for c, _ in HOTMAPS_LINE_COST_EUR_PER_M])
    eur = np.array([e for _, e in HOTMAPS_LINE_COST_EUR_PER_M])
    n = np.where(q > 0, np.ceil(q / caps[-1] - 1e-12), 0).astype(np.int64)
    n = np.where(q > 0, np.maximum(n, 1), 0)
    each = np.where(n > 0, q / np.maximum(n, 1), 0.0)
    idx = np.minimum(np.searchsorted(caps, each - 1e-12, side="left"), len(caps) - 1)
    cost = np.where(n > 0, n * eur[idx], 0.0) * escalation * cny_per_eur * factor
    return cost, n


def parallel_pipes(heat_mw, delta_t_k, *, max_dp_pa_per_m=100.0, roughness_mm=0.05):
    """Diameter and number of parallel pipe pairs for a heat flow.

    A flow that even the largest DN of :data:`~geoenergy.heat.economics.PIPE_SERIES`
    cannot carry within the pressure-drop limit is split over ``n`` equal
    parallel pipe pairs (never one pipe at an impossible velocity).

    Parameters
    ----------
    heat_mw : float or array_like
        Peak heat flow [MW_th].
    delta_t_k : float or array_like
        Supply minus return temperature [K], > 0.
    max_dp_pa_per_m, roughness_mm : float
        See :func:`~geoenergy.heat.economics.pipe_size`.

    Returns
    -------
    dn : numpy.ndarray of int
        DN of each pipe (0: no flow).
    count : numpy.ndarray of int
        Number of parallel pipe pairs.
    """
    q, dt = np.broadcast_arrays(
        np.atleast_1d(np.asarray(heat_mw, dtype=float)),
        np.atleast_1d(np.asarray(delta_t_k, dtype=float)),
    )
    q, dt = q.ravel(), dt.ravel()
    flow = q > 0
    bad = flow & ~(np.isfinite(q) & np.isfinite(dt) & (dt > 0))
    if bad.any():
        raise ValueError(
            "heat_mw must be finite and delta_t_k (supply minus return) a finite number > 0 "
            f"[K] for every flow; got {q[bad][:3]} MW at {dt[bad][:3]} K. Check the network's "
            "supply_temp_c and return_temp_c."
        )
    dn = np.zeros(q.shape, dtype=np.int64)
    count = np.zeros(q.shape, dtype=np.int64)
    largest = max(PIPE_SERIES)
    if flow.any():
        dn[flow] = pipe_size(
            q[flow], dt[flow], max_dp_pa_per_m=max_dp_pa_per_m, roughness_mm=roughness_mm
        )
        count[flow] = 1
    # Only flows beyond the largest DN need more than one pipe pair (rare): search those.
    for i in np.flatnonzero(flow & (dn == largest)):
        # The largest pipe's capacity is linear enough in the flow for a first guess.
        k = 1
        while not _fits(q[i] / k, dt[i], largest, max_dp_pa_per_m, roughness_mm):
            k += 1 if k < 64 else k // 8
        d = int(
            pipe_size(q[i] / k, dt[i], max_dp_pa_per_m=max_dp_pa_per_m, roughness_mm=roughness_mm)[
                0
            ]
        )
        dn[i], count[i] = d, k
    return dn, count


def _fits(q, dt, dn, max_dp, rough):
    from geoenergy.heat.economics import CP_WATER, _pressure_drop

    mass = q * 1e6 / (CP_WATER * dt)
    return float(_pressure_drop(mass, PIPE_SERIES[dn].inner_m, rough / 1000.0)) <= max_dp


def connection_tree(site_xy, network_route_m, *, detour_factor: float = 1.3, max_edge_m=np.inf):
    """Minimum-length tree over the sites of one network and the network itself.

    Parameters
    ----------
    site_xy : array_like
        ``(n, 2)`` site coordinates in a metric CRS [m].
    network_route_m : array_like
        Route length from each site to its network entry point [m].
    detour_factor : float
        Route over straight-line length between two sites [-].
    max_edge_m : float
        Longer edges are not built [m].

    Returns
    -------
    parent : numpy.ndarray of int
        Per site the site whose line it feeds, or -1 for the network itself;
        -2 when the site cannot be reached within ``max_edge_m``.
    length_m : numpy.ndarray
        Length of each site's own line [m] (NaN for -2).

    Notes
    -----
    Prim's algorithm from the network node on the complete graph, ``O(n^2)``;
    a tree over the sites of one network (tens at most) is instant.
    """
    xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    route = np.asarray(network_route_m, dtype=float)
    n = len(xy)
    parent = np.full(n, -2, dtype=np.int64)
    length = np.full(n, np.nan)
    if n == 0:
        return parent, length
    best = np.where(route <= max_edge_m, route, np.inf)
    via = np.full(n, -1, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for _ in range(n):
        cand = np.where(done, np.inf, best)
        j = int(np.argmin(cand))
        if not np.isfinite(cand[j]):
            break
        done[j] = True
        parent[j], length[j] = via[j], best[j]
        d = np.hypot(*(xy - xy[j]).T) * detour_factor
        better = ~done & (d < best) & (d <= max_edge_m)
        best[better] = d[better]
        via[better] = j
    return parent, length
