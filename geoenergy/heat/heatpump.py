"""Heat pumps that lift data-centre heat to the network's supply temperature.

The coefficient of performance is modelled as a fixed fraction (the
"quality grade" or second-law efficiency) of the Carnot COP between the
source and the sink temperature. The energy balance of the heat pump,
``heat delivered = heat taken from the source + electricity``, gives the
heat delivered per unit of source heat, ``COP / (COP - 1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KELVIN",
    "cop_carnot",
    "cop_carnot_fraction",
    "heat_delivered",
    "heat_pump",
    "heat_pump_electricity",
]

KELVIN = 273.15
"""0 degC in kelvin [K]."""


def _arr(x, name):
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or array of numbers, got {x!r}.") from None


def _out(a):
    return float(a) if np.ndim(a) == 0 else a


def _check_temps(t_source_c, t_sink_c):
    s = _arr(t_source_c, "t_source_c")
    k = _arr(t_sink_c, "t_sink_c")
    if np.any(s[np.isfinite(s)] <= -KELVIN) or np.any(k[np.isfinite(k)] <= -KELVIN):
        raise ValueError(
            "temperatures are in degrees Celsius and must be above -273.15 degC; "
            "did you pass kelvin?"
        )
    return s, k


def cop_carnot(t_source_c, t_sink_c):
    """Carnot (reversible) heating COP between two temperatures.

    ``COP = T_sink / (T_sink - T_source)`` in kelvin; infinite when the
    source is at least as hot as the sink (no lift needed).

    Parameters
    ----------
    t_source_c : float or array_like
        Source temperature [degC].
    t_sink_c : float or array_like
        Sink (delivery) temperature [degC].

    Returns
    -------
    float or numpy.ndarray
        Carnot COP [-].

    References
    ----------
    Çengel, Y. A. and Boles, M. A., Thermodynamics: An Engineering Approach,
    McGraw-Hill, chapter 6 (the Carnot heat pump).
    """
    s, k = _check_temps(t_source_c, t_sink_c)
    lift = k - s
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(lift > 0, (k + KELVIN) / np.where(lift > 0, lift, 1.0), np.inf)
    return _out(out)


def _check_fraction(carnot_fraction, cop_max):
    f = _arr(carnot_fraction, "carnot_fraction")
    if np.any((f <= 0) | (f > 1)):
        raise ValueError(
            f"carnot_fraction must lie in (0, 1] (a real heat pump reaches a fraction of the "
            f"Carnot COP, typically 0.4-0.6); got {carnot_fraction!r}."
        )
    if cop_max is not None and not cop_max > 1:
        raise ValueError(f"cop_max must be > 1 (a heating COP exceeds 1), got {cop_max!r}.")
    return f


def cop_carnot_fraction(t_source_c, t_sink_c, carnot_fraction=0.5, *, cop_max=None):
    """Heating COP as a fraction of the Carnot COP.

    ``COP = eta x T_sink / (T_sink - T_source)`` in kelvin; when ``cop_max``
    is given, capped there for tiny lifts (real machines do not approach the
    infinite Carnot COP of a zero lift).

    Parameters
    ----------
    t_source_c : float or array_like
        Source temperature [degC].
    t_sink_c : float or array_like
        Sink (delivery) temperature [degC].
    carnot_fraction : float or array_like
        Quality grade ``eta`` [-]. Default 0.5: large electric heat pumps in
        district heating reach roughly 40-60 % of the Carnot COP.
    cop_max : float, optional
        Upper bound [-].

    Returns
    -------
    float or numpy.ndarray
        COP [-]; infinite where there is no lift and no ``cop_max``.

    References
    ----------
    David, A., Mathiesen, B. V., Averfalk, H., Werner, S. and Lund, H. (2017).
    Heat Roadmap Europe: Large-scale electric heat pumps in district heating
    systems. Energies 10(4), 578.
    Jesper, M., Schlosser, F., Pag, F., Walmsley, T. G., Schmitt, B. and
    Vajen, K. (2021). Large-scale heat pumps: Uptake and performance modelling
    of market-available devices. Renewable and Sustainable Energy Reviews 137,
    110646.
    """
    f = _check_fraction(carnot_fraction, cop_max)
    c = np.asarray(cop_carnot(t_source_c, t_sink_c), dtype=float)
    out = f * c
    if cop_max is not None:
        out = np.minimum(out, float(cop_max))
    return _out(out)


def _check_cop(cop):
    c = _arr(cop, "cop")
    if np.any(c[np.isfinite(c) | np.isinf(c)] <= 1.0):
        raise ValueError(
            "cop must be > 1 to lift heat (COP = heat delivered / electricity); use direct "
            "heat exchange when no lift is needed."
        )
    return c


def heat_delivered(source_heat, cop):
    """Heat a heat pump delivers from a given source heat.

    ``Q_delivered = Q_source x COP / (COP - 1)`` (energy balance
    ``Q_delivered = Q_source + W`` with ``W = Q_delivered / COP``); equal to
    the source heat for an infinite COP (direct use).

    Parameters
    ----------
    source_heat : float or array_like
        Heat taken from the source [MW_th] or [MWh_th].
    cop : float or array_like
        Heating COP [-], > 1.

    Returns
    -------
    float or numpy.ndarray
        Heat delivered, same unit as ``source_heat``.
    """
    q = _arr(source_heat, "source_heat")
    c = _check_cop(cop)
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isinf(c), 1.0, c / (c - 1.0))
    return _out(q * ratio)


def heat_pump_electricity(delivered_heat, cop):
    """Electricity a heat pump draws to deliver some heat: ``Q / COP``.

    Parameters
    ----------
    delivered_heat : float or array_like
        Heat delivered [MW_th] or [MWh_th].
    cop : float or array_like
        Heating COP [-] (infinite: no heat pump, no electricity).

    Returns
    -------
    float or numpy.ndarray
        Electricity [MW_e] or [MWh_e].
    """
    q = _arr(delivered_heat, "delivered_heat")
    c = _check_cop(cop)
    return _out(np.where(np.isinf(c), 0.0, q / np.where(np.isinf(c), 1.0, c)))


def heat_pump(
    source_heat,
    t_source_c,
    t_sink_c,
    *,
    carnot_fraction=0.5,
    cop_max=8.0,
    hx_approach_k=3.0,
):
    """Direct use or heat pump: COP, heat delivered and electricity.

    A source at least ``hx_approach_k`` hotter than the sink is used
    directly through a heat exchanger; otherwise a heat pump with the
    Carnot-fraction COP lifts it to the sink temperature.

    Parameters
    ----------
    source_heat : float or array_like
        Captured heat [MW_th] (a profile or its mean) or [MWh_th].
    t_source_c, t_sink_c : float or array_like
        Source and sink temperature [degC].
    carnot_fraction : float
        Quality grade [-], see :func:`cop_carnot_fraction`.
    cop_max : float
        Upper bound on the COP [-].
    hx_approach_k : float
        Temperature drop across the heat exchanger for direct use [K].

    Returns
    -------
    dict
        ``direct_use`` (bool), ``cop`` [-] (inf for direct use),
        ``delivered`` (same unit as ``source_heat``) and ``electricity``
        ([MW_e] or [MWh_e]).
    """
    s, k = _check_temps(t_source_c, t_sink_c)
    if hx_approach_k < 0:
        raise ValueError(f"hx_approach_k must be >= 0 [K], got {hx_approach_k!r}.")
    direct = s - hx_approach_k >= k
    cop = np.where(
        direct,
        np.inf,
        np.asarray(cop_carnot_fraction(s, k, carnot_fraction, cop_max=cop_max), dtype=float),
    )
    if np.any(~direct & (cop <= 1.0)):
        raise ValueError(
            f"a heat pump cannot lift from {np.atleast_1d(s)[0]:g} to {np.atleast_1d(k)[0]:g} "
            f"degC with carnot_fraction={carnot_fraction!r}: its COP would be <= 1. Check the "
            f"temperatures or the quality grade."
        )
    q = _arr(source_heat, "source_heat")
    delivered = heat_delivered(q, cop)
    return {
        "direct_use": _out(direct) if np.ndim(direct) else bool(direct),
        "cop": _out(cop),
        "delivered": delivered,
        "electricity": heat_pump_electricity(delivered, cop),
    }
