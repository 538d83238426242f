"""Layer kinds of the data contract: required columns and geometry types.

One registry (:data:`LAYER_SCHEMAS`) drives validation and documentation.
"""

from __future__ import annotations

from dataclasses import dataclass


class LayerError(ValueError):
    """A layer is unusable; the message names the layer, the problem and the fix."""


@dataclass(frozen=True)
class LayerSchema:
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
