"""Throw-away workspaces from files: the forked ingestion equals the in-process one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from geoenergy import adhoc
from geoenergy.errors import InputFileError

# Ingests the files twice, in a forked child and in this process, and prints what each
# workspace holds. Run in a fresh interpreter, which has one thread (a fork needs that).
COMPARE = """
import json, sys
import numpy as np
from geoenergy import adhoc
from geoenergy.detection import run_detection

files = json.loads(sys.argv[1])
out = {}
for mode in ("fork", "here"):
    adhoc._can_fork = lambda: mode == "fork"
    calls = []
    with adhoc.workspace_from_files(**files, meanwhile=lambda: calls.append(1)) as fw:
        rs = fw.ws.readings
        parts = [rs.read_bucket_table(b) for b in range(rs.n_buckets)]
        rows = sorted(
            (m, int(t), float(k))
            for p in parts if p is not None
            for m, t, k in zip(
                p["meter_id"].to_pylist(),
                p["timestamp"].cast("int64").to_pylist(),
                p["kwh"].to_pylist(),
            )
        )
        rejected = fw.rejected_rows()
        res = run_detection(fw.ws, detector="unsupervised", save=False, keep_cache=False)
        out[mode] = {
            "meanwhile": len(calls),
            "reports": {
                k: [r.n_rows, r.n_accepted, r.n_duplicates, r.n_rejected, sorted(r.problems)]
                for k, r in fw.reports.items()
            },
            "readings": str(hash(tuple(rows))),
            "n_readings": len(rows),
            "rejected": rejected.astype(str).to_dict(orient="list"),
            "scores": res.scores[["meter_id", "score", "flagged", "status"]]
            .astype(str).to_dict(orient="list"),
        }
print(json.dumps(out))
"""


def _bad_readings(city, tmp_path):
    # A CSV of 30 meters with one negative reading and one duplicate row.
    df = pd.read_parquet(city.readings)
    df = df[df["meter_id"].isin(df["meter_id"].unique()[:30])].copy()
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    df["kwh"] = df["kwh"].astype(str)
    df.iloc[5, df.columns.get_loc("kwh")] = "-3"
    df = pd.concat([df, df.iloc[[7]]])
    path = tmp_path / "readings.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is used on Linux only")
def test_forked_ingestion_equals_in_process(city, tmp_path):
    files = {
        "readings": str(_bad_readings(city, tmp_path)),
        "registry": str(city.registry),
        "weather": str(city.weather),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOENERGY_")}
    env["GEOENERGY_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-c", COMPARE, json.dumps(files)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    fork, here = got["fork"], got["here"]
    assert fork["meanwhile"] == here["meanwhile"] == 1
    assert fork["reports"]["readings"][3] == 1  # the negative reading
    assert fork["reports"]["readings"][2] == 1  # the repeated row
    assert fork["n_readings"] > 1000
    assert fork == here  # reports, stored readings, rejected rows and scores


def test_failing_ingestion_raises_here_after_the_fork(city, tmp_path, monkeypatch):
    # The child fails; the ingestion runs again in this process, which raises as usual.
    forks = []
    real = adhoc._ingest_forked

    def spy(*args):
        forks.append(1)
        return real(*args)

    monkeypatch.setattr(adhoc, "_can_fork", lambda: sys.platform.startswith("linux"))
    monkeypatch.setattr(adhoc, "_ingest_forked", spy)
    registry = tmp_path / "registry.csv"
    pd.read_csv(city.registry).drop(columns=["lat"]).to_csv(registry, index=False)
    calls = []
    with (
        pytest.raises(InputFileError, match="lat"),
        adhoc.workspace_from_files(
            readings=city.readings, registry=registry, meanwhile=lambda: calls.append(1)
        ),
    ):
        pass
    assert calls == [1]
    assert forks == ([1] if sys.platform.startswith("linux") else [])


def test_throwaway_store_is_never_the_configured_database(city, tmp_path, monkeypatch):
    # GEOENERGY_DB names the user's database; a throw-away workspace must not write there.
    monkeypatch.setenv("GEOENERGY_DB", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    with adhoc.workspace_from_files(readings=city.readings, registry=city.registry) as fw:
        assert fw.ws.db_url.startswith("sqlite:///")
        assert fw.ws.db_url.endswith("store.sqlite")
        assert fw.reports["registry"].n_accepted == len(pd.read_csv(city.registry))
