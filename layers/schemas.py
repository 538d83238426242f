"""Layer kinds of the data contract: required columns and geometry types.

One registry (:data:`LAYER_SCHEMAS`) drives validation and documentation of
the layers the store keeps; :data:`METERS_SCHEMA` describes the meter
registry read as points (the store keeps the registry as a table, so it is
not a layer kind there).
"""

from __future__ import annotations

from dataclasses import dataclass


class LayerError(ValueError):
    """A layer is unusable; the message names the layer, the problem and the fix.

    Attributes
    ----------
    problems : list of layers.validate.Problem
        Every problem found, when the error comes from validation (else empty).
    """

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class LayerSchema:
    """Columns and geometry types one layer kind must have."""

    kind: str
    geometry_types: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str


_POLY = ("Polygon", "MultiPolygon")
_LINE = ("LineString", "MultiLineString")
_POINT = ("Point", "MultiPoint")

LAYER_SCHEMAS: dict[str, LayerSchema] = {
    s.kind: s
    for s in (
        LayerSchema("districts", _POLY, ("name",), (), "administrative districts"),
        LayerSchema(
            "buildings", _POLY, ("use",), ("floor_area_m2",), "building footprints with use"
        ),
        LayerSchema(
            "heating_network",
            _LINE,
            ("kind", "supply_temp_c", "return_temp_c"),
            ("diameter_mm", "operator"),
            "district heating pipes; kind primary|secondary, temperatures [degC]",
        ),
        LayerSchema(
            "heat_demand",
            _POLY,
            ("demand_mwh",),
            (),
            "annual heat demand per area [MWh/yr]",
        ),
        LayerSchema(
            "data_centres",
            _POINT + _POLY,
            ("name", "pue", "cooling"),
            ("it_load_mw", "meter_id", "operator"),
            "data centres; it_load_mw [MW] or a meter_id of metered consumption",
        ),
    )
}

METERS_SCHEMA = LayerSchema(
    "meters",
    ("Point",),
    ("meter_id",),
    ("address", "customer_class", "coord_system", "contracted_kw", "floor_area_m2"),
    "the meter registry as points; contracted_kw [kW], floor_area_m2 [m2]",
)
"""The meter registry as a point layer (see :func:`layers.meters.read_meters`)."""


def schema_for(kind: str) -> LayerSchema:
    """Return the schema of a layer kind, or of ``"meters"``.

    Raises
    ------
    LayerError
        If ``kind`` is neither a key of :data:`LAYER_SCHEMAS` nor ``"meters"``.
    """
    if kind == METERS_SCHEMA.kind:
        return METERS_SCHEMA
    if kind not in LAYER_SCHEMAS:
        allowed = [*sorted(LAYER_SCHEMAS), METERS_SCHEMA.kind]
        raise LayerError(f"unknown layer kind {kind!r}; use one of {allowed}.")
    return LAYER_SCHEMAS[kind]
