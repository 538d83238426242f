"""Run workspace pipelines straight from data-contract files.

``geoenergy detect --readings FILE --registry FILE`` needs no workspace: the
files are ingested into a throw-away workspace in a temporary folder with
exactly the checks of ``geoenergy ingest`` (interval inference, duplicates,
time zones), and the rows those checks reject are written beside the output
so nothing is lost silently. Its store is a copy of a cached, migrated empty
store (:func:`geoenergy.store.template.new_sqlite_store`), so a run does not
migrate a store it throws away.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["FileWorkspace", "workspace_from_files"]


@dataclass
class FileWorkspace:
    """A temporary workspace holding the ingested files, and the ingestion reports by kind."""

    ws: object
    reports: dict = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return sum(r.n_rejected for r in self.reports.values())

    def rejected_rows(self) -> pd.DataFrame:
        """Every rejected row, as ``geoenergy rejected --export`` writes them."""
        from geoenergy.ingest.core import rejected_frame

        return rejected_frame(self.ws.store)


@contextlib.contextmanager
def workspace_from_files(
    *,
    readings,
    registry,
    weather=None,
    labels=None,
    timezone: str = "Asia/Shanghai",
    buckets: int = 8,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[FileWorkspace]:
    """Ingest data-contract files into a temporary workspace (deleted on exit).

    Parameters
    ----------
    readings, registry : str or Path
        Readings and meter registry (CSV or Parquet).
    weather, labels : str or Path, optional
        Daily weather and inspection labels.
    timezone : str
        IANA zone of naive timestamps in the readings.
    buckets : int
        Hash partitions of the temporary readings store.
    meanwhile : callable, optional
        Work for this process while the files are ingested, e.g. starting
        a thread that imports the detection's libraries
        (:class:`geoenergy.cli._common.Preload`). Called once, when the
        ingestion starts. On Linux, when this process runs no other thread,
        the ingestion runs in a forked child process (:func:`_ingest_forked`)
        so that it and ``meanwhile`` use two cores instead of taking turns
        on the GIL; the child writes the same workspace and hands back its
        reports. Otherwise, or when the child fails, the files are ingested
        in this process (so any error is raised here, as usual).
    """

    files = {"registry": registry, "readings": readings, "weather": weather, "labels": labels}
    files = {k: v for k, v in files.items() if v is not None}
    with tempfile.TemporaryDirectory(prefix="geoenergy-files-") as tmp:
        path = Path(tmp) / "ws"
        reports = None
        if meanwhile is not None and _can_fork():
            reports = _ingest_forked(path, files, timezone, buckets, meanwhile)
            if reports is None:  # the child failed: start again here, where errors surface
                shutil.rmtree(path, ignore_errors=True)
        elif meanwhile is not None:
            meanwhile()
        if reports is None:
            ws = _throwaway(path, timezone, buckets)
            try:
                reports = _ingest(ws, files)
            except BaseException:
                ws.close()
                raise
        else:  # the child's workspace
            ws = _throwaway(path, timezone, buckets, create=False)
        with ws, _local_dask():
            yield FileWorkspace(ws, reports)


def _throwaway(path: Path, timezone: str, buckets: int, *, create: bool = True):
    """The temporary workspace at ``path``: its own SpatiaLite store, whatever GEOENERGY_DB says."""
    from sqlalchemy.engine import make_url

    from geoenergy.config import Workspace
    from geoenergy.store.template import new_sqlite_store

    ws = Workspace.create(path, timezone=timezone, readings_buckets=buckets)
    ws.settings.db_url = None  # never the user's database: the file inside the folder
    if create:
        # A copy of the cached migrated empty store; a throw-away store needs no more
        # coordinate systems than its own (WGS84).
        new_sqlite_store(make_url(ws.db_url).database, reference_systems="wgs84")
    return ws


def _ingest(ws, files: dict) -> dict:
    """Ingest ``files`` ({kind: path}) into ``ws`` in the contract's order; the reports by kind."""
    from geoenergy.ingest import ingest_labels, ingest_readings, ingest_registry, ingest_weather

    ingest = {
        "registry": ingest_registry,
        "readings": ingest_readings,
        "weather": ingest_weather,
        "labels": ingest_labels,
    }
    return {kind: ingest[kind](ws, files[kind]) for kind in ingest if kind in files}


def _can_fork() -> bool:
    """Whether a child process can be forked safely: Linux, and no other thread running.

    A fork copies only the calling thread, so a lock held by another thread
    (a dask worker, a web server, a database pool) would stay locked in the child.
    """
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _ingest_forked(path: Path, files: dict, timezone: str, buckets: int, meanwhile) -> dict | None:
    """Ingest in a forked child while this process runs ``meanwhile``; the child's reports.

    Returns None when the child did not finish (an error, a crash): the caller
    then ingests in its own process, which raises the error as usual. The
    child leaves by ``os._exit`` so that none of this process's exit handlers
    or buffered output runs twice.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: ingest, send the reports, leave
        code = 1
        try:
            os.close(read_end)
            with _throwaway(path, timezone, buckets) as ws:
                data = pickle.dumps(_ingest(ws, files))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        except BaseException:  # reported by the parent's own attempt
            pass
        finally:
            os._exit(code)
    os.close(write_end)
    pipe = os.fdopen(read_end, "rb")
    try:
        with pipe:
            meanwhile()
            data = pipe.read()
    finally:  # also on Ctrl-C, which reaches the child too: never leave it behind
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not data:
        return None
    return pickle.loads(data)


@contextlib.contextmanager
def _local_dask():
    """Compute dask collections on the local threads unless dask.distributed is in use.

    Without a scheduler set, every ``compute`` imports ``dask.distributed`` (about
    a second) only to look for a client; none can exist if it was never imported.
    """
    import sys

    if "distributed" in sys.modules:
        yield
        return
    import dask
    import dask.threaded

    with dask.config.set(scheduler=dask.threaded.get):
        yield
