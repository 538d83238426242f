"""Which PUE limit a data centre is held to, and the differential price it pays.

The limit depends on the site's status and on the assessment year: existing
data centres are held to 1.40 until 2025 and, from 2026, to 1.35 (Beijing's
2024-2027 plan for existing data centres charges a differential electricity
price above it); new and extended sites to the bands of 京发改规〔2021〕4号
by annual energy use. The values come from the one registry
:data:`geoenergy.heat.pue.PUE_LIMITS` and are chosen by
:func:`geoenergy.heat.pue.pue_limit`.

The surcharge as published: on the electricity above the limit, 0.2 CNY/kWh
when PUE exceeds the limit by up to one time the limit (PUE <= 2 x limit),
0.5 CNY/kWh beyond. It concerns existing data centres using 5 million kWh or
more a year, on the calendar-year average PUE.

Sources that could not be confirmed are marked ``"unverified"`` wherever a
limit is shown: the new-site bands 1.30 / 1.25 / 1.20 could not be found in
the local standard DB11/T 1139 (2023 edition), and 1.15 is in the sources
found a capacity offset for closing old sites, not a reward level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from geoenergy.errors import ConfigError
from geoenergy.heat.pue import PUE_LIMITS, pue_limit

__all__ = [
    "UNVERIFIED_LIMITS",
    "LimitConfig",
    "limit_for",
    "surcharge",
    "surcharge_rate",
]

UNVERIFIED_LIMITS = frozenset(
    {
        "beijing_new_below_10k_tce",
        "beijing_new_10k_20k_tce",
        "beijing_new_20k_30k_tce",
        "beijing_new_above_30k_tce",
        "beijing_reward",
    }
)
"""Limits whose values could not be confirmed from DB11/T 1139 (2023); shown as
"unverified" (see the module docstring)."""

_NEW_BANDS = (
    "beijing_new_below_10k_tce",
    "beijing_new_10k_20k_tce",
    "beijing_new_20k_30k_tce",
    "beijing_new_above_30k_tce",
)


def _default_bands():
    return [
        [10_000.0, PUE_LIMITS["beijing_new_below_10k_tce"].value],
        [20_000.0, PUE_LIMITS["beijing_new_10k_20k_tce"].value],
        [30_000.0, PUE_LIMITS["beijing_new_20k_30k_tce"].value],
    ]


@dataclass(frozen=True)
class LimitConfig:
    """PUE limits and the differential price; the ``[monitor]`` table of ``geoenergy.toml``.

    Attributes
    ----------
    existing : float
        Limit of existing sites before 2026 [-] (``beijing_existing``).
    existing_from_2026 : float
        Limit of existing sites from 2026 [-] (``beijing_existing_2026``).
    new_bands : list of [float, float]
        ``[upper bound of annual use [tce/yr], limit [-]]``, ascending.
    new_above : float
        Limit of new sites above the last band [-].
    surcharge_low_cny_per_kwh : float
        Price added to the electricity above the limit when PUE exceeds the
        limit by up to one time the limit [CNY/kWh].
    surcharge_high_cny_per_kwh : float
        The same beyond one time the limit [CNY/kWh].
    scope_min_kwh_per_yr : float
        Existing sites using less electricity a year are out of scope [kWh/yr].
    electricity_tce_per_mwh : float
        Standard coal per MWh of electricity at the equivalent (等价值) value,
        to band new sites by size [tce/MWh]; the default is that of
        :class:`geoenergy.heat.config.HeatConfig` (0.3007).
    default_status : str
        Status of a data centre whose layer row has none (``existing`` | ``new``).
    """

    existing: float = PUE_LIMITS["beijing_existing"].value
    existing_from_2026: float = PUE_LIMITS["beijing_existing_2026"].value
    new_bands: list = field(default_factory=_default_bands)
    new_above: float = PUE_LIMITS["beijing_new_above_30k_tce"].value
    surcharge_low_cny_per_kwh: float = 0.2
    surcharge_high_cny_per_kwh: float = 0.5
    scope_min_kwh_per_yr: float = 5_000_000.0
    electricity_tce_per_mwh: float = 0.3007
    default_status: str = "existing"

    @classmethod
    def from_dict(cls, data: dict | None, *, source: str = "[monitor]") -> LimitConfig:
        """A config from a TOML table; unknown keys are refused with the allowed ones."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(known)}.")
        cfg = cls(**data)
        if cfg.default_status not in ("existing", "new"):
            raise ConfigError(f"{source}: default_status must be 'existing' or 'new'.")
        for name in ("existing", "existing_from_2026", "new_above"):
            if not getattr(cfg, name) >= 1.0:
                raise ConfigError(f"{source}: {name}={getattr(cfg, name)!r}; a PUE limit is >= 1.")
        return cfg


