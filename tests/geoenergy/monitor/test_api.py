"""The ingest and PUE API over real HTTP (uvicorn on a loopback port)."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.geoenergy.monitor.conftest import DC_NAME, Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _minutes(n: int, back: int = 30) -> list[str]:
    t0 = pd.Timestamp.now(tz="Asia/Shanghai").floor("min") - pd.Timedelta(minutes=back)
    return [(t0 + pd.Timedelta(minutes=i)).isoformat() for i in range(n)]


def _batch(times, f=2.0, i=1.6):
    return [
        row
        for t in times
        for row in (
            {"meter_id": "F1", "timestamp": t, "kwh": f},
            {"meter_id": "I1", "timestamp": t, "kwh": i},
        )
    ]


def _post(server, token, body, **kw):
    return httpx.post(
        f"{server.url}/api/v1/readings",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kw,
    )


def _stored(ws) -> pd.Series:
    from geoenergy.readings import open_readings

    ds = open_readings(ws, resolution="native", meters=["F1", "I1"])
    return ds.kwh.to_series().dropna()


def test_acceptance_post_repost_refusals_and_pue(monitor_ws, token, server):
    times = _minutes(3)
    r = _post(server, token, _batch(times))
    assert r.status_code == 200, r.text
    assert r.json() | {"rejections": []} == {
        "rows": 6,
        "accepted": 6,
        "duplicates": 0,
        "rejected": 0,
        "rejections": [],
        "ingest_id": r.json()["ingest_id"],
        "status": "ingested",
    }
    before = _stored(monitor_ws)
    assert len(before) == 6

    again = _post(server, token, _batch(times))
    assert again.status_code == 200
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 6)
    pd.testing.assert_series_equal(_stored(monitor_ws), before)

    t_new = _minutes(1, back=26)[0]
    mixed = [
        {"meter_id": "X1", "timestamp": t_new, "kwh": 1.0},
        {"meter_id": "F1", "timestamp": t_new, "kwh": -1.0},
        {"meter_id": "I1", "timestamp": t_new, "kwh": 1.6},
    ]
    r = _post(server, token, mixed)
    body = r.json()
    assert r.status_code == 200
    assert (body["rows"], body["accepted"], body["rejected"]) == (3, 1, 2)
    reasons = {x["row"]: x for x in body["rejections"]}
    assert reasons[1]["meter_id"] == "X1"
    assert "not one of this token's meters" in reasons[1]["reason"]
    assert reasons[2]["column"] == "kwh" and reasons[2]["reason"]
    assert ">= 0" in reasons[2]["reason"] or "negative" in reasons[2]["reason"]

    # The negative row is quarantined like a file's.
    from geoenergy.store.models import RejectedRow

    with monitor_ws.store.session() as s:
        n = s.scalar(
            sa.select(sa.func.count())
            .select_from(RejectedRow)
            .where(RejectedRow.ingest_id == body["ingest_id"])
        )
    assert n == 1

    q = httpx.get(
        f"{server.url}/api/v1/pue",
        params={"data_centre": DC_NAME, "resolution": "hour"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert q.status_code == 200, q.text
    pue = q.json()
    assert pue["data_centre"] == DC_NAME and pue["step_s"] == 60
    assert pue["periods"], pue
    fac = sum(p["facility_mwh"] for p in pue["periods"])
    it = sum(p["it_mwh"] for p in pue["periods"])
    assert fac == pytest.approx(3 * 2.0 / 1000) and it == pytest.approx(3 * 1.6 / 1000)
    assert pue["rolling_30d"]["pue"] == pytest.approx(1.25)
    assert pue["periods"][-1]["limit"] in (1.35, 1.4)
    for res in ("day", "month"):
        q = httpx.get(
            f"{server.url}/api/v1/pue",
            params={"data_centre": DC_NAME, "resolution": res},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert q.status_code == 200 and q.json()["periods"][-1]["pue"] == pytest.approx(1.25)


def test_csv_batch_and_errors(monitor_ws, token, server):
    times = _minutes(2)
    csv = "meter_id,timestamp,kwh\n" + "".join(f"F1,{t},2.0\nI1,{t},1.5\n" for t in times)
    r = httpx.post(
        f"{server.url}/api/v1/readings",
        content=csv.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["accepted"] == 4

    bad = httpx.post(
        f"{server.url}/api/v1/readings",
        content=b"meter,time\nF1,x\n",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=30,
    )
    assert bad.status_code == 400 and "meter_id,timestamp,kwh" in bad.json()["error"]
    assert _post(server, token, {"not": "a list"}).status_code == 400
    r = httpx.post(
        f"{server.url}/api/v1/readings",
        content=b"<x/>",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )
    assert r.status_code == 415

    big = [{"meter_id": "F1", "timestamp": "2026-01-01T00:00:00", "kwh": 1}] * 10_001
    r = _post(server, token, big)
    assert r.status_code == 413 and "10,000" in r.json()["error"]

    # A value that contradicts a stored reading is rejected, never overwritten.
    r = _post(server, token, [{"meter_id": "F1", "timestamp": times[0], "kwh": 9.0}])
    assert r.json()["rejected"] == 1 and r.json()["accepted"] == 0


def test_tokens_are_required_and_revocable(monitor_ws, token, server):
    from geoenergy.monitor.tokens import revoke_token

    body = _batch(_minutes(1))
    r = httpx.post(f"{server.url}/api/v1/readings", json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert _post(server, "geo_wrong", body).status_code == 401
    assert (
        httpx.get(f"{server.url}/api/v1/pue", params={"data_centre": DC_NAME}).status_code == 401
    )
    revoke_token(monitor_ws.store, "yizhuang-gw")
    assert _post(server, token, body).status_code == 401
    # No cookie was set: the API is stateless.
    assert "set-cookie" not in r.headers


def test_unknown_data_centre_and_resolution(monitor_ws, token, server):
    h = {"Authorization": f"Bearer {token}"}
    r = httpx.get(f"{server.url}/api/v1/pue", params={"data_centre": "nope"}, headers=h)
    assert r.status_code == 404 and r.json()["known"] == [DC_NAME]
    r = httpx.get(
        f"{server.url}/api/v1/pue",
        params={"data_centre": DC_NAME, "resolution": "week"},
        headers=h,
    )
    assert r.status_code == 400


def test_rate_limit_answers_429_with_retry_after(monitor_ws, token):
    from geoenergy.web.app import create_app

    monitor_ws.settings.extra["monitor"] = {"api": {"requests_per_s": 0.01, "burst_requests": 2}}
    app = create_app(monitor_ws, secret_key="x" * 64)
    with Server(app) as srv:
        codes = [_post(srv, token, _batch(_minutes(1, back=40 + k))) for k in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert int(codes[2].headers["retry-after"]) >= 1
        assert "retry" in codes[2].json()["error"].lower()
    assert len(_stored(monitor_ws)) == 4  # the refused batch stored nothing
