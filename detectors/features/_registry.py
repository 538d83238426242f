"""The one registry of load-signature features, and the page it writes.

:data:`FEATURES` names every feature with its unit, its definition, why it
separates crypto-mining from ordinary loads and from the confounders that
look like mining (coal-to-electricity night heating, large households with
an electric car, vacant homes, 24-hour shops, telecom base stations, street
lighting, continuous-process industry, aquaculture, data centres), which
direction is suspicious, and the words an inspector reads. The same table
orders the columns of :func:`detectors.features.extract_features`, drives
the reasons of :mod:`detectors.reasons` and writes ``docs/features.md``
(:func:`render_markdown`, ``python -m detectors.features > docs/features.md``).
A new feature gets its row here and its computation in the module of its
family (``_level``, ``_rhythm``, ``_weather``, ``_regimes``, ``_peers``).
:data:`STATUSES` documents the ``status`` column the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.features import _kernel


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
    neutral : float or None
        The value that says nothing (a step ratio of 1, a rise of 0): a reason
        whose phrase reads the same as at this value is not quoted ("base load
        stepped up to 1.0x its earlier level").
    """

    name: str
    unit: str
    definition: str
    why: str
    suspicious: str
    phrase: str
    reference: str | None = None
    neutral: float | None = None


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
        "night_floor_vs_peer",
        "1",
        "The night floor [kW] divided by the median mean_kw of the meter's peer group (as "
        "level_vs_peer): the median over complete days of the lowest hourly load between "
        "00:00 and 05:00 local, taken over the days after the best upward least-squares "
        "split of that nightly minimum when it is higher there (at least 7-14 complete days "
        "each side, as base_step_ratio), so a rig switched on partway counts at its level.",
        "A rig adds its kilowatts to every night hour, around the clock or only in the "
        "valley tariff, and keeps doing so on most days even when it is switched off on "
        "some; a home's night floor is its fridge and standby, a fraction of what a peer "
        "uses on average, and a large household is large by day, not at 03:00. Night storage "
        "heating lifts the floor too, but with the cold and the season (valley_night_cv, "
        "temperature_sensitivity). Measures excess power like level_vs_peer, without the "
        "daytime load that hides a rig among large homes.",
        "high",
        "a night floor of {value:.1f}x the median load of its {peer} peers",
    ),
    Feature(
        "floor_bimodality",
        "1",
        "Ashman's D of the night floors (the lowest hourly load 00:00-05:00 local of each "
        "complete day, over the days after their best upward split when the median rises "
        "1.5x or more there and at least 14 days follow it, as valley_night_cv) split into two levels at the least-squares "
        "(Otsu) threshold, with at least 5 % of the nights in each: sqrt(2) times the gap "
        "between the two levels' medians over the root sum of squares of their robust "
        "standard deviations (1.4826 MAD; together at least 1 % of the upper level, so D is "
        "at most 141); 0 when the floor never changes.",
        "A rig is a constant block of power: on the nights it runs it lifts the floor by its "
        "power, on its off days (a price-driven miner's stops) the floor falls back by "
        "exactly that amount, so the floors form two narrow levels a rig's power apart "
        "(D mostly above 10, also for a 0.3 kW rig in a home). A home's floor is its fridge "
        "cycles and standby, which wander from night to night, so even a home with a high, "
        "flat load has overlapping levels (D 2-5). Only the latest regime counts: a rig "
        "switched on partway keeps its on and off nights there, while a home back from weeks "
        "away, or a floor lifted by the heating season, leaves one level behind. Night "
        "storage heating switches too, but by an amount that follows the cold "
        "(temperature_sensitivity).",
        "high",
        "night floor in two separate levels (D = {value:.0f})",
        "Ashman, K. M., Bird, C. M. and Zepf, S. E. (1994). Detecting bimodality in "
        "astronomical datasets. Astronomical Journal 108(6), 2348-2361; Otsu, N. (1979). A "
        "threshold selection method from gray-level histograms. IEEE Transactions on "
        "Systems, Man, and Cybernetics 9(1), 62-66.",
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
        "Robust coefficient of variation (1.4826 MAD / median) of the energy consumed in each "
        "night's valley hours, over nights between two complete days; when that energy steps "
        "up by 1.5x or more at its best upward least-squares split, over the nights after it "
        "(the latest regime).",
        "A rig draws the same energy every night; storage heaters follow the outdoor "
        "temperature and start with the heating season, an electric car charges on some "
        "nights only, and households vary with occupancy. The median and MAD let a "
        "price-driven rig's off nights (10-20 %) pass, and the latest regime the nights "
        "before its onset, which say nothing about how constant it runs.",
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
        "without weather). Where the daily energy steps up 1.5x or more within 7 days of "
        "the first day of the heating season, the fit over the days after the step counts "
        "instead when it follows the cold more strongly. A two-level meter (see "
        "off_day_share) is also fitted on its on-days alone, when it has min_days of them, "
        "and the fit with the weaker correlation counts.",
        "Coal-to-electricity heating uses more on cold days (strongly negative), "
        "aquaculture and air-conditioned loads more on warm days (positive); a rig's "
        "consumption hardly depends on the weather (fans add a fraction of a percent "
        "per K). Without the level shift a rig switched on in autumn, while the weather "
        "cools, would pass for electric heating (-8 %/K); without the on-day fit a rig "
        "stopped on a few warm days would pass for one too, since only the switching "
        "follows the weather there. Heaters switched on with the heating season follow "
        "the cold only after the step: the autumn weeks before, which nothing followed, "
        "would dilute their response to a rig's.",
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
        neutral=1.0,
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
        neutral=0.0,
    ),
    Feature(
        "base_step_ratio",
        "1",
        "Median daily minimum hourly load after the best upward least-squares split of the "
        "daily minima (at least 7 complete days each side) divided by the level before it: "
        "the larger of the median before the split and the highest median of a 28-day block "
        "before it (floored at 1 % of mean_kw); 1 when there is no upward split.",
        "Rigs added to a factory, shop or farm raise the floor of the load for good, even "
        "when a shift pattern hides them in the daily energy; holidays, weekends and "
        "maintenance stops lower the daytime load for days but leave the nightly floor, and "
        "medians ignore short dips. Electric night heating lifts the floor too, but with the "
        "cold (temperature_sensitivity), and back to a level it held the winter before "
        "(in a London home with a winter-only 0.55 kW floor, 2013: 4.9x against the "
        "median before, 1.0x against the highest 28-day level).",
        "high",
        "base load stepped up to {value:.1f}x its earlier level",
        _STEP_REF,
        neutral=1.0,
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
        neutral=0.0,
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

HOURLY_FEATURES = frozenset(_kernel.HOURLY_FEATURES)
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
words. Rows whose status starts with ``"ok"`` or ``"daily_only"`` carry usable features.
:meth:`detectors.model.MiningModel.score` reports the word alone in ``status`` (a meter is
scored exactly when it is ``"ok"``) and the rest of the text in its ``notes`` column."""

_ONLY = {  # features kept for a meter whose status is not ok / daily_only
    "zero_load": ("mean_kw", "level_vs_peer", "contract_utilisation", "missing_share"),
    "negative_readings": ("missing_share",),
    "insufficient_data": ("mean_kw", "missing_share"),
    "no_data": ("missing_share",),
}


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
    lines += [
        "## Status",
        "",
        "The feature table's `status` starts with one of these words; the scores of "
        "`MiningModel.score` (and `geoenergy detect`) carry the word alone in `status` (a "
        "meter is scored exactly when it is `ok`) and the rest in `notes`.",
        "",
        "| status | meaning |",
        "| --- | --- |",
    ]
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
