"""The input data contracts: which columns each kind of table file carries.

One registry (:data:`CONTRACTS`) drives validation, the CLI's help and the
README, so a column name never lives in two lists.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_CLASSES = (
    "residential",
    "commercial",
    "industrial",
    "public",
    "agricultural",
    "data_centre",
    "other",
)
"""Allowed values of the registry's ``customer_class``."""

LABELS = ("mining", "not_mining")
"""Allowed inspection outcomes in a labels file."""

INTERVALS_S = {
    60: "1 min",
    300: "5 min",
    900: "15 min",
    1800: "30 min",
    3600: "1 h",
    86400: "1 day",
}
"""Meter reading intervals GeoEnergy accepts, [s] -> name. 1 and 5 min are the
intervals of live data-centre meters (``POST /api/v1/readings``)."""


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    description: str


@dataclass(frozen=True)
class Contract:
    kind: str
    columns: tuple[Column, ...]
    description: str

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


CONTRACTS: dict[str, Contract] = {
    "readings": Contract(
        "readings",
        (
            Column("meter_id", True, "meter identifier (string)"),
            Column(
                "timestamp",
                True,
                "start of the interval, ISO 8601; naive times are local time in the "
                "workspace time zone, offsets such as +08:00 are honoured",
            ),
            Column("kwh", True, "energy in the interval [kWh], >= 0"),
        ),
        "meter readings in long format, one row per meter and interval",
    ),
    "registry": Contract(
        "registry",
        (
            Column("meter_id", True, "meter identifier (string)"),
            Column("address", True, "postal address (personal data)"),
            Column("customer_class", True, "one of " + ", ".join(CUSTOMER_CLASSES)),
            Column("lon", True, "longitude [deg]"),
            Column("lat", True, "latitude [deg]"),
            Column("coord_system", False, "wgs84 (default), gcj02 or bd09"),
            Column("contracted_kw", False, "contracted capacity [kW]"),
            Column("floor_area_m2", False, "floor area of the premises [m2]"),
        ),
        "one row per meter: who and where",
    ),
    "labels": Contract(
        "labels",
        (
            Column("meter_id", True, "meter identifier (string)"),
            Column("label", True, "mining or not_mining"),
            Column("inspected_on", True, "date of the inspection (ISO 8601 date)"),
        ),
        "inspection outcomes used as training labels",
    ),
    "weather": Contract(
        "weather",
        (
            Column("date", True, "local date (ISO 8601)"),
            Column("temp_c", True, "daily mean air temperature [degC]"),
        ),
        "daily weather for temperature sensitivity",
    ),
}
