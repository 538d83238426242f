"""Spatial layers: schemas, readers, validation, CRS handling and joins.

A geopandas/shapely library that never imports :mod:`geoenergy`. The main
entry points, by task:

- reading and checking: :func:`read_layer`, :func:`check_layer`,
  :func:`read_meters`, :func:`read_postgis` (and :func:`write_postgis`);
- coordinate systems: :mod:`layers.coords` (WGS84 / GCJ-02 / BD-09) and
  :func:`metric_crs`;
- joins: :func:`join_meters` (districts and buildings), and in SQL
  :func:`join_meters_postgis`;
- detector support: :func:`peer_groups`, :func:`consumption_intensity`;
- maps: :func:`dbscan_hotspots`, :func:`getis_ord_gi_star`,
  :func:`aggregate_to_districts`, :func:`aggregate_to_grid`.
"""

from layers.aggregate import aggregate_to_districts, aggregate_to_grid, suppress_small
from layers.crs import WGS84, align_crs, metric_crs, to_metric, to_wgs84
from layers.hotspots import dbscan_hotspots, getis_ord_gi_star
from layers.io import check_layer, read_layer
from layers.joins import join_buildings, join_districts, join_meters
from layers.meters import read_meters
from layers.peers import consumption_intensity, peer_groups
from layers.postgis import join_meters_postgis, read_postgis, write_postgis
from layers.schemas import LAYER_SCHEMAS, METERS_SCHEMA, LayerError
from layers.validate import PROBLEMS, LayerReport, inspect_layer, validate_layer

__all__ = [
    "LAYER_SCHEMAS",
    "METERS_SCHEMA",
    "PROBLEMS",
    "WGS84",
    "LayerError",
    "LayerReport",
    "aggregate_to_districts",
    "aggregate_to_grid",
    "align_crs",
    "check_layer",
    "consumption_intensity",
    "dbscan_hotspots",
    "getis_ord_gi_star",
    "inspect_layer",
    "join_buildings",
    "join_districts",
    "join_meters",
    "join_meters_postgis",
    "metric_crs",
    "peer_groups",
    "read_layer",
    "read_meters",
    "read_postgis",
    "suppress_small",
    "to_metric",
    "to_wgs84",
    "validate_layer",
    "write_postgis",
]
