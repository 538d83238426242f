"""Spatial layers: schemas, readers, validation, CRS handling and joins.

A geopandas/shapely library that never imports :mod:`geoenergy`.
"""
