"""Read the spatial layers stored in the workspace back as GeoDataFrames."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import functions as gfn

from geoenergy.errors import GeoEnergyError
from geoenergy.store import Layer, LayerFeature, Meter, Store

__all__ = ["list_layers", "load_layer", "load_meters"]


class MissingLayerError(GeoEnergyError):
    """The workspace has no layer of the asked kind."""


def _store(ws, store):
    return store or ws.store


def list_layers(ws, *, store: Store | None = None) -> pd.DataFrame:
    """The layers in the store: ``kind, name, n_features, crs, loaded_at, source_path``."""
    store = _store(ws, store)
    with store.session() as s:
        rows = s.execute(
            sa.select(
                Layer.kind,
                Layer.name,
                Layer.n_features,
                Layer.crs,
                Layer.loaded_at,
                Layer.source_path,
            ).order_by(Layer.kind, Layer.name)
        ).all()
    return pd.DataFrame(
        rows, columns=["kind", "name", "n_features", "crs", "loaded_at", "source_path"]
    )


def load_layer(
    ws, kind: str, *, name: str | None = None, store: Store | None = None, required: bool = True
) -> gpd.GeoDataFrame | None:
    """A stored layer as a GeoDataFrame in WGS84 (EPSG:4326), properties as columns.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    kind : str
        Layer kind, e.g. ``"districts"``.
    name : str, optional
        Layer name (default: the most recently loaded layer of the kind).
    required : bool, default True
        Raise :class:`MissingLayerError` when there is none; else return None.
    """
    store = _store(ws, store)
    with store.session() as s:
        q = sa.select(Layer).where(Layer.kind == kind)
        if name is not None:
            q = q.where(Layer.name == name)
        layer = s.execute(q.order_by(Layer.loaded_at.desc(), Layer.id.desc())).scalars().first()
        if layer is None:
            if not required:
                return None
            raise MissingLayerError(
                f"the workspace has no {kind} layer"
                + (f" named {name!r}" if name else "")
                + f". Load one with `geoenergy layers add {kind} FILE`."
            )
        rows = s.execute(
            sa.select(LayerFeature.properties, gfn.ST_AsBinary(LayerFeature.geom))
            .where(LayerFeature.layer_id == layer.id)
            .order_by(LayerFeature.id)
        ).all()
        meta = {"kind": layer.kind, "name": layer.name, "source_crs": layer.crs}
    props = pd.DataFrame([r[0] or {} for r in rows])
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    gdf = gpd.GeoDataFrame(props, geometry=geoms, crs="EPSG:4326")
    gdf.attrs.update(meta)
    return gdf


def load_meters(ws, *, store: Store | None = None) -> gpd.GeoDataFrame:
    """The meter registry as WGS84 points (already converted from GCJ-02/BD-09)."""
    store = _store(ws, store)
    cols = [
        Meter.meter_id,
        Meter.address,
        Meter.customer_class,
        Meter.lon,
        Meter.lat,
        Meter.coord_system,
        Meter.contracted_kw,
        Meter.floor_area_m2,
    ]
    with store.session() as s:
        rows = s.execute(sa.select(*cols).order_by(Meter.meter_id)).all()
    df = pd.DataFrame(rows, columns=[c.key for c in cols])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
