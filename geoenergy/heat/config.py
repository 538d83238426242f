"""Every assumption of the waste-heat analysis, in one place.

:class:`HeatConfig` holds the defaults with their units and sources; the
coefficient tables themselves live with the physics they belong to
(:data:`geoenergy.heat.recovery.COOLING_TYPES`,
:data:`geoenergy.heat.equivalents.DISPLACED_SOURCES`,
:data:`geoenergy.heat.pue.PUE_LIMITS`, :data:`geoenergy.heat.economics.PIPE_SERIES`)
and are documented there. A TOML file overrides any field::

    # heat.toml  (or a [heat] table in the workspace's geoenergy.toml)
    carnot_fraction = 0.45
    heating_season_start = "11-01"
    displaced_source = "coal_boiler"
    electricity_price_cny_per_kwh = 0.62

    [cooling.air]
    source_temp_c = 32
    capture_share = 0.8

Load it with :meth:`HeatConfig.from_toml` (the CLI's ``--config FILE``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from geoenergy.errors import ConfigError

__all__ = ["HeatConfig"]


def _default_intensity() -> dict[str, float]:
    # Annual space-heating demand per floor area by building use [MWh/m2/yr].
    # Assumption of the order of northern-Chinese urban heating (about 0.3-0.4
    # GJ/m2 per season for residential stock); no authoritative Beijing table
    # was found, so replace these with heat-meter data where available.
    return {
        "residential": 0.10,
        "commercial": 0.12,
        "public": 0.10,
        "industrial": 0.05,
        "agricultural": 0.03,
        "other": 0.05,
        "data_centre": 0.0,
    }


def _default_new_bands() -> list[list[float]]:
    # [upper bound of annual energy use [tce/yr], PUE limit] for new and
    # extended sites; see geoenergy.heat.pue.PUE_LIMITS for the source.
    return [[10_000.0, 1.30], [20_000.0, 1.25], [30_000.0, 1.20]]


@dataclass
class HeatConfig:
    """Assumptions of the waste-heat and PUE analysis.

    Units are in brackets; the source of each default is given where one
    exists, and "assumption" marks a planning value to replace with local
    data.

    Parameters
    ----------
    timezone : str
        Local time zone for months, days and the heating season. Default
        ``"Asia/Shanghai"``.
    reference_year : int
        Non-leap calendar year on which annual hourly profiles are laid out.
    default_status : {"existing", "new"}
        Status of a data centre whose layer row has no ``status`` column.
    pue_limit_existing : float
        PUE limit of existing sites [-]. Default 1.40 (see
        :data:`geoenergy.heat.pue.PUE_LIMITS` for the source and caveats).
    pue_limit_existing_from_2026 : float
        PUE limit of existing sites from the 2026 assessment year on [-].
        Default 1.35: Beijing's differential electricity price from 2026 on
        data centres above 1.35 (see :data:`geoenergy.heat.pue.PUE_LIMITS`).
    pue_assessment_year : int or None
        Calendar year whose limits apply to existing sites; None (default)
        means the current year, so from 2026 existing sites are held to
        ``pue_limit_existing_from_2026``.
    pue_limit_new_bands : list of [float, float]
        ``[upper annual energy use [tce/yr], limit]`` bands for new and
        extended sites, ascending.
    pue_limit_new_above : float
        PUE limit of new sites above the last band [-]. Default 1.15.
    pue_reward_level : float
        PUE at or below which a site is reported as reaching the incentive
        level [-]. Default 1.15 (see :data:`geoenergy.heat.pue.PUE_LIMITS`).
    electricity_tce_per_mwh : float
        Standard coal per MWh of electricity at the *equivalent* (等价值)
        value used by the PUE banding rule [tce/MWh]. Default 0.3007, the
        national average coal consumption of supplied power in 2022
        (about 300.7 gce/kWh, China Electricity Council); assumption, check
        the year the regulator uses.
    cooling : dict
        Per cooling type overrides of ``source_temp_c`` [degC] and
        ``capture_share`` [-] on :data:`geoenergy.heat.recovery.COOLING_TYPES`.
    capture_share_factor : float
        Multiplier on every capture share (for sensitivity), clipped to 1.
    carnot_fraction : float
        Heat-pump quality grade, COP as a fraction of the Carnot COP [-].
        Default 0.5 (see :func:`geoenergy.heat.heatpump.cop_carnot_fraction`).
    max_sink_temp_c : float
        Highest supply temperature a heat pump can deliver [degC]; hotter
        network segments are temperature-incompatible unless the source is
        hot enough for direct use. Default 90.
    cop_max : float
        Upper bound on the modelled COP for tiny lifts [-]. Default 8.
    hx_approach_k : float
        Temperature difference across the heat exchanger for direct use [K].
        Default 3.
    supply_temp_offset_k : float
        Shift added to every network supply and return temperature [K]
        (for sensitivity). Default 0.
    heating_season_start, heating_season_end : str
        ``"MM-DD"`` first and last day of the heating season (inclusive).
        Default 15 November to 15 March, Beijing's statutory heating period.
    base_demand_fraction : float
        Share of the delivered heat the network can take outside the season
        when *no* heat-demand layer is given (the demand is then unknown and
        only the season bounds the use) [-]. Default 0: Beijing's district
        heating networks supply space heating only. With a demand layer the
        hourly demand (``dhw_share``, ``must_run_share``) bounds the use instead.
    weather_file : str or None
        CSV (optionally gzip) with ``timestamp`` and ``temp_c`` [degC], hourly,
        one non-leap year in local time, for the hourly demand profile. Default
        None: the bundled Beijing year (Dongsi station, 2015; CC BY 4.0, see
        :data:`geoenergy.heat.demand.WEATHER_YEARS`).
    space_heating_base_temp_c : float
        Outdoor temperature below which space heating is needed [degC]; the
        hourly space-heating demand is proportional to the degree-hours below
        it inside the heating season. Default 18, the base of China's heating
        degree-days (GB 50176; assumption for the network's aggregate load).
    dhw_share : float
        Share of a network's annual demand that is domestic hot water, spread
        evenly over all 8,760 hours [-]. Default 0 for Beijing (its networks
        supply space heating only, 北京市供热采暖管理办法); use about 0.2-0.3
        for year-round Nordic networks (see
        :data:`geoenergy.heat.demand.DHW_SHARE_BY_LOCATION`).
    must_run_share : float
        Share of each hour's demand that existing plants (CHP, boilers under
        contract) keep supplying, so waste heat can cover at most
        ``1 - must_run_share`` of it [-]. Default 0 (assumption: no must-run).
    service_area_buffer_m : float
        Distance from a network's pipes within which heat demand belongs to
        that network [m]; a demand polygon near several networks counts for
        the nearest one only. Default 500 (assumption: building connections of
        a few hundred metres).
    network_grouping : {"component", "operator"}
        What one heating network is: a connected set of touching segments
        (default) or all segments of one ``operator``.
    supply_temp_min_c : float or None
        When set, the network supply temperature follows the outdoor
        temperature: its nominal value at ``design_outdoor_temp_c`` and this
        value at ``space_heating_base_temp_c`` and above, linear in between
        [degC]. Default None: constant supply temperature.
    design_outdoor_temp_c : float
        Heating design outdoor temperature [degC]. Default -7.6, Beijing's
        value in GB 50736-2012 (recalled, check the standard).
    peak_average_hours : int
        Pipes and plants are sized on the peak of the flow averaged over this
        many hours [h]. Default 3, as Hotmaps' excess-heat module does.
    max_line_cost_cny_per_mwh : float
        Connection lines whose annualised cost per MWh of used heat exceeds
        this are dropped, and the flows recomputed [CNY/MWh] (Hotmaps'
        "transmission line threshold"). Default 500 (assumption: well above
        the cost of heat from a Beijing gas boiler, gas at about 3 CNY/m3 and
        9.5 kWh/m3 at 90 % efficiency is about 350 CNY/MWh, so only lines that
        clearly cannot pay are dropped; set ``inf`` to keep every line).
    network_kinds : list of str
        Network kinds a site may connect to.
    connect_to : {"nearest", "primary", "secondary"}
        Which matched segment is the connection: the nearest compatible one
        of any kind (by straight-line distance to the pipe; the route length
        is then estimated for that segment), or the given kind only.
    search_radius_m : float
        Segments farther than this [m] are not considered at all.
    max_connection_m : float
        Sites with a longer route [m] are not ranked. Default 3000
        (assumption: beyond a few km a connection rarely pays off for a
        data centre of a few MW).
    detour_factor : float
        Route length over straight-line distance when no street layer is
        given [-]. Default 1.3, the order of urban road-network circuity
        (Ballou, Rahardja & Sakai 2002).
    demand_radii_m : list of float
        Radii [m] around each site for the heat demand within reach.
    grid_cell_m : float
        Cell size of the heat-density grid [m].
    building_intensity_mwh_per_m2 : dict
        Annual heat demand per floor area by building use [MWh/m2/yr]
        (assumption, see the source comment).
    metric_crs : str or None
        Projected CRS in metres for distances (default: the UTM zone, EPSG:32650
        for Beijing).
    design_heat_load_w_per_m2 : float
        Design space-heating load per floor area [W/m2]. Default 40: CJJ 34
        lists 40-45 W/m2 for residential buildings with energy-saving
        measures (value recalled from the standard, not from a retrieved copy).
    annual_heat_intensity_mwh_per_m2 : float
        Annual heat use per heated floor area [MWh/m2/yr]. Default 0.10
        (assumption, see ``building_intensity_mwh_per_m2``).
    household_floor_area_m2 : float
        Heated floor area of one household [m2]. Default 80 (assumption).
    displaced_source : str
        Key of :data:`geoenergy.heat.equivalents.DISPLACED_SOURCES`, the heat
        source the recovered heat replaces. Default ``"gas_boiler"``.
    boiler_efficiency : float or None
        Override of the displaced boiler's seasonal efficiency [-].
    grid_co2_t_per_mwh : float
        CO2 of heat-pump electricity [t/MWh]. Default 0.6776, the 2022 North
        China regional grid factor (MEE and NBS announcement of December 2024).
    electricity_price_cny_per_kwh : float
        Electricity price for the heat pump [CNY/kWh]. Default 0.70
        (assumption, Beijing general commercial and industrial tariff order).
    discount_rate : float
        Real discount rate [-], in [0, 1). Default 0.08, the social discount rate of
        China's 建设项目经济评价方法与参数 (3rd ed., NDRC and MOHURD 2006).
    lifetime_years : int
        Economic lifetime of the connection and heat pump [yr]. Default 25.
    hp_capex_cny_per_mw_th : float
        Heat-pump capital cost per MW of heat output [CNY/MW_th], 2024
        prices. Default 4.0e6 (assumption; the Danish Energy Agency's technology catalogue
        puts large electric heat pumps at about 0.6-0.9 M EUR/MW_th).
    hx_capex_cny_per_mw_th : float
        Heat-exchanger station cost for direct use [CNY/MW_th]. Default 0.3e6
        (assumption).
    om_fraction_per_yr : float
        Fixed operation and maintenance per year as a share of capital cost
        [1/yr]. Default 0.02 (assumption).
    pipe_cost_model : {"hotmaps", "persson_werner"}
        ``"hotmaps"`` (default): cost per metre by the line's peak flow, the
        table of Hotmaps' excess-heat module
        (:data:`geoenergy.heat.transmission.HOTMAPS_LINE_COST_EUR_PER_M`),
        escalated by ``pipe_cost_escalation`` and converted with
        ``cny_per_eur``; ``"persson_werner"``: by diameter and ``pipe_area``
        (2007 EUR, :data:`geoenergy.heat.economics.PIPE_COST_AREAS`), taken
        to 2018 by :data:`geoenergy.heat.balance.PERSSON_WERNER_TO_2018` and
        then escalated alike. A ``pipe_cost_cny_per_m`` table is used as given
        (give it in 2024 CNY).
    pipe_cost_escalation : float
        Price index ratio from the cost table's price year to the price year
        of the results (2024) [-]. Default 1.21, the euro-area HICP ratio
        2024/2018 (Eurostat prc_hicp_aind, 2015 = 100: about 103.6 -> 125.7;
        recalled, check) applied to Hotmaps' table (taken as 2018 prices).
        Costs are then in 2024 CNY.
    pipe_area : str
        Key of :data:`geoenergy.heat.economics.PIPE_COST_AREAS`, for the
        ``"persson_werner"`` model. Default ``"outer_city"``.
    pipe_cost_factor : float
        Multiplier on the pipe cost (local price level, sensitivity) [-].
    pipe_cost_cny_per_m : dict or None
        ``{DN: cost [CNY/m of trench]}`` replacing the cost model entirely.
    cny_per_eur : float
        Exchange rate for costs given in EUR [CNY/EUR]. Default 7.8.
    max_pressure_drop_pa_per_m : float
        Design specific pressure drop for sizing the pipe [Pa/m]. Default 100.
    pipe_roughness_mm : float
        Absolute roughness of steel pipe [mm]. Default 0.05.
    ground_temp_c : float
        Undisturbed ground temperature [degC]. Default 10 (assumption).
    soil_conductivity_w_per_mk : float
        Soil thermal conductivity [W/(m K)]. Default 1.5.
    insulation_conductivity_w_per_mk : float
        PUR insulation conductivity [W/(m K)]. Default 0.027 (EN 253 allows
        up to 0.029 at 50 degC for new pipes).
    burial_depth_m : float
        Depth of the pipe centre [m]. Default 1.0.
    """

    timezone: str = "Asia/Shanghai"
    reference_year: int = 2023
    default_status: str = "existing"
    pue_limit_existing: float = 1.40
    pue_limit_existing_from_2026: float = 1.35
    pue_assessment_year: int | None = None
    pue_limit_new_bands: list = field(default_factory=_default_new_bands)
    pue_limit_new_above: float = 1.15
    pue_reward_level: float = 1.15
    electricity_tce_per_mwh: float = 0.3007
    cooling: dict = field(default_factory=dict)
    capture_share_factor: float = 1.0
    carnot_fraction: float = 0.5
    max_sink_temp_c: float = 90.0
    cop_max: float = 8.0
    hx_approach_k: float = 3.0
    supply_temp_offset_k: float = 0.0
    heating_season_start: str = "11-15"
    heating_season_end: str = "03-15"
    base_demand_fraction: float = 0.0
    weather_file: str | None = None
    space_heating_base_temp_c: float = 18.0
    dhw_share: float = 0.0
    must_run_share: float = 0.0
    service_area_buffer_m: float = 500.0
    network_grouping: str = "component"
    supply_temp_min_c: float | None = None
    design_outdoor_temp_c: float = -7.6
    peak_average_hours: int = 3
    max_line_cost_cny_per_mwh: float = 500.0
    network_kinds: list = field(default_factory=lambda: ["primary", "secondary"])
    connect_to: str = "nearest"
    search_radius_m: float = 10_000.0
    max_connection_m: float = 3_000.0
    detour_factor: float = 1.3
    demand_radii_m: list = field(default_factory=lambda: [500.0, 1000.0, 2000.0])
    grid_cell_m: float = 100.0
    building_intensity_mwh_per_m2: dict = field(default_factory=_default_intensity)
    metric_crs: str | None = None
    design_heat_load_w_per_m2: float = 40.0
    annual_heat_intensity_mwh_per_m2: float = 0.10
    household_floor_area_m2: float = 80.0
    displaced_source: str = "gas_boiler"
    boiler_efficiency: float | None = None
    grid_co2_t_per_mwh: float = 0.6776
    electricity_price_cny_per_kwh: float = 0.70
    discount_rate: float = 0.08
    lifetime_years: int = 25
    hp_capex_cny_per_mw_th: float = 4.0e6
    hx_capex_cny_per_mw_th: float = 0.3e6
    om_fraction_per_yr: float = 0.02
    pipe_cost_model: str = "hotmaps"
    pipe_cost_escalation: float = 1.21
    pipe_area: str = "outer_city"
    pipe_cost_factor: float = 1.0
    pipe_cost_cny_per_m: dict | None = None
    cny_per_eur: float = 7.8
    max_pressure_drop_pa_per_m: float = 100.0
    pipe_roughness_mm: float = 0.05
    ground_temp_c: float = 10.0
    soil_conductivity_w_per_mk: float = 1.5
    insulation_conductivity_w_per_mk: float = 0.027
    burial_depth_m: float = 1.0

    def __post_init__(self):
        _check_config(self)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, *, source: str = "configuration") -> HeatConfig:
        """Build from a mapping, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source}: expected a table of settings, got {type(data).__name__}."
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown heat setting(s) {unknown}. Allowed: {sorted(known)}."
            )
        return cls(**data)

    @classmethod
    def from_toml(cls, path) -> HeatConfig:
        """Read a TOML file: its ``[heat]`` table if there is one, else the top level."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--config {path}: file not found. Pass an existing TOML file.")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the file.") from None
        if "heat" in data and isinstance(data["heat"], dict):
            data = data["heat"]
        return cls.from_dict(data, source=str(path))

    def replace(self, **changes) -> HeatConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def _number(v) -> bool:
    """A real, finite number (not a bool, not NaN or inf)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _bad(name, value, allowed, fix=""):
    msg = f"heat setting {name}={value!r} is not allowed; {allowed}."
    if fix:
        msg += f" {fix}"
    raise ConfigError(msg)


