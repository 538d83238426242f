"""Load a spatial layer into the store (transactional, idempotent by content hash)."""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import sqlalchemy as sa
from geoalchemy2 import WKTElement

from geoenergy.ingest.core import (
    IngestReport,
    RejectLog,
    previous_ingest,
    record_ingest,
    unchanged_report,
)
from geoenergy.ingest.sources import sha256_file
from geoenergy.store import SRID, Layer, LayerFeature, Store
from layers.io import read_layer


def ingest_layer(
    ws,
    kind: str,
    path,
    *,
    name: str | None = None,
    layer: str | None = None,
    make_valid: bool = False,
    force: bool = False,
    store: Store | None = None,
    coord_system: str | None = None,
    swap_xy: bool = False,
    study_area=None,
) -> IngestReport:
    """Validate a layer file and load its features into the store (WGS84).

    A layer of the same kind and name replaces the earlier one in the same
    transaction; loading the same file again changes nothing. The options
    ``make_valid``, ``coord_system`` (``"gcj02"`` or ``"bd09"`` for a layer
    geocoded by a Chinese map provider), ``swap_xy`` and ``study_area`` are
    those of :func:`layers.io.read_layer`.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    store = store or ws.store
    store.check()
    from pathlib import Path

    path = Path(path)
    gdf = read_layer(
        path,
        kind,
        layer=layer,
        make_valid=make_valid,
        coord_system=coord_system or "wgs84",
        swap_xy=swap_xy,
        study_area=study_area,
    )
    sha = sha256_file(path)
    prev = previous_ingest(store, "layer", sha)
    if prev is not None and not force:
        return unchanged_report(prev, path)
    name = name or kind
    report = IngestReport(kind="layer", path=str(path), sha256=sha, n_rows=len(gdf))
    props = gdf.drop(columns=gdf.geometry.name)
    records = json.loads(props.to_json(orient="records", date_format="iso", force_ascii=False))
    with store.session() as s:
        ing = record_ingest(
            s,
            report,
            RejectLog(),
            started_at=started,
            options={
                "kind": kind,
                "name": name,
                "layer": layer,
                "coord_system": gdf.attrs.get("coord_system", "wgs84"),
                "swap_xy": swap_xy,
                "make_valid": make_valid,
            },
            replace=prev is not None,
        )
        s.execute(sa.delete(Layer).where(Layer.kind == kind, Layer.name == name))
        lay = Layer(
            kind=kind,
            name=name,
            source_path=str(path.resolve()),
            sha256=sha,
            crs=gdf.attrs.get("source_crs", ""),
            n_features=len(gdf),
            ingest_id=ing.id,
            bounds=[float(v) for v in np.asarray(gdf.total_bounds)],
        )
        s.add(lay)
        s.flush()
        rows = [
            {"layer_id": lay.id, "properties": p, "geom": WKTElement(g.wkt, srid=SRID)}
            for p, g in zip(records, gdf.geometry, strict=True)
        ]
        for i in range(0, len(rows), 2000):
            s.execute(sa.insert(LayerFeature), rows[i : i + 2000])
        ing.n_accepted = len(rows)
    report.n_accepted = len(gdf)
    report.details["repaired"] = gdf.attrs.get("n_repaired", 0)
    report.seconds = time.perf_counter() - t0
    return report
