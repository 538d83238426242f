"""An acknowledged batch survives SIGKILL of the server, and nothing is stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.geoenergy.monitor.conftest import free_port


def _start(ws):
    port = free_port()
    env = dict(os.environ, GEOENERGY_WORKSPACE=str(ws.path), GEOENERGY_DB=ws.db_url)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "geoenergy.web.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the server did not start")
        time.sleep(0.2)


def _batches(n: int):
    t0 = pd.Timestamp("2026-12-01 00:00", tz="Asia/Shanghai")
    out = []
    for k in range(n):
        rows = []
        for j in range(5):  # five minutes per batch
            t = (t0 + pd.Timedelta(minutes=5 * k + j)).isoformat()
            rows += [
                {"meter_id": "F1", "timestamp": t, "kwh": 2.0 + k / 100},
                {"meter_id": "I1", "timestamp": t, "kwh": 1.5},
            ]
        out.append(rows)
    return out


def _stored_rows(ws) -> pa.Table:
    files = [p for paths in ws.readings.files().values() for p in paths]
    return pa.concat_tables([pq.read_table(p) for p in files]) if files else None


def test_sigkill_mid_stream_keeps_every_acknowledged_row_once(monitor_ws, token):
    batches = _batches(40)
    acked: list[int] = []
    proc, url = _start(monitor_ws)
    headers = {"Authorization": f"Bearer {token}"}

    def stream():
        with httpx.Client(timeout=30) as client:
            for k, body in enumerate(batches):
                try:
                    r = client.post(f"{url}/api/v1/readings", json=body, headers=headers)
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch is not acknowledged
                if r.status_code != 200:
                    return
                assert r.json()["accepted"] + r.json()["duplicates"] == len(body)
                acked.append(k)

    t = threading.Thread(target=stream)
    t.start()
    deadline = time.monotonic() + 120
    while len(acked) < 5 and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    t.join(60)
    assert len(acked) >= 5

    # Restart; the client re-sends everything it has no acknowledgement for, and more.
    proc, url = _start(monitor_ws)
    try:
        last = max(acked)
        for k in range(last - 1, min(last + 4, len(batches))):
            r = httpx.post(f"{url}/api/v1/readings", json=batches[k], headers=headers, timeout=30)
            assert r.status_code == 200, r.text
        sent = set(acked) | set(range(last - 1, min(last + 4, len(batches))))
    finally:
        proc.kill()
        proc.wait(10)

    table = _stored_rows(monitor_ws)
    df = table.to_pandas()
    assert not df.duplicated(["meter_id", "timestamp"]).any()
    expected = {
        (r["meter_id"], pd.Timestamp(r["timestamp"]).tz_convert("UTC"))
        for k in sent
        for r in batches[k]
    }
    got = {(m, pd.Timestamp(ts)) for m, ts in zip(df["meter_id"], df["timestamp"], strict=True)}
    assert expected <= got
    assert len(got) <= 10 * len(batches)
