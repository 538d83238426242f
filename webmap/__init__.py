"""Folium map builders and the static site publisher.

Turns GeoDataFrames (and an xarray grid) into maps; never reads the store
and never imports :mod:`geoenergy`.

- :func:`enforcement_map`: flagged meters with addresses, scores, reasons and
  load-profile charts (restricted: personal data).
- :func:`officials_map`: aggregates by district and grid cell with small
  counts suppressed, and data-centre PUE compliance.
- :func:`wasteheat_map`: data-centre waste heat, the heating network,
  heat-demand density and candidate connections.
- :func:`publish_site`: an offline static site of maps, summaries and downloads.
"""

from webmap.assets import AssetsMissingError, OfflineAssetError
from webmap.basemap import Basemap
from webmap.charts import load_profile_svg
from webmap.enforcement import enforcement_map
from webmap.frame import WebMap
from webmap.officials import officials_map
from webmap.site import MAP_KINDS, MapSpec, PublishedSite, publish_site
from webmap.wasteheat import wasteheat_map

__all__ = [
    "MAP_KINDS",
    "AssetsMissingError",
    "Basemap",
    "MapSpec",
    "OfflineAssetError",
    "PublishedSite",
    "WebMap",
    "enforcement_map",
    "load_profile_svg",
    "officials_map",
    "publish_site",
    "wasteheat_map",
]
