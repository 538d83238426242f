from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geoenergy.ingest import ingest_layer
from geoenergy.layerstore import MissingLayerError, list_layers, load_layer


def test_load_layer_round_trip(tmp_path, make_ws):
    ws = make_ws()
    gdf = gpd.GeoDataFrame(
        {"name": ["北区", "南区"]},
        geometry=[shapely.box(116.0, 40.0, 116.1, 40.1), shapely.box(116.0, 39.9, 116.1, 40.0)],
        crs=4326,
    )
    path = tmp_path / "districts.geojson"
    gdf.to_file(path)
    ingest_layer(ws, "districts", path)
    out = load_layer(ws, "districts")
    assert out.crs.to_epsg() == 4326
    assert list(out["name"]) == ["北区", "南区"]
    assert out.geometry.iloc[0].equals(gdf.geometry.iloc[0])
    assert list(list_layers(ws)["kind"]) == ["districts"]
    with pytest.raises(MissingLayerError, match=r"no buildings layer.*geoenergy layers add"):
        load_layer(ws, "buildings")
    assert load_layer(ws, "buildings", required=False) is None
