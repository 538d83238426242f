"""Detection on a ``dask.distributed`` cluster scores exactly as on local threads (issue 15).

``GEOENERGY_DASK_SCHEDULER`` sends the readings work of every command to a
cluster (:func:`geoenergy.cli._common.connect_dask`); the detection that
follows must not depend on where the readings were read. The same workspace
is scored twice through the CLI, once on local threads and once on a
two-worker ``LocalCluster``, and the tables must be identical to the bit.
"""

from __future__ import annotations

import shutil

import dask
import pandas as pd
import pytest

from geoenergy.cli import main
from geoenergy.featurecache import CACHE_FOLDER

#: Every column of ``geoenergy detect --out``: scores, ranks and flags and what explains them.
COMPARED = ["meter_id", "score", "rank", "flagged", "status", "reasons", "p_value", "list"]


def _detect(ws_path, out) -> pd.DataFrame:
    code = main(["-w", str(ws_path), "detect", "--detector", "unsupervised", "--out", str(out)])
    assert code == 0
    return pd.read_parquet(out)


def test_detection_on_a_two_worker_cluster_gives_identical_scores(
    city_ws, tmp_path, monkeypatch, capsys
):
    distributed = pytest.importorskip("distributed")
    from geoenergy import cli

    local = _detect(city_ws.path, tmp_path / "local.parquet")
    assert cli.state.dask_client is None  # the first run computed on local threads
    shutil.rmtree(city_ws.path / CACHE_FOLDER)  # the second run computes its features afresh
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as watcher,
    ):
        monkeypatch.setenv("GEOENERGY_DASK_SCHEDULER", cluster.scheduler_address)
        with distributed.get_task_stream(client=watcher) as stream:
            remote = _detect(city_ws.path, tmp_path / "cluster.parquet")
        client = cli.state.dask_client
        assert client is not None and client.scheduler.address == cluster.scheduler_address
        assert len({t["worker"] for t in stream.data}) == 2  # both worker processes read
        # Clients set dask's default scheduler while open: close the last opened first.
        client.close()
        cli.state.dask_client = None
    assert dask.config.get("scheduler", None) is None  # later tests compute locally again
    capsys.readouterr()
    assert local["score"].notna().sum() > 100  # a real run, not an empty table
    assert local["flagged"].any()
    pd.testing.assert_frame_equal(remote[COMPARED], local[COMPARED], check_exact=True)