def limit_for(status: str, year: int, annual_kwh: float, cfg: LimitConfig) -> dict:
    """The limit a site is held to in an assessment year, with its source.

    Parameters
    ----------
    status : {"existing", "new"}
    year : int
        Calendar year of the assessment.
    annual_kwh : float
        The site's annual facility electricity [kWh/yr] (banding of new sites).
    cfg : LimitConfig

    Returns
    -------
    dict
        ``value`` [-], ``name`` (key of ``PUE_LIMITS``), ``source``
        (``"verified"`` | ``"unverified"``), ``reference``, ``year``.
    """
    tce = max(float(annual_kwh or 0.0), 0.0) / 1000.0 * cfg.electricity_tce_per_mwh
    value = float(
        pue_limit(
            status,
            tce,
            existing=cfg.existing,
            year=year,
            existing_from_2026=cfg.existing_from_2026,
            new_bands=[tuple(b) for b in cfg.new_bands],
            new_above=cfg.new_above,
        )
    )
    if status == "existing":
        name = "beijing_existing_2026" if year >= 2026 else "beijing_existing"
    else:
        i = sum(1 for upper, _ in cfg.new_bands if tce >= upper)
        name = _NEW_BANDS[min(i, len(_NEW_BANDS) - 1)]
    ref = PUE_LIMITS[name]
    verified = ref.verified and name not in UNVERIFIED_LIMITS and value == ref.value
    return {
        "value": value,
        "name": name,
        "source": "verified" if verified else "unverified",
        "reference": ref.reference if value == ref.value else "configured in [monitor]",
        "year": int(year),
    }


def surcharge_rate(pue_value: float, limit: float, cfg: LimitConfig) -> float:
    """Differential price on the electricity above the limit [CNY/kWh].

    0 when PUE <= limit; ``cfg.surcharge_low_cny_per_kwh`` when PUE exceeds
    the limit by up to one time the limit (PUE - limit <= limit);
    ``cfg.surcharge_high_cny_per_kwh`` beyond.
    """
    if math.isnan(pue_value) or pue_value <= limit:
        return 0.0
    if pue_value - limit <= limit:
        return cfg.surcharge_low_cny_per_kwh
    return cfg.surcharge_high_cny_per_kwh


def surcharge(facility_kwh: float, it_kwh: float, limit: float, cfg: LimitConfig) -> dict:
    """Electricity above the limit and its differential price for one period.

    Parameters
    ----------
    facility_kwh, it_kwh : float
        Facility and IT electricity of the period [kWh].
    limit : float
        PUE limit [-].
    cfg : LimitConfig

    Returns
    -------
    dict
        ``pue`` [-], ``energy_above_limit_kwh`` = max(facility - limit x IT, 0)
        [kWh], ``rate_cny_per_kwh`` and ``surcharge_cny`` [CNY].
    """
    p = facility_kwh / it_kwh if it_kwh > 0 else float("nan")
    above = max(facility_kwh - limit * it_kwh, 0.0) if it_kwh > 0 else 0.0
    rate = surcharge_rate(p, limit, cfg)
    return {
        "pue": p,
        "energy_above_limit_kwh": above,
        "rate_cny_per_kwh": rate,
        "surcharge_cny": above * rate,
    }
