"""One workspace handle: a command opens the store once and hands it down."""

from __future__ import annotations

import pytest

from geoenergy.config import Workspace
from geoenergy.store import Store


@pytest.fixture
def count_stores(monkeypatch):
    """Count every Store (engine + pool) opened while the test runs."""
    opened = []
    original = Store.__init__

    def counting(self, url, **kw):
        opened.append(str(url))
        original(self, url, **kw)

    monkeypatch.setattr(Store, "__init__", counting)
    return opened


def test_the_workspace_opens_its_stores_once_and_shares_them(city_ws, count_stores):
    assert city_ws.store is city_ws.store
    assert city_ws.readings is city_ws.readings
    assert len(count_stores) == 1


def test_one_detection_run_opens_the_store_once(city_ws, count_stores):
    from geoenergy.detection import run_detection

    res = run_detection(city_ws, detector="rule")
    assert res.run_id is not None
    assert len(count_stores) == 1, f"the store was opened {len(count_stores)} times"


def test_one_heat_analysis_and_publish_open_the_store_once(city_ws, count_stores, tmp_path):
    from geoenergy.heat import analyse_workspace
    from geoenergy.publish import publish_workspace

    analyse_workspace(city_ws)
    publish_workspace(city_ws, tmp_path / "site")
    assert len(count_stores) == 1


def test_close_disposes_and_the_workspace_reopens_on_use(city_ws, count_stores):
    with Workspace(city_ws.path) as ws:
        first = ws.store
        first.check()
    assert ws._store is None
    assert ws.store is not first
    ws.close()
    assert len(count_stores) == 2