def _check_config(c: HeatConfig) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        _bad("timezone", c.timezone, "use an IANA name such as 'Asia/Shanghai'")
    year = c.reference_year
    if not isinstance(year, int) or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        _bad("reference_year", year, "it must be a non-leap year such as 2023")
    if c.default_status not in ("existing", "new"):
        _bad("default_status", c.default_status, "use 'existing' or 'new'")
    positives = {
        "pue_limit_existing": 1.0,
        "pue_limit_existing_from_2026": 1.0,
        "pue_limit_new_above": 1.0,
        "pue_reward_level": 1.0,
    }
    for name, low in positives.items():
        v = getattr(c, name)
        if not isinstance(v, int | float) or not low <= v < 5:
            _bad(name, v, f"a PUE limit is a number from {low} to 5")
    ay = c.pue_assessment_year
    if ay is not None and (
        isinstance(ay, bool) or not isinstance(ay, int) or not 2000 <= ay <= 2100
    ):
        _bad("pue_assessment_year", ay, "give a calendar year such as 2026, or leave it out")
    bands = c.pue_limit_new_bands
    try:
        uppers = [float(b[0]) for b in bands]
        limits = [float(b[1]) for b in bands]
    except (TypeError, ValueError, IndexError):
        _bad("pue_limit_new_bands", bands, "give a list of [upper tce/yr, PUE limit] pairs")
    if uppers != sorted(uppers) or any(not 1.0 <= v < 5 for v in limits):
        _bad(
            "pue_limit_new_bands",
            bands,
            "bands must ascend by tce/yr and limits lie from 1 to 5",
        )
    for name, lo, hi in (
        ("capture_share_factor", 0.0, 10.0),
        ("carnot_fraction", 1e-9, 1.0),
        ("base_demand_fraction", 0.0, 1.0),
        ("om_fraction_per_yr", 0.0, 1.0),
        ("dhw_share", 0.0, 1.0),
        ("must_run_share", 0.0, 1.0),
    ):
        v = getattr(c, name)
        if not _number(v) or not lo <= v <= hi:
            _bad(name, v, f"it must be a finite number in [{lo:g}, {hi:g}]")
    if not _number(c.discount_rate) or not 0.0 <= c.discount_rate < 1.0:
        _bad(
            "discount_rate",
            c.discount_rate,
            "a real discount rate is a finite number in [0, 1), e.g. 0.08 for 8 %",
        )
    for name, lo, hi in (
        ("space_heating_base_temp_c", 5.0, 25.0),
        ("design_outdoor_temp_c", -50.0, 10.0),
        ("ground_temp_c", -10.0, 40.0),
        ("supply_temp_offset_k", -50.0, 50.0),
        ("max_sink_temp_c", 30.0, 200.0),
    ):
        v = getattr(c, name)
        if not _number(v) or not lo <= v <= hi:
            _bad(name, v, f"it must be a finite number from {lo:g} to {hi:g}")
    if c.supply_temp_min_c is not None and (
        not _number(c.supply_temp_min_c) or not 20.0 <= c.supply_temp_min_c <= 150.0
    ):
        _bad("supply_temp_min_c", c.supply_temp_min_c, "give a supply temperature in degC")
    if not isinstance(c.peak_average_hours, int) or not 1 <= c.peak_average_hours <= 168:
        _bad("peak_average_hours", c.peak_average_hours, "use a whole number of hours, 1-168")
    if not isinstance(c.max_line_cost_cny_per_mwh, int | float) or not (
        c.max_line_cost_cny_per_mwh > 0
    ):
        _bad(
            "max_line_cost_cny_per_mwh",
            c.max_line_cost_cny_per_mwh,
            "give a positive cost in CNY/MWh (inf keeps every line)",
        )
    if c.network_grouping not in ("component", "operator"):
        _bad("network_grouping", c.network_grouping, "use 'component' or 'operator'")
    if c.pipe_cost_model not in ("hotmaps", "persson_werner"):
        _bad("pipe_cost_model", c.pipe_cost_model, "use 'hotmaps' or 'persson_werner'")
    if c.weather_file is not None and not isinstance(c.weather_file, str):
        _bad("weather_file", c.weather_file, "give the path of a CSV with timestamp, temp_c")
    for name in (
        "electricity_tce_per_mwh",
        "cop_max",
        "search_radius_m",
        "max_connection_m",
        "grid_cell_m",
        "design_heat_load_w_per_m2",
        "annual_heat_intensity_mwh_per_m2",
        "household_floor_area_m2",
        "hp_capex_cny_per_mw_th",
        "cny_per_eur",
        "max_pressure_drop_pa_per_m",
        "pipe_roughness_mm",
        "soil_conductivity_w_per_mk",
        "insulation_conductivity_w_per_mk",
        "burial_depth_m",
        "pipe_cost_factor",
        "pipe_cost_escalation",
        "service_area_buffer_m",
    ):
        v = getattr(c, name)
        if not isinstance(v, int | float) or not (v > 0 and math.isfinite(v)):
            _bad(name, v, "it must be a positive finite number")
    for name in (
        "hx_capex_cny_per_mw_th",
        "electricity_price_cny_per_kwh",
        "grid_co2_t_per_mwh",
        "hx_approach_k",
    ):
        v = getattr(c, name)
        if not isinstance(v, int | float) or not (v >= 0 and math.isfinite(v)):
            _bad(name, v, "it must be a number >= 0")
    if c.cop_max <= 1.0:
        _bad("cop_max", c.cop_max, "a heat-pump COP is above 1")
    if not isinstance(c.detour_factor, int | float) or not 1.0 <= c.detour_factor <= 5.0:
        _bad("detour_factor", c.detour_factor, "route/straight-line ratio must lie in [1, 5]")
    if not isinstance(c.lifetime_years, int) or not 1 <= c.lifetime_years <= 100:
        _bad("lifetime_years", c.lifetime_years, "use a whole number of years from 1 to 100")
    if c.connect_to not in ("nearest", "primary", "secondary"):
        _bad("connect_to", c.connect_to, "use 'nearest', 'primary' or 'secondary'")
    if not c.network_kinds or any(k not in ("primary", "secondary") for k in c.network_kinds):
        _bad("network_kinds", c.network_kinds, "list 'primary' and/or 'secondary'")
    if c.connect_to != "nearest" and c.connect_to not in c.network_kinds:
        _bad("connect_to", c.connect_to, f"it must be one of network_kinds {c.network_kinds}")
    radii = c.demand_radii_m
    if not isinstance(radii, list | tuple) or any(
        not isinstance(r, int | float) or r <= 0 for r in radii
    ):
        _bad("demand_radii_m", radii, "give a list of positive radii in metres")
    for name in ("heating_season_start", "heating_season_end"):
        from geoenergy.heat.season import parse_month_day

        try:
            parse_month_day(getattr(c, name))
        except ValueError as exc:
            raise ConfigError(f"heat setting {name}: {exc}") from None
    from geoenergy.heat.equivalents import DISPLACED_SOURCES
    from geoenergy.heat.recovery import COOLING_TYPES

    if c.displaced_source not in DISPLACED_SOURCES:
        _bad(
            "displaced_source",
            c.displaced_source,
            f"use one of {sorted(DISPLACED_SOURCES)} (e.g. 'coal_boiler', not 'coal')",
        )
    if c.boiler_efficiency is not None and not 0 < c.boiler_efficiency <= 1.2:
        _bad("boiler_efficiency", c.boiler_efficiency, "an efficiency lies in (0, 1.2]")
    if not isinstance(c.cooling, dict):
        _bad("cooling", c.cooling, "give a table per cooling type")
    for kind, over in c.cooling.items():
        if kind not in COOLING_TYPES:
            _bad("cooling", kind, f"cooling types are {sorted(COOLING_TYPES)}")
        if not isinstance(over, dict) or set(over) - {"source_temp_c", "capture_share"}:
            _bad(
                f"cooling.{kind}",
                over,
                "only source_temp_c [degC] and capture_share [-] can be overridden",
            )
        cs = over.get("capture_share")
        if cs is not None and (not _number(cs) or not 0 <= cs <= 1):
            _bad(f"cooling.{kind}.capture_share", cs, "a share is a finite number in [0, 1]")
        ts = over.get("source_temp_c")
        if ts is not None:
            from geoenergy.heat.recovery import source_temp_problem

            problem = source_temp_problem(ts)
            if problem:
                _bad(f"cooling.{kind}.source_temp_c", ts, problem)
    if not isinstance(c.building_intensity_mwh_per_m2, dict) or any(
        not isinstance(v, int | float) or v < 0 for v in c.building_intensity_mwh_per_m2.values()
    ):
        _bad(
            "building_intensity_mwh_per_m2",
            c.building_intensity_mwh_per_m2,
            "give {use: MWh/m2/yr >= 0}",
        )
    from geoenergy.heat.economics import PIPE_COST_AREAS

    if c.pipe_area not in PIPE_COST_AREAS:
        _bad("pipe_area", c.pipe_area, f"use one of {sorted(PIPE_COST_AREAS)}")
    if c.pipe_cost_cny_per_m is not None:
        try:
            table = {int(k): float(v) for k, v in c.pipe_cost_cny_per_m.items()}
        except (AttributeError, TypeError, ValueError):
            _bad("pipe_cost_cny_per_m", c.pipe_cost_cny_per_m, "give {DN: CNY per metre}")
        if not table or any(v <= 0 for v in table.values()):
            _bad("pipe_cost_cny_per_m", c.pipe_cost_cny_per_m, "costs must be positive")
        c.pipe_cost_cny_per_m = table
