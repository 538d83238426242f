"""How much of a data centre's heat can be captured, and how hot it is.

Almost all electricity a server draws ends up as heat. How much of it can
be captured into a water loop, and at what temperature, depends on the
cooling technology. :data:`COOLING_TYPES` is the one table of source
temperatures and capture shares; every site may override both with the
``source_temp_c`` and ``capture_share`` columns of its layer row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "COOLING_TYPES",
    "SOURCE_TEMP_RANGE_C",
    "CoolingType",
    "heat_source",
    "recoverable_heat",
    "source_temp_problem",
]

SOURCE_TEMP_RANGE_C = (-30.0, 95.0)
"""Plausible temperature of captured data-centre heat [degC]: from free-cooled
outdoor air in a northern winter up to the hottest warm-water and two-phase
cooling loops (below boiling at ambient pressure). A value of 200 or more is
almost surely kelvin (303.15 K = 30 degC)."""


def source_temp_problem(value) -> str | None:
    """What is wrong with a source temperature [degC], or None when it is plausible.

    Parameters
    ----------
    value : float
        Source temperature [degC].

    Returns
    -------
    str or None
        A sentence naming the problem and the fix.
    """
    lo, hi = SOURCE_TEMP_RANGE_C
    try:
        v = float(value)
    except (TypeError, ValueError):
        return f"it must be a number in degC from {lo:g} to {hi:g}"
    if isinstance(value, bool) or not np.isfinite(v):
        return f"it must be a finite number in degC from {lo:g} to {hi:g} (got {value!r})"
    if v >= 200.0:
        return (
            f"{v:g} looks like kelvin; give degC ({v:g} K = {v - 273.15:.2f} degC), "
            f"a value from {lo:g} to {hi:g}"
        )
    if not lo <= v <= hi:
        return f"a data-centre heat source lies from {lo:g} to {hi:g} degC"
    return None


@dataclass(frozen=True)
class CoolingType:
    """Heat-source properties of one cooling technology.

    Attributes
    ----------
    source_temp_c : float
        Temperature of the captured heat at the heat-recovery interface
        (water leaving the recovery coils or the cooling loop) [degC].
    capture_share : float
        Share of the IT electrical power captured into that water [-].
    description, reference : str
    """

    source_temp_c: float
    capture_share: float
    description: str
    reference: str


COOLING_TYPES: dict[str, CoolingType] = {
    "air": CoolingType(
        30.0,
        0.85,
        "air-cooled halls; water coils in the warm return air",
        "Source 30 degC: hot-aisle air heats recovery water to 30-45 degC at Yandex "
        "Mäntsälä (DatacenterDynamics, 2015; Nebius 2024: 35-40 degC); air cooling delivers "
        "at most about 30 degC (P2H Computing, technical note, citing Umweltbundesamt). "
        "Capture 0.85: assumption (coils see nearly all server heat; some is lost to the "
        "building and electrical rooms).",
    ),
    "water": CoolingType(
        18.0,
        0.90,
        "chilled-water cooling; heat taken from the chilled-water return",
        "Source 18 degC: chilled water 10/18 degC at Tencent's Tianjin data centre, whose "
        "heat-recovery heat pumps use the return (jyclean case study, 2022). Capture 0.90: "
        "assumption (the chilled-water loop carries almost all of the hall's heat).",
    ),
    "liquid": CoolingType(
        55.0,
        0.75,
        "direct-to-chip (cold plate) warm-water cooling",
        "Source 55 degC: warm-water cooling delivers 45-60 degC (P2H Computing, citing "
        "Umweltbundesamt and VDI). Capture 0.75: cold plates take the processors' heat, "
        "memory, drives and power supplies stay air-cooled (assumption, order 70-80 %).",
    ),
    "immersion": CoolingType(
        45.0,
        0.95,
        "single-phase immersion in dielectric oil",
        "Capture 0.95: the Deep Green immersion system at Exmouth Leisure Centre captures "
        "about 96 % of the servers' heat (reported March 2023; another report says 90 %). "
        "Source 45 degC: assumption for a single-phase oil loop (40-50 degC).",
    ),
}
"""Cooling technology -> source temperature and capture share, with sources."""


def _check_heat_source(cooling, table):
    kinds = np.asarray(cooling, dtype=object)
    unknown = sorted({str(k) for k in np.atleast_1d(kinds) if k not in table})
    if unknown:
        raise ValueError(
            f"cooling must be one of {sorted(table)}; got {unknown}. Fix the data_centres "
            f"layer's cooling column or add the type to the configuration's cooling table."
        )
    return kinds


def heat_source(
    cooling,
    *,
    source_temp_c=None,
    capture_share=None,
    overrides: dict | None = None,
    capture_share_factor: float = 1.0,
    names=None,
):
    """Source temperature and capture share per site.

    Parameters
    ----------
    cooling : str or array_like of str
        Cooling type per site, a key of :data:`COOLING_TYPES`.
    source_temp_c : array_like, optional
        Per-site source temperature [degC]; NaN or None falls back to the table.
    capture_share : array_like, optional
        Per-site capture share [-]; NaN or None falls back to the table.
    overrides : dict, optional
        ``{cooling type: {"source_temp_c": ..., "capture_share": ...}}``
        replacing table entries (the configuration's ``cooling`` table).
    capture_share_factor : float
        Multiplier on the table's capture shares (not on per-site values),
        the result clipped to [0, 1]; for sensitivity runs.
    names : array_like of str, optional
        Site names, for error messages.

    Returns
    -------
    source_temp_c : numpy.ndarray
        [degC]
    capture_share : numpy.ndarray
        [-]

    References
    ----------
    See :data:`COOLING_TYPES`.
    """
    overrides = overrides or {}
    kinds = _check_heat_source(cooling, COOLING_TYPES)
    kinds = np.atleast_1d(kinds)
    t_table = np.array(
        [overrides.get(k, {}).get("source_temp_c", COOLING_TYPES[k].source_temp_c) for k in kinds],
        dtype=float,
    )
    s_table = np.array(
        [overrides.get(k, {}).get("capture_share", COOLING_TYPES[k].capture_share) for k in kinds],
        dtype=float,
    )
    s_table = np.clip(s_table * float(capture_share_factor), 0.0, 1.0)
    t = t_table
    s = s_table
    label = (
        np.asarray(names, dtype=object)
        if names is not None
        else np.array([f"row {i}" for i in range(len(kinds))], dtype=object)
    )
    if source_temp_c is not None:
        given = np.asarray(
            [np.nan if v is None else v for v in np.atleast_1d(source_temp_c)], dtype=float
        )
        # NaN means "not given" (an empty cell); inf or an implausible value is an error.
        for i in np.flatnonzero(~np.isnan(given)):
            problem = source_temp_problem(given[i])
            if problem:
                raise ValueError(
                    f"data centre {label[i]!s}: source_temp_c={float(given[i]):g} is not allowed; "
                    f"{problem}. Fix the data_centres layer's source_temp_c column (leave it "
                    f"empty to use the cooling type's value)."
                )
        t = np.where(np.isfinite(given), given, t_table)
    if capture_share is not None:
        given = np.asarray(
            [np.nan if v is None else v for v in np.atleast_1d(capture_share)], dtype=float
        )
        bad = ~np.isnan(given) & ~((given >= 0) & (given <= 1))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"data centre {label[i]!s}: capture_share={float(given[i]):g} is not allowed; "
                f"capture_share must lie in [0, 1]. Fix the site's capture_share column "
                f"(leave it empty to use the cooling type's value)."
            )
        s = np.where(np.isfinite(given), given, s_table)
    return t, s


def recoverable_heat(it_load_mw, capture_share):
    """Heat that can be captured from the IT load.

    Parameters
    ----------
    it_load_mw : float or array_like
        IT electrical load [MW] (a profile or its mean).
    capture_share : float or array_like
        Share of it captured into the recovery loop [-].

    Returns
    -------
    float or numpy.ndarray
        Recoverable heat [MW_th].
    """
    it = np.asarray(it_load_mw, dtype=float)
    s = np.asarray(capture_share, dtype=float)
    if np.any(it[np.isfinite(it)] < 0):
        raise ValueError("it_load_mw must be >= 0 [MW]; check the declared or metered load.")
    if np.any((s < 0) | (s > 1)):
        raise ValueError(f"capture_share must lie in [0, 1], got {s[(s < 0) | (s > 1)][:5]}.")
    out = it * s
    return float(out) if out.ndim == 0 else out
