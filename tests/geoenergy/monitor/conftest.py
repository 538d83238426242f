"""Fixtures of the live-monitoring tests: a workspace with one data centre
(facility meter F1, IT meter I1), an unrelated meter X1, and a live server."""

from __future__ import annotations

import json
import socket
import threading
import time

import pandas as pd
import pytest

DC_NAME = "Yizhuang DC"


def _write_inputs(folder):
    reg = folder / "registry.csv"
    pd.DataFrame(
        {
            "meter_id": ["F1", "I1", "X1"],
            "address": ["1 Kechuang Rd", "1 Kechuang Rd", "9 Other St"],
            "customer_class": ["data_centre", "data_centre", "commercial"],
            "lon": [116.50, 116.50, 116.40],
            "lat": [39.79, 39.79, 39.90],
        }
    ).to_csv(reg, index=False)
    layer = folder / "data_centres.geojson"
    layer.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [116.50, 39.79]},
                        "properties": {
                            "name": DC_NAME,
                            "pue": 1.5,
                            "cooling": "water",
                            "it_load_mw": 0.1,
                            "meter_id": "F1",
                            "it_meter_id": "I1",
                            "status": "existing",
                        },
                    }
                ],
            }
        )
    )
    return reg, layer


def setup_workspace(ws):
    """Registry and data_centres layer of the small monitoring city."""
    from geoenergy.ingest import ingest_layer, ingest_registry

    reg, layer = _write_inputs(ws.path)
    ingest_registry(ws, reg)
    ingest_layer(ws, "data_centres", layer)
    return ws


@pytest.fixture(params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def monitor_ws(request, tmp_path):
    """A migrated workspace with the data centre, on SpatiaLite and on PostGIS."""
    from geoenergy.config import Workspace
    from geoenergy.store import upgrade

    if request.param == "spatialite":
        ws = Workspace.create(tmp_path / "ws", readings_buckets=4)
    else:
        url = request.getfixturevalue("postgis_url")
        ws = Workspace.create(tmp_path / "ws", readings_buckets=4, db_url=url)
    upgrade(ws.db_url)
    setup_workspace(ws)
    yield ws
    ws.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving ``app`` in a background thread on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def token(monitor_ws):
    from geoenergy.monitor.tokens import add_token

    tok, warnings = add_token(monitor_ws.store, "yizhuang-gw", ["F1", "I1"])
    assert warnings == []
    return tok


@pytest.fixture
def server(monitor_ws, token):
    from geoenergy.web.app import create_app

    app = create_app(monitor_ws, secret_key="x" * 64)
    with Server(app) as srv:
        yield srv
