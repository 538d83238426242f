"""Folium map builders and the static site publisher.

Turns GeoDataFrames into maps; never reads the store and never imports
:mod:`geoenergy`.
"""
