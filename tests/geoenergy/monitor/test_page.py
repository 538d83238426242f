"""The monitoring page over real HTTP: roles, map data, charts, acknowledging alerts."""

from __future__ import annotations

import re

import httpx
import pandas as pd
import pytest

from tests.geoenergy.monitor.conftest import DC_NAME, Server

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _login(url, name):
    c = httpx.Client(base_url=url, timeout=30)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf_token": CSRF.search(page.text)[1]},
    )
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
def site(monitor_ws):
    from geoenergy.ingest import ingest_readings
    from geoenergy.monitor.alerts import evaluate
    from geoenergy.web.app import create_app
    from geoenergy.web.auth import add_user

    for name, role in (("mo", "monitor"), ("pat", "planner"), ("ada", "admin")):
        add_user(monitor_ws.store, name, role, PASSWORD, hasher=_hasher())
    t0 = pd.Timestamp.now(tz="Asia/Shanghai").floor("h") - pd.Timedelta(hours=5)
    rows = []
    for k in range(5 * 12):
        t = (t0 + pd.Timedelta(minutes=5 * k)).isoformat()
        rows += [("F1", t, 16.0), ("I1", t, 10.0)]  # PUE 1.6: above 1.35
    path = monitor_ws.path / "live.csv"
    pd.DataFrame(rows, columns=["meter_id", "timestamp", "kwh"]).to_csv(path, index=False)
    ingest_readings(monitor_ws, path)
    evaluate(monitor_ws)
    app = create_app(monitor_ws, secret_key="s" * 64, password_hasher=_hasher())
    app.state.web.leaflet_dir = app.state.web.leaflet_dir or monitor_ws.path  # map data on
    with Server(app) as srv:
        yield srv


def test_monitor_role_sees_sites_alerts_and_acknowledges(site, monitor_ws):
    c = _login(site.url, "mo")
    r = c.get("/monitor")
    assert r.status_code == 200
    html = r.text
    assert DC_NAME in html and "pue_above_limit" in html
    assert html.index("Alerts") < html.index("Data centres")
    assert "data-monitor-map" in html and '"state": "over"' in html.replace("&#34;", '"')
    alert_id = re.search(r'action="/monitor/alerts/(\d+)/ack"', html)[1]
    r = c.post(
        f"/monitor/alerts/{alert_id}/ack",
        data={"csrf_token": CSRF.search(html)[1], "note": "called the operator <b>now</b>"},
    )
    assert r.status_code == 303
    page = c.get("/monitor").text
    assert "called the operator &lt;b&gt;now&lt;/b&gt;" in page
    dc = c.get(f"/monitor/dc/{DC_NAME}")
    # Energy and PUE, over 24 hours and over 30 days.
    assert dc.status_code == 200 and dc.text.count("<svg") == 4
    assert "partial year" in dc.text
    # One labelled time zone, the workspace's, on the tables and the charts.
    from geoenergy.web.zone import zone_label

    label = zone_label(monitor_ws.tz)
    assert f"opened ({label})" in page and dc.text.count(f"({label})") >= 5
    api = c.get("/api/v1/pue", params={"data_centre": DC_NAME})  # the session may read
    assert api.status_code == 200 and api.json()["rolling_30d"]["pue"] == pytest.approx(1.6)


def test_ack_needs_csrf_and_other_roles_are_refused(site):
    c = _login(site.url, "mo")
    html = c.get("/monitor").text
    alert_id = re.search(r'action="/monitor/alerts/(\d+)/ack"', html)[1]
    r = c.post(f"/monitor/alerts/{alert_id}/ack", data={"note": "x"})
    assert r.status_code == 403
    p = _login(site.url, "pat")
    assert p.get("/monitor").status_code == 403
    assert p.get("/api/v1/pue", params={"data_centre": DC_NAME}).status_code == 403
    assert _login(site.url, "ada").get("/monitor").status_code == 200
    anon = httpx.get(f"{site.url}/monitor", follow_redirects=False)
    assert anon.status_code in (302, 303)
