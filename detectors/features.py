"""Load-signature features of electricity meters, for mining detection.

One registry, :data:`FEATURES`, names every feature with its unit, its
definition, why it separates crypto-mining from ordinary loads and from the
confounders that look like mining (coal-to-electricity night heating, large
households with an electric car, vacant homes, 24-hour shops, telecom base
stations, street lighting, continuous-process industry, aquaculture, data
centres), which direction is suspicious, and the words an inspector reads.
The same registry orders the columns of :func:`extract_features` and writes
``docs/features.md`` (``python -m detectors.features > docs/features.md``).

The computation is vectorised over meters and runs chunk by chunk on dask
(one meter chunk at a time, all of its time steps); the numeric kernels live
in :mod:`detectors._signature`. A meter's features never depend on the other
meters of the batch, except ``level_vs_peer`` when no :class:`PeerReference`
is given (it is then taken from the batch itself).

Examples
--------
>>> feats = extract_features(ds, weather=weather, groups=registry)  # doctest: +SKIP
>>> ref = peer_reference(feats, registry)  # doctest: +SKIP
>>> new = extract_features(ds_new, groups=registry, peer_reference=ref)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from detectors import _signature as sig

__all__ = [
    "FEATURES",
    "HEATING_SEASON",
    "STATUSES",
    "Feature",
    "PeerReference",
    "extract_features",
    "peer_reference",
    "render_markdown",
]


@dataclass(frozen=True)
class Feature:
    """One load-signature feature: what it is and how to read it.

    Attributes
    ----------
    name : str
        Column name in the output of :func:`extract_features`.
    unit : str
        ``"kW"``, ``"1"`` (dimensionless), ``"kWh/day/K"``, ...
    definition : str
        One sentence: how it is computed.
    why : str
        Why it separates mining from normal loads and from the confounders.
    suspicious : {"high", "low", "none"}
        Which direction points to mining ("none": it qualifies other
        features, for example by exonerating a confounder).
    phrase : str
        Words for an inspector, a :meth:`str.format` template with
        ``{value}``, e.g. ``"night/day ratio {value:.2f}"``.
    reference : str or None
        Literature or standard behind the definition, where one exists.
    """

    name: str
    unit: str
    definition: str
    why: str
    suspicious: str
    phrase: str
    reference: str | None = None


_LOAD_FACTOR_REF = (
    "Willis, H. L. (2004). Power Distribution Planning Reference Book, 2nd ed., "
    "Marcel Dekker (load factor = average load / peak load)."
)
_TOU_REF = (
    "National Development and Reform Commission (2021). 关于进一步完善分时电价机制的通知 "
    "(Notice on further improving the time-of-use tariff mechanism), 发改价格〔2021〕1093号."
)
_SUCCESSIVE_REF = (
    "von Neumann, J., Kent, R. H., Bellinson, H. R. and Hart, B. I. (1941). The mean square "
    "successive difference. Annals of Mathematical Statistics 12(2), 153-162."
)
_PRISM_REF = (
    "Fels, M. F. (1986). PRISM: an introduction. Energy and Buildings 9(1-2), 5-18 "
    "(regression of metered energy on outdoor temperature)."
)
_STEP_REF = (
    "Scott, A. J. and Knott, M. (1974). A cluster analysis method for grouping means in the "
    "analysis of variance. Biometrics 30(3), 507-512 (least-squares split, the first step of "
    "binary segmentation); Killick, R., Fearnhead, P. and Eckley, I. A. (2012). Optimal "
    "detection of changepoints with a linear computational cost. JASA 107(500), 1590-1598."
)

_F = [
    Feature(
        "mean_kw",
        "kW",
        "Mean load over the valid hours: kWh per hour averaged over every reading present "
        "(daily-only meters: daily energy / 24 h).",
        "ASIC rigs draw 3-3.5 kW each around the clock, so even one rig lifts a home far "
        "above the 0.3-0.5 kW of an ordinary household; data centres and continuous "
        "process plants are larger still, which is why the level is judged against the "
        "meter's peer group (level_vs_peer).",
        "high",
        "mean load {value:.2f} kW",
    ),
    Feature(
        "level_vs_peer",
        "1",
        "mean_kw divided by the median mean_kw of the meter's peer group (customer class, "
        "plus district or building use when given; a coarser group when the group has "
        "fewer than min_group_size meters).",
        "A rig in a home, shop or farm building multiplies the consumption typical of its "
        "class; large households and 24-hour shops exceed their peers too, but by less and "
        "with a varying, day-peaked shape, so this reads together with the shape features.",
        "high",
        "{value:.1f}x the median load of its {peer} peers",
    ),
    Feature(
        "contract_utilisation",
        "1",
        "mean_kw divided by the meter's contracted power [kW] (NaN where it is unknown).",
        "Customers size their contract for their peak, and ordinary loads average a small "
        "fraction of it; a rig that runs flat out around the clock keeps the average close "
        "to the contracted power, often above what a home or shop contract allows.",
        "high",
        "mean load {value:.0%} of contracted power",
    ),
    Feature(
        "load_factor",
        "1",
        "mean_kw divided by the largest hourly load.",
        "Mining runs at constant power, so its load factor is close to 1; homes, shops, "
        "offices and farms peak far above their mean (0.1-0.4). Telecom base stations, "
        "data centres and continuous processes are also flat, which level_vs_peer and "
        "the customer class separate.",
        "high",
        "load factor {value:.2f}",
        _LOAD_FACTOR_REF,
    ),
    Feature(
        "base_load_ratio",
        "1",
        "Median over complete days of the day's lowest hourly load (the base load), "
        "divided by mean_kw.",
        "A rig never switches off, so it sets a high floor under the load (ratio near 1); "
        "a household's floor is its fridge and standby, about a quarter of its mean. A "
        "valley-only rig does not lift the daytime floor (see valley_share). The median over "
        "days keeps off days (vacancy, price-driven stops) from setting it.",
        "high",
        "base load {value:.0%} of the mean load",
    ),
    Feature(
        "plateau_share",
        "1",
        "Share of valid hours whose load is at least 80 % of the meter's 90th-percentile "
        "hourly load (0 when that percentile is 0).",
        "A rig holds the load at its upper level hour after hour (share near 1, even with "
        "a household on top); ordinary loads reach their upper level only at peaks "
        "(0.1-0.3), 24-hour shops in opening hours (about half).",
        "high",
        "{value:.0%} of hours at its upper load level",
    ),
    Feature(
        "night_day_ratio",
        "1",
        "Mean load 00:00-05:00 local divided by mean load 10:00-16:00 local over complete "
        "days (the day mean floored at 1 % of mean_kw so that a load off all day stays "
        "finite).",
        "Rigs run at night as by day (ratio about 1) and valley-only rigs mostly at night "
        "(above 1); homes, shops, offices and farms use far less at night (0.2-0.6). Street "
        "lighting and coal-to-electricity heating are also night loads, which "
        "darkness_corr and temperature_sensitivity separate.",
        "high",
        "night/day load ratio {value:.2f}",
    ),
    Feature(
        "valley_share",
        "1",
        "Share of the energy of complete days consumed in the valley-tariff hours "
        "(default 23:00-07:00 local; a flat load gives 8/24 = 0.33).",
        "Price-aware miners concentrate their rigs in the cheap valley hours; ordinary "
        "homes use a fifth of their energy there. Electric-car charging and "
        "coal-to-electricity storage heaters also fill the valley, but vary from night to "
        "night (valley_night_cv) and with temperature.",
        "high",
        "{value:.0%} of energy in valley-tariff hours",
        _TOU_REF,
    ),
    Feature(
        "valley_night_cv",
        "1",
        "Coefficient of variation (std / mean) of the energy consumed in each night's valley "
        "hours, over nights between two complete days.",
        "A rig draws the same energy every night; storage heaters follow the outdoor "
        "temperature and start with the heating season, an electric car charges on some "
        "nights only, and households vary with occupancy.",
        "low",
        "night-to-night variation of valley energy {value:.0%}",
    ),
    Feature(
        "darkness_corr",
        "1",
        "Pearson correlation, over the hours of complete days, between the hourly load and "
        "darkness (the share of the hour with the sun below the horizon at the given latitude "
        "and longitude); 0 when the load does not vary.",
        "Street lighting is on exactly while it is dark and follows sunset and sunrise "
        "through the year (near 1). Valley-only rigs and storage heaters run on fixed clock "
        "hours and stay off in the dark evening (0.3-0.7), 24/7 rigs do not vary (near 0), "
        "homes peak in the evening (0.1-0.3) and shops by day (negative). Hourly, so a "
        "rising trend (heating season, an onset) does not pass for lengthening nights.",
        "none",
        "correlation with darkness {value:.2f}",
        "Duffie, J. A. and Beckman, W. A. (2013). Solar Engineering of Thermal Processes, "
        "4th ed., Wiley, sections 1.5-1.6 (declination, equation of time, sunset hour angle).",
    ),
    Feature(
        "hour_to_hour_variability",
        "1",
        "Mean absolute change between consecutive valid hours divided by mean_kw.",
        "A rig's power varies by about 1 % from hour to hour; cooking, lighting, opening "
        "hours and machine cycles make ordinary loads jump by tens of percent.",
        "low",
        "hour-to-hour change {value:.0%} of the mean load",
        _SUCCESSIVE_REF,
    ),
    Feature(
        "day_to_day_variability",
        "1",
        "Mean absolute change of daily energy between consecutive complete days in the same "
        "on/off state (day states as in off_day_share; all days are 'on' for a one-level "
        "meter) divided by the mean daily energy.",
        "A rig consumes the same every day; weekends, weather, occupancy and production "
        "plans make other loads vary. Price-driven miners who switch off on unprofitable "
        "days vary in whole-day blocks (intermittency), but are as steady as any rig from "
        "one on-day to the next, so the switches themselves are left out.",
        "low",
        "day-to-day change {value:.0%} of daily energy",
        _SUCCESSIVE_REF,
    ),
    Feature(
        "daily_periodicity",
        "1",
        "Standard deviation of the mean 24-hour profile (mean load at each local hour over "
        "the complete days) divided by its mean.",
        "Human activity gives homes, shops, offices and farms a pronounced daily cycle "
        "(0.4-0.9); a rig's constant draw has none (near 0) and flattens the cycle of the "
        "home or shop it hides in. Valley-only rigs create a cycle of their own, which "
        "valley_share shows.",
        "low",
        "daily cycle {value:.0%} of the mean load",
    ),
    Feature(
        "weekly_periodicity",
        "1",
        "Standard deviation of the seven weekday means of daily energy, after removing a "
        "centred 7-day moving mean, divided by the mean daily energy (NaN unless every "
        "weekday has 2 complete days).",
        "Offices, schools, shops and factories follow the working week; rigs, telecom "
        "stations and data centres do not, and a converted shop or office loses its weekly "
        "rhythm. The moving mean removes steps and seasonal trends, which would otherwise "
        "pass for a weekly pattern.",
        "low",
        "weekly cycle {value:.0%} of daily energy",
    ),
    Feature(
        "temperature_sensitivity",
        "kWh/day/K",
        "Least-squares slope of daily energy on the daily mean outdoor temperature, fitted "
        "jointly with a level shift at the best upward split of the daily energy (the split "
        "of step_ratio), so that only day-to-day weather within each regime moves it (NaN "
        "without weather). A two-level meter (see off_day_share) is also fitted on its "
        "on-days alone, when it has min_days of them, and the fit with the weaker "
        "correlation counts.",
        "Coal-to-electricity heating uses more on cold days (strongly negative), "
        "aquaculture and air-conditioned loads more on warm days (positive); a rig's "
        "consumption hardly depends on the weather (fans add a fraction of a percent "
        "per K). Without the level shift a rig switched on in autumn, while the weather "
        "cools, would pass for electric heating (-8 %/K); without the on-day fit a rig "
        "stopped on a few warm days would pass for one too, since only the switching "
        "follows the weather there.",
        "none",
        "{value:+.1f} kWh/day per degC warmer",
        _PRISM_REF,
    ),
    Feature(
        "temperature_sensitivity_rel",
        "1/K",
        "temperature_sensitivity divided by the mean daily energy.",
        "The same weather response as a share of the meter's own consumption, comparable "
        "between a home and a farm: -5 to -10 %/K for electric heating, +5 %/K for fish-pond "
        "aerators, near 0 for a rig.",
        "none",
        "{value:+.1%} per degC warmer",
        _PRISM_REF,
    ),
    Feature(
        "temperature_corr",
        "1",
        "Partial correlation of daily energy with the daily mean outdoor temperature, with "
        "the level shift of temperature_sensitivity held fixed, from the same fit (all days, "
        "or the on-days of a two-level meter; NaN without weather; 0 when the daily energy "
        "does not vary).",
        "Scale-free companion of temperature_sensitivity_rel: electric heating follows the "
        "cold day by day (-0.7 to -1), pond aerators, refrigeration and cooling the warmth "
        "(positive); a rig's daily energy is flat, and a price-driven rig's off days do not "
        "follow the weather, so its slope is noise and its correlation near 0. A load is "
        "weather-driven only when both are clearly away from 0.",
        "none",
        "daily energy correlates {value:+.2f} with outdoor temperature",
        _PRISM_REF,
    ),
    Feature(
        "heating_season_ratio",
        "1",
        "Mean daily energy on complete days inside the heating season (default "
        "15 Nov-15 Mar) divided by that outside it (NaN unless both have 7 complete days).",
        "Coal-to-electricity homes switch on electric heating when the heating season "
        "starts (several-fold); a rig switched on in the same weeks looks like a step too, "
        "but it does not follow the cold (temperature_sensitivity).",
        "none",
        "heating-season use {value:.1f}x the rest of the year",
    ),
    Feature(
        "step_ratio",
        "1",
        "Mean daily energy after the best upward least-squares split of the complete days "
        "(at least 7 days each side) divided by the mean before it (the before-mean floored "
        "at 1 % of the overall mean); 1 when there is no upward split.",
        "Installing rigs adds several kW overnight and for good: a sustained step up "
        "(2-20x in a home or shop); maintenance stops of a continuous process, holidays "
        "and weather change the level only for days or gradually. The heating season and "
        "a vacant home's return also step up (heating_season_ratio, idle_day_share).",
        "high",
        "load stepped up to {value:.1f}x its earlier level",
        _STEP_REF,
    ),
    Feature(
        "step_fit",
        "1",
        "Share of the variance of daily energy explained by that split (0 when there is no "
        "upward split).",
        "A real step (rigs switched on, a shop converted to mining) explains most of the "
        "day-to-day variation; the best split of a noisy or weekly-cycling load explains "
        "little. The onset date is reported when step_ratio >= 1.5 and step_fit >= 0.5.",
        "high",
        "the step explains {value:.0%} of the daily variation",
        _STEP_REF,
    ),
    Feature(
        "base_step_ratio",
        "1",
        "Median daily minimum hourly load after the best upward least-squares split of the "
        "daily minima (at least 7 complete days each side) divided by the median before it "
        "(floored at 1 % of mean_kw); 1 when there is no upward split.",
        "Rigs added to a factory, shop or farm raise the floor of the load for good, even "
        "when a shift pattern hides them in the daily energy; holidays, weekends and "
        "maintenance stops lower the daytime load for days but leave the nightly floor, and "
        "medians ignore short dips. Electric night heating lifts the floor too, but with the "
        "cold (temperature_sensitivity).",
        "high",
        "base load stepped up to {value:.1f}x its earlier level",
        _STEP_REF,
    ),
    Feature(
        "base_step_vs_peer",
        "1",
        "Rise of the base load at the split of base_step_ratio (median daily minimum after "
        "minus before [kW]) divided by the median mean_kw of the meter's peer group "
        "(as level_vs_peer); 0 when there is no upward split.",
        "New constant power in units of what a peer uses: rigs switched on in a home add "
        "3-30x a household's mean load for good, rigs hidden in a factory 0.5-3x a "
        "factory's; the floor of an ordinary load wanders by a few percent of its peers' "
        "level. Together with level_vs_peer it measures excess consumption: against the "
        "peers, or against the meter's own past.",
        "high",
        "a constant {value:.1f}x the median load of its {peer} peers appeared",
        _STEP_REF,
    ),
    Feature(
        "off_day_share",
        "1",
        "Share of complete days that are 'off' (daily energy below the midpoint of the "
        "meter's 10th and 90th percentile day) when the 90th percentile is at least twice "
        "the 10th; 0 otherwise.",
        "Price-driven miners stop their rigs on unprofitable days, so their days fall into "
        "two levels; ordinary loads have one level with weekly dips. Read with "
        "intermittency: vacancy gives one long off block, mining many short ones.",
        "none",
        "{value:.0%} of days switched off",
    ),
    Feature(
        "intermittency",
        "switches/30 day",
        "Number of on/off switches between consecutive complete days (day states as in "
        "off_day_share) per 30 pairs of consecutive days.",
        "Price-driven mining switches every few days (3-8 per 30 days); a vacant home or "
        "a maintenance stop switches once or twice, an office twice a week (see "
        "weekly_periodicity).",
        "none",
        "{value:.1f} on/off switches per 30 days",
    ),
    Feature(
        "idle_day_share",
        "1",
        "Share of complete days whose energy is at most 15 % of the meter's 90th-percentile day.",
        "Vacant homes show weeks of fridge-only or zero consumption, which makes their "
        "load flat and their return look like an onset; a rig never idles. High values "
        "exonerate flat or stepped loads.",
        "none",
        "{value:.0%} of days idle",
    ),
    Feature(
        "missing_share",
        "1",
        "Share of the expected readings in the dataset's time span that are missing.",
        "Data quality: every other feature rests on the readings present, so a detector "
        "can discount meters with many gaps; long gaps around an onset deserve a look at "
        "the meter itself (bypass, tampering).",
        "none",
        "{value:.0%} of readings missing",
    ),
]

FEATURES: dict[str, Feature] = {f.name: f for f in _F}
"""``{name: Feature}`` in output column order: the one registry of load features."""
del _F

HOURLY_FEATURES = frozenset(sig.HOURLY_FEATURES)
"""Features that need readings of 1 h or finer (NaN for daily-only meters)."""

HEATING_SEASON = ((11, 15), (3, 15))
"""Default heating season ((month, day) first day, (month, day) last day), Beijing.

References
----------
.. [1] 北京市供热采暖管理办法 (Beijing municipal measures on heating
   management, 2010): heating period 15 November to 15 March.
"""

STATUSES = {
    "ok": "every feature computed, except those NaN for the whole batch (listed with the reason "
    "in attrs['not_computed']); a suffix '; not computed: ...' names any other NaN feature "
    "and why",
    "daily_only": "readings coarser than 1 h: daily features computed, hourly ones NaN",
    "zero_load": "every reading is 0 kWh: only mean_kw, level_vs_peer, contract_utilisation "
    "and missing_share",
    "negative_readings": "some readings are below 0 kWh (contract: kwh >= 0): only missing_share",
    "insufficient_data": "fewer complete days than min_days: only mean_kw and missing_share",
    "no_data": "no reading at all: only missing_share",
}
"""``{status: meaning}`` of the ``status`` column; a status starts with one of these
words. Rows whose status starts with ``"ok"`` or ``"daily_only"`` carry usable features."""

_ONLY = {  # features kept for a meter whose status is not ok / daily_only
    "zero_load": ("mean_kw", "level_vs_peer", "contract_utilisation", "missing_share"),
    "negative_readings": ("missing_share",),
    "insufficient_data": ("mean_kw", "missing_share"),
    "no_data": ("missing_share",),
}


# -- peer reference ------------------------------------------------------------------


@dataclass
class PeerReference:
    """Median mean load [kW] of peer groups, the yardstick of ``level_vs_peer``.

    Built by :func:`peer_reference`; JSON-serialisable through
    :meth:`to_dict` / :meth:`from_dict` so a saved model carries it and
    scores new meters against the same yardstick.

    Attributes
    ----------
    columns : tuple of str
        Grouping columns, coarsest first (``customer_class``, then extras
        such as ``district`` or ``building_use``).
    min_group_size : int
        A group's median is used only when it has this many meters; else
        the next coarser group (dropping the last column). Groups of the
        coarsest column (the customer class) need only :data:`CLASS_MIN_SIZE`
        meters; below that, all meters.
    overall : tuple of (float, int)
        ``(median mean_kw [kW], number of meters)`` over all meters.
    levels : dict
        ``{k: {key tuple: (median [kW], n)}}`` for the groups formed by the
        first ``k`` columns, ``k = 1 .. len(columns)``.
    """

    columns: tuple[str, ...]
    min_group_size: int
    overall: tuple[float, int]
    levels: dict[int, dict[tuple, tuple[float, int]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain-JSON form (lists, str, float, int)."""
        return {
            "columns": list(self.columns),
            "min_group_size": int(self.min_group_size),
            "overall": {"median_kw": float(self.overall[0]), "n": int(self.overall[1])},
            "levels": [
                {
                    "columns": list(self.columns[:k]),
                    "groups": [
                        {"key": [str(v) for v in key], "median_kw": float(m), "n": int(n)}
                        for key, (m, n) in sorted(groups.items())
                    ],
                }
                for k, groups in sorted(self.levels.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PeerReference:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not {"columns", "overall", "levels"} <= set(data):
            raise ValueError(
                "data must be a dict from PeerReference.to_dict() with keys 'columns', "
                f"'min_group_size', 'overall' and 'levels', got {type(data).__name__} "
                f"{sorted(data) if isinstance(data, dict) else ''}."
            )
        columns = tuple(data["columns"])
        levels = {}
        for lev in data["levels"]:
            k = len(lev["columns"])
            levels[k] = {
                tuple(g["key"]): (float(g["median_kw"]), int(g["n"])) for g in lev["groups"]
            }
        o = data["overall"]
        return cls(
            columns=columns,
            min_group_size=int(data.get("min_group_size", 20)),
            overall=(float(o["median_kw"]), int(o["n"])),
            levels=levels,
        )

    def lookup(self, groups: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """Peer median [kW] and peer-group label of each meter.

        Parameters
        ----------
        groups : DataFrame
            Indexed by meter id; its columns must be the first columns of
            :attr:`columns` (missing values fall back to coarser groups).

        Returns
        -------
        median : Series of float
            Peer median mean load [kW].
        label : Series of str
            The group used, e.g. ``"customer_class=residential, district=北城区"``,
            or ``"all meters"``.
        """
        k_max = _check_groups_match(self, groups)
        median = np.full(len(groups), self.overall[0], dtype=float)
        label = np.full(len(groups), "all meters", dtype=object)
        done = np.zeros(len(groups), dtype=bool)
        for k in range(k_max, 0, -1):  # finest first
            cols = list(self.columns[:k])
            # A customer class is a peer group in its own right: a registered data
            # centre compared with all meters would be thousands of times "too high".
            # So the coarsest level needs only CLASS_MIN_SIZE meters.
            need = self.min_group_size if k > 1 else min(self.min_group_size, CLASS_MIN_SIZE)
            table = {key: m for key, (m, n) in self.levels.get(k, {}).items() if n >= need}
            if not table:
                continue
            ref_keys = [_SEP.join(key) for key in table]
            ref_labels = np.array(
                [", ".join(f"{c}={v}" for c, v in zip(cols, key, strict=True)) for key in table],
                dtype=object,
            )
            keys, present = _joined_keys(groups, cols)
            idx = pd.Index(ref_keys).get_indexer(keys)
            hit = present & (idx >= 0) & ~done
            median[hit] = np.fromiter(table.values(), dtype=float, count=len(table))[idx[hit]]
            label[hit] = ref_labels[idx[hit]]
            done |= hit
        return (
            pd.Series(median, index=groups.index, dtype=float),
            pd.Series(label, index=groups.index, dtype=object),
        )


CLASS_MIN_SIZE = 2
"""Meters a group of the coarsest level (the customer class) needs to be used."""

_SEP = "\x1f"  # joins the values of a group key into one hashable string


def _joined_keys(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One string key per row from ``cols``, and whether every value is present."""
    present = frame[cols].notna().all(axis=1).to_numpy()
    key = np.full(len(frame), "", dtype=object)
    for i, c in enumerate(cols):
        text = frame[c].astype("string").fillna("").to_numpy(dtype=object)
        key = key + (_SEP if i else "") + text
    return key, present


def _check_groups_match(ref: PeerReference, groups: pd.DataFrame) -> int:
    cols = tuple(groups.columns)
    if cols != ref.columns[: len(cols)]:
        raise ValueError(
            f"groups has columns {list(cols)}, but the peer_reference was built on "
            f"{list(ref.columns)}; pass groups with the columns {list(ref.columns)} (or a "
            "leading part of them, coarsest first), or rebuild the reference with "
            "peer_reference(features, groups)."
        )
    return len(cols)


def peer_reference(features, groups, *, min_group_size: int = 20) -> PeerReference:
    """Medians of mean load per peer group, to score meters independently of the batch.

    Parameters
    ----------
    features : DataFrame
        Output of :func:`extract_features` (needs ``mean_kw`` and
        ``status``), indexed by meter id. Only meters whose status starts
        with ``"ok"`` or ``"daily_only"`` count.
    groups : DataFrame, Series or None
        Grouping columns, coarsest first (``customer_class``, then e.g.
        ``district`` or ``building_use``), indexed by meter id or with a
        ``meter_id`` column; None: one group of all meters.
    min_group_size : int, default 20
        Groups smaller than this fall back to a coarser group when looked up.

    Returns
    -------
    PeerReference
    """
    groups = _check_peer_reference(features, groups, min_group_size)
    usable = _usable(features["status"]) & np.isfinite(features["mean_kw"].to_numpy(float))
    level = features.loc[usable, "mean_kw"].astype(float)
    overall = (float(level.median()) if len(level) else math.nan, len(level))
    levels: dict[int, dict[tuple, tuple[float, int]]] = {}
    columns: tuple[str, ...] = ()
    if groups is not None:
        columns = tuple(groups.columns)
        g = groups.reindex(level.index)
        values = level.to_numpy()
        for k in range(1, len(columns) + 1):
            keys, present = _joined_keys(g, list(columns[:k]))
            codes, uniques = pd.factorize(keys[present])
            v = values[present]
            order = np.lexsort((v, codes))  # by group, then by level
            n = np.bincount(codes, minlength=len(uniques))
            start = np.r_[0, np.cumsum(n)[:-1]]
            srt = v[order]
            med = (srt[start + (n - 1) // 2] + srt[start + n // 2]) / 2 if len(n) else n
            levels[k] = {
                tuple(u.split(_SEP)): (float(m), int(c))
                for u, m, c in zip(uniques, med, n, strict=True)
            }
    return PeerReference(columns, int(min_group_size), overall, levels)


def _usable(status: pd.Series) -> np.ndarray:
    s = status.astype(str)
    return (s.str.startswith("ok") | s.str.startswith("daily_only")).to_numpy()


def _check_peer_reference(features, groups, min_group_size):
    if not isinstance(features, pd.DataFrame):
        raise TypeError(
            "features must be the DataFrame returned by extract_features, got "
            f"{type(features).__name__}."
        )
    missing = {"mean_kw", "status"} - set(features.columns)
    if missing:
        raise ValueError(
            f"features lacks the column(s) {sorted(missing)}; pass the DataFrame returned by "
            "extract_features(ds)."
        )
    if (
        isinstance(min_group_size, bool)
        or not isinstance(min_group_size, numbers.Integral)
        or min_group_size < 1
    ):
        raise ValueError(
            f"min_group_size must be a positive int, got {min_group_size!r}; the default is 20."
        )
    return _normalise_groups(groups, features.index)


def _normalise_groups(groups, index: pd.Index) -> pd.DataFrame | None:
    """``groups`` as a DataFrame indexed like ``index`` (meter ids), or None."""
    if groups is None:
        return None
    if isinstance(groups, pd.Series):
        groups = groups.to_frame(groups.name if groups.name is not None else "group")
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(
            "groups must be a DataFrame or Series indexed by meter id (or with a meter_id "
            f"column), got {type(groups).__name__}; e.g. registry[['meter_id', "
            "'customer_class', 'district']]."
        )
    if "meter_id" in groups.columns:
        groups = groups.set_index("meter_id")
    if groups.shape[1] == 0:
        raise ValueError(
            "groups has no grouping column; pass e.g. registry[['meter_id', 'customer_class']]."
        )
    groups.index = groups.index.astype(str)
    if groups.index.has_duplicates:
        dup = groups.index[groups.index.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"groups lists some meter ids more than once (e.g. {dup}); keep one row per meter, "
            "e.g. groups.drop_duplicates('meter_id')."
        )
    return groups.reindex(pd.Index(index).astype(str))


# -- extraction ----------------------------------------------------------------------


def extract_features(
    ds,
    *,
    weather=None,
    groups=None,
    peer_reference=None,
    valley_hours=(23, 7),
    min_days: int = 14,
    min_group_size: int = 20,
    contracted_kw=None,
    heating_season=HEATING_SEASON,
    latitude: float = 39.9,
    longitude: float = 116.4,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Load-signature features of every meter, one row per meter.

    Parameters
    ----------
    ds : xarray.Dataset
        Variable ``kwh`` [kWh per step], dims ``("meter", "time")``, as from
        :func:`geoenergy.readings.open_readings`: ``time`` naive UTC (start of
        step), a ``local_time`` coordinate (naive local time) and
        ``attrs["timezone"]``, ``attrs["step_s"]`` [s]. Without
        ``local_time``, ``time`` is converted to ``attrs["timezone"]``;
        without either it is taken as local time. Steps finer than 1 h are
        summed into hours (an hour is missing unless all its readings are
        present); a daily dataset, or meters whose ``interval_s`` coordinate
        is above 3600 s, get the daily features only (status
        ``daily_only``). NumPy- or dask-backed; dask arrays are processed
        chunk by chunk over meters (time is merged into one chunk).
    weather : DataFrame, optional
        ``date`` (local date) and ``temp_c`` (daily mean air temperature
        [degC]). Without it the temperature features are NaN.
    groups : DataFrame or Series, optional
        Peer-group columns, coarsest first (``customer_class``, then e.g.
        ``district`` or ``building_use``), indexed by meter id or with a
        ``meter_id`` column. None uses the ``customer_class`` coordinate of
        ``ds`` when present, else one group of all meters.
    peer_reference : PeerReference, optional
        Peer medians from :func:`peer_reference` (for example from the
        training data of a saved model), so ``level_vs_peer`` does not depend
        on the batch. None computes them from this batch.
    valley_hours : (int, int), default (23, 7)
        Local start and end hour of the valley tariff, ``[start, end)``;
        may wrap midnight.
    min_days : int, default 14
        Complete days a meter needs (at least 14: the step search needs 7 on
        each side); fewer gives status ``insufficient_data``.
    min_group_size : int, default 20
        Smallest peer group whose median is used (when computing the
        reference from this batch).
    contracted_kw : Series or mapping, optional
        Contracted power per meter id [kW]; None uses a ``contracted_kw``
        coordinate of ``ds`` when present.
    heating_season : ((int, int), (int, int)), default ((11, 15), (3, 15))
        First and last (month, day) of the heating season.
    latitude, longitude : float, default 39.9, 116.4
        Where the sun rises and sets for ``darkness_corr`` [deg north, deg
        east] (Beijing by default; a city's extent changes it by minutes).
    n_jobs : int, default -1
        Threads over slices of meters for an in-memory array (-1: one per
        core; 1: none). The kernels are NumPy reductions that release the GIL,
        so threads share the work without copying it; the result is the same
        whatever the number. A dask array is computed by dask's scheduler
        instead (its blocks are the unit of parallel work).

    Returns
    -------
    DataFrame
        Indexed by meter id (``"meter_id"``): the :data:`FEATURES` columns in
        registry order, ``status`` (str, see :data:`STATUSES`) and
        ``onset_date`` (local date of a detected step onset, NaT if none).
        ``attrs["not_computed"]`` maps features NaN for the whole batch to
        the reason (no weather, no contracted power, span outside the
        heating season).

    Examples
    --------
    >>> feats = extract_features(pop.readings, weather=pop.weather)  # doctest: +SKIP
    >>> feats.loc[feats.status.str.startswith("ok"), "night_day_ratio"].describe()  # doctest: +SKIP
    """
    args = _check_extract_features(
        ds,
        weather,
        groups,
        peer_reference,
        valley_hours,
        min_days,
        min_group_size,
        contracted_kw,
        heating_season,
        latitude,
        longitude,
        n_jobs,
    )
    kwh, meter_ids, cal, row_interval, groups, contracted, threads = args
    opts = sig.Options(
        valley_hours=(int(valley_hours[0]), int(valley_hours[1])),
        min_days=int(min_days),
    )
    out = _compute(kwh, cal, opts, row_interval, threads)
    return _assemble(
        out,
        meter_ids,
        cal,
        groups,
        peer_reference,
        int(min_group_size),
        contracted,
        int(min_days),
    )


def _compute(kwh, cal, opts, row_interval: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """The kernel over all meters: (n_meters, len(sig.COLUMNS)) float64."""
    k = len(sig.COLUMNS)
    if _is_dask(kwh):
        import dask.array as da

        x = kwh if len(kwh.chunks[1]) == 1 else kwh.rechunk({1: -1})
        iv = da.from_array(row_interval[:, None], chunks=(x.chunks[0], (1,)))
        res = da.map_blocks(
            _block,
            x,
            iv,
            cal=cal,
            opts=opts,
            chunks=(x.chunks[0], (k,)),
            dtype=np.float64,
            meta=np.empty((0, 0), dtype=np.float64),
        )
        return np.asarray(res.compute())
    return sig.block_features(np.asarray(kwh), cal, opts, row_interval, n_jobs=n_jobs)


def _block(x, iv, *, cal, opts):
    return sig.block_features(np.asarray(x, dtype=np.float64), cal, opts, iv[:, 0])


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


def _assemble(out, meter_ids, cal, groups, ref, min_group_size, contracted, min_days):
    """Kernel output -> the feature table: status texts, peer level, onset dates.

    Works on NumPy arrays (loops over features and statuses, never over
    meters) and builds the DataFrame once at the end.
    """
    col = {c: i for i, c in enumerate(sig.COLUMNS)}
    names = list(FEATURES)
    fcol = {name: j for j, name in enumerate(names)}
    n = len(meter_ids)
    index = pd.Index(meter_ids, name="meter_id")
    feats = np.full((n, len(names)), np.nan)
    for name, j in fcol.items():
        if name in col:
            feats[:, j] = out[:, col[name]]
    code = out[:, col["_status"]].astype(int)
    n_days = out[:, col["_n_days"]]
    n_neg = out[:, col["_n_negative"]]
    mean_kw = feats[:, fcol["mean_kw"]]

    not_computed: dict[str, str] = {}
    n_temp = 0 if cal.temp is None else int(np.isfinite(cal.temp).sum())
    if n_temp < min_days:
        reason = (
            "no weather given (pass weather=DataFrame with date, temp_c)"
            if cal.temp is None
            else f"weather covers {n_temp} days of the span, need {min_days}"
        )
        not_computed["temperature_sensitivity"] = reason
        not_computed["temperature_sensitivity_rel"] = reason
        not_computed["temperature_corr"] = reason
    if not cal.heating.any() or cal.heating.all():
        not_computed["heating_season_ratio"] = (
            "the time span does not cover days both inside and outside the heating season"
        )
    if cal.daily:
        for name in sig.HOURLY_FEATURES:
            not_computed[name] = "the dataset is daily; hourly features need 1 h readings"
    with np.errstate(divide="ignore", invalid="ignore"):
        if contracted is None:
            not_computed["contract_utilisation"] = (
                "no contracted power (pass contracted_kw=registry.set_index('meter_id')"
                ".contracted_kw)"
            )
        else:
            c = contracted.to_numpy(dtype=float)
            feats[:, fcol["contract_utilisation"]] = np.where(c > 0, mean_kw / c, np.nan)

    # status texts (vectorised over meters, loops over statuses and features only)
    status = np.full(n, "ok", dtype=object)
    status[code == sig.DAILY_ONLY] = "daily_only: hourly features need readings of 1 h or finer"
    status[code == sig.ZERO_LOAD] = "zero_load: every reading is 0 kWh"
    neg = code == sig.NEGATIVE
    status[neg] = (
        "negative_readings: "
        + n_neg[neg].astype(int).astype(str).astype(object)
        + " readings below 0 kWh"
    )
    ins = code == sig.INSUFFICIENT
    status[ins] = (
        "insufficient_data: "
        + n_days[ins].astype(int).astype(str).astype(object)
        + f" complete days of data, need {min_days}"
    )
    status[code == sig.NO_DATA] = "no_data: every reading is missing"

    # peer level: reference from the batch unless given
    if ref is None:
        light = pd.DataFrame({"mean_kw": mean_kw, "status": status}, index=index)
        ref = peer_reference(light, groups, min_group_size=min_group_size)
    median = np.full(n, ref.overall[0]) if groups is None else ref.lookup(groups)[0].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        feats[:, fcol["level_vs_peer"]] = np.where(median > 0, mean_kw / median, np.nan)
        feats[:, fcol["base_step_vs_peer"]] = np.where(
            median > 0, out[:, col["_base_step_kw"]] / median, np.nan
        )

    # features a status does not keep
    for st, keep in _ONLY.items():
        rows = code == sig.STATUS_CODES[st]
        if rows.any():
            drop = [fcol[f] for f in names if f not in keep]
            feats[np.ix_(rows, drop)] = np.nan
    daily_rows = code == sig.DAILY_ONLY
    hourly_cols = [fcol[f] for f in sig.HOURLY_FEATURES]
    if daily_rows.any():
        feats[np.ix_(daily_rows, hourly_cols)] = np.nan

    # name the features NaN for a usable meter, beyond the batch-level reasons
    usable = (code == sig.OK) | daily_rows
    notes = np.full(n, "", dtype=object)
    missing = np.isnan(feats)
    for name, j in fcol.items():
        if name in not_computed:
            continue
        rows = usable & ~daily_rows if name in sig.HOURLY_FEATURES else usable
        miss = rows & missing[:, j]
        if miss.any():
            why = _NAN_REASONS.get(name, "not computable from the readings present")
            notes[miss] = notes[miss] + np.where(notes[miss] == "", "", ", ") + f"{name} ({why})"
    has = notes != ""
    status[has] = status[has] + "; not computed: " + notes[has]

    onset = out[:, col["_onset_day"]]
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok_on = np.isfinite(onset) & usable
    dates[ok_on] = cal.dates[onset[ok_on].astype(int)].astype("datetime64[ns]")

    frame = pd.DataFrame(feats, index=index, columns=names)
    frame["status"] = status
    frame["onset_date"] = dates
    frame.attrs["not_computed"] = not_computed
    return frame


_NAN_REASONS = {
    "contract_utilisation": "contracted power unknown for this meter",
    "level_vs_peer": "peer median is 0 or unknown",
    "valley_night_cv": "needs 7 nights between complete days and non-zero valley energy",
    "daily_periodicity": "needs 7 complete days and a non-zero mean profile",
    "weekly_periodicity": "needs 2 complete days of every weekday",
    "day_to_day_variability": "needs 7 pairs of consecutive complete days",
    "temperature_sensitivity": "fewer than min_days complete days with a temperature",
    "temperature_sensitivity_rel": "fewer than min_days complete days with a temperature",
    "temperature_corr": "fewer than min_days complete days with a temperature",
    "heating_season_ratio": "needs 7 complete days inside and 7 outside the heating season",
    "intermittency": "needs 7 pairs of consecutive complete days",
    "night_day_ratio": "no complete day",
    "darkness_corr": "needs 7 complete days",
}


# -- input checks --------------------------------------------------------------------


def _check_extract_features(
    ds,
    weather,
    groups,
    ref,
    valley_hours,
    min_days,
    min_group_size,
    contracted_kw,
    heating_season,
    latitude,
    longitude,
    n_jobs,
):
    import os

    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(
            f"ds must be an xarray.Dataset with variable 'kwh', got {type(ds).__name__}; "
            "open one with geoenergy.readings.open_readings(ws) or wrap a DataArray with "
            "da.to_dataset(name='kwh')."
        )
    if "kwh" not in ds.data_vars:
        raise ValueError(
            f"ds has no variable 'kwh' (it has {sorted(map(str, ds.data_vars))}); rename the "
            "energy variable, e.g. ds.rename({'energy': 'kwh'})."
        )
    kwh = ds["kwh"]
    if kwh.dims != ("meter", "time"):
        fix = (
            "ds.transpose('meter', 'time')"
            if set(kwh.dims) == {"meter", "time"}
            else "ds.rename({...}) to dims ('meter', 'time')"
        )
        raise ValueError(f"ds.kwh must have dims ('meter', 'time'), got {kwh.dims}; use {fix}.")
    if not np.issubdtype(kwh.dtype, np.number) or np.issubdtype(kwh.dtype, np.complexfloating):
        raise TypeError(
            f"ds.kwh must be numeric [kWh], got dtype {kwh.dtype}; convert with "
            "ds['kwh'] = ds.kwh.astype('float64')."
        )
    if ds.sizes["time"] < 1:
        raise ValueError("ds has no time step (dim 'time' has size 0); select a time span.")
    if not (
        isinstance(valley_hours, tuple | list)
        and len(valley_hours) == 2
        and all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and 0 <= h <= 23
            for h in valley_hours
        )
        and valley_hours[0] != valley_hours[1]
    ):
        raise ValueError(
            f"valley_hours must be two different whole local hours (start, end) in 0..23, "
            f"got {valley_hours!r}; e.g. (23, 7) for 23:00-07:00."
        )
    if isinstance(min_days, bool) or not isinstance(min_days, numbers.Integral) or min_days < 14:
        raise ValueError(
            f"min_days must be an int of at least 14 (the step search needs 7 complete days "
            f"on each side), got {min_days!r}."
        )
    if not isinstance(latitude, numbers.Real) or not -66.0 < float(latitude) < 66.0:
        raise ValueError(
            f"latitude must be a number of degrees north between -66 and 66 (beyond the polar "
            f"circles the sun need not set), got {latitude!r}."
        )
    if not isinstance(longitude, numbers.Real) or not -180.0 <= float(longitude) <= 180.0:
        raise ValueError(
            f"longitude must be a number of degrees east between -180 and 180, got {longitude!r}."
        )
    season = _check_heating_season(heating_season)
    if ref is not None and not isinstance(ref, PeerReference):
        raise TypeError(
            f"peer_reference must be a PeerReference from peer_reference(...) or "
            f"PeerReference.from_dict(...), got {type(ref).__name__}."
        )
    if (
        isinstance(min_group_size, bool)
        or not isinstance(min_group_size, numbers.Integral)
        or min_group_size < 1
    ):
        raise ValueError(f"min_group_size must be a positive int, got {min_group_size!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be a positive number of threads or -1 (one per core), got {n_jobs!r}."
        )
    if n_jobs > 0:
        threads = int(n_jobs)
    elif hasattr(os, "sched_getaffinity"):  # the cores this process may run on
        threads = len(os.sched_getaffinity(0))
    else:
        threads = os.cpu_count() or 1

    meter_ids = np.asarray(ds["meter"].values).astype(str)
    if pd.Index(meter_ids).has_duplicates:
        raise ValueError("ds.meter has duplicate meter ids; each meter must appear once.")
    temp = _check_weather(weather)

    cal = sig.build_calendar(
        ds,
        temp=temp,
        heating_season=season,
        latitude=float(latitude),
        longitude=float(longitude),
    )

    if "interval_s" in ds.coords and ds["interval_s"].dims == ("meter",):
        row_interval = np.asarray(ds["interval_s"].values, dtype=np.float64)
        row_interval = np.where(row_interval > 0, row_interval, cal.step_s)
    else:
        row_interval = np.full(len(meter_ids), float(cal.step_s))

    # The customer_class coordinate stands in for groups, unless a given reference
    # was built without it (then every meter is compared with all meters).
    uses_class = ref is None or ref.columns[:1] == ("customer_class",)
    if (
        groups is None
        and uses_class
        and "customer_class" in ds.coords
        and ds["customer_class"].dims == ("meter",)
    ):
        groups = pd.DataFrame(
            {"customer_class": np.asarray(ds["customer_class"].values).astype(str)},
            index=meter_ids,
        )
    groups = _normalise_groups(groups, pd.Index(meter_ids))
    if ref is not None and groups is not None:
        _check_groups_match(ref, groups)

    contracted = _check_contracted(contracted_kw, ds, meter_ids)
    return kwh.data, meter_ids, cal, row_interval, groups, contracted, threads


def _check_heating_season(season):
    try:
        (m0, d0), (m1, d1) = season
        pd.Timestamp(2024, int(m0), int(d0))
        pd.Timestamp(2024, int(m1), int(d1))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"heating_season must be ((month, day), (month, day)) of its first and last day, "
            f"got {season!r}; e.g. ((11, 15), (3, 15))."
        ) from exc
    return (int(m0), int(d0)), (int(m1), int(d1))


def _check_weather(weather):
    if weather is None:
        return None
    if not isinstance(weather, pd.DataFrame):
        raise TypeError(
            f"weather must be a DataFrame with columns date, temp_c [degC], got "
            f"{type(weather).__name__}."
        )
    missing = {"date", "temp_c"} - set(weather.columns)
    if missing:
        raise ValueError(
            f"weather lacks the column(s) {sorted(missing)} (it has {list(weather.columns)}); "
            "it needs date (local date) and temp_c (daily mean [degC])."
        )
    try:
        dates = pd.to_datetime(weather["date"]).dt.normalize()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"weather.date must hold dates like '2023-11-15': {exc}; fix or drop those rows."
        ) from exc
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    temp = pd.to_numeric(weather["temp_c"], errors="coerce")
    bad = temp.isna() & weather["temp_c"].notna()
    if bad.any():
        raise ValueError(
            f"weather.temp_c must be numbers [degC]; {int(bad.sum())} value(s) are not, e.g. "
            f"{weather.loc[bad, 'temp_c'].iloc[0]!r}."
        )
    if dates.duplicated().any():
        d = dates[dates.duplicated()].iloc[0]
        raise ValueError(
            f"weather lists the date {d.date()} more than once; give one daily mean per date."
        )
    return pd.Series(temp.to_numpy(dtype=float), index=pd.DatetimeIndex(dates))


def _check_contracted(contracted_kw, ds, meter_ids):
    if contracted_kw is None:
        if "contracted_kw" in ds.coords and ds["contracted_kw"].dims == ("meter",):
            return pd.Series(np.asarray(ds["contracted_kw"].values, dtype=float), index=meter_ids)
        return None
    if isinstance(contracted_kw, dict):
        contracted_kw = pd.Series(contracted_kw)
    if not isinstance(contracted_kw, pd.Series):
        raise TypeError(
            "contracted_kw must be a Series or dict {meter_id: kW}, got "
            f"{type(contracted_kw).__name__}; e.g. registry.set_index('meter_id').contracted_kw."
        )
    s = pd.to_numeric(contracted_kw, errors="coerce")
    s.index = s.index.astype(str)
    if s.index.has_duplicates:
        raise ValueError("contracted_kw lists some meter ids more than once; keep one per meter.")
    return s.reindex(meter_ids)


# -- documentation -------------------------------------------------------------------


def render_markdown() -> str:
    """``docs/features.md``: the registry as a Markdown page.

    Regenerate with ``python -m detectors.features > docs/features.md``.
    """
    lines = [
        "# Load-signature features",
        "",
        "<!-- Generated from detectors.features.FEATURES by "
        "`python -m detectors.features > docs/features.md`; do not edit by hand. -->",
        "",
        "`detectors.features.extract_features(ds, ...)` returns one row per meter with these "
        "columns, in this order, plus `status` and `onset_date`. `suspicious` is the direction "
        "that points to mining (`none`: the feature qualifies others, e.g. exonerates a "
        "confounder). Hours are local; valley hours default to 23:00-07:00.",
        "",
        "| feature | unit | suspicious | definition |",
        "| --- | --- | --- | --- |",
    ]
    for f in FEATURES.values():
        lines.append(f"| `{f.name}` | {f.unit} | {f.suspicious} | {f.definition} |")
    lines += ["", "## Why each feature separates mining", ""]
    for f in FEATURES.values():
        hourly = " Needs hourly (or finer) readings." if f.name in HOURLY_FEATURES else ""
        lines += [
            f"### `{f.name}` [{f.unit}]",
            "",
            f"{f.definition}{hourly}",
            "",
            f"*Why:* {f.why}",
            "",
            f"*Suspicious:* {f.suspicious}. *Inspector phrase:* `{f.phrase}`",
            "",
        ]
        if f.reference:
            lines += [f"*Reference:* {f.reference}", ""]
    lines += ["## Status", "", "| status | meaning |", "| --- | --- |"]
    for k, v in STATUSES.items():
        lines.append(f"| `{k}` | {v} |")
    lines += [
        "",
        "`onset_date` is the local date of the detected step (the first day after the split, "
        "moved one day earlier when the last two hours of the day before already run at the "
        "new level); NaT unless `step_ratio >= 1.5` and `step_fit >= 0.5`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
