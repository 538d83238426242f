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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["FileWorkspace", "workspace_from_files"]


@dataclass
class FileWorkspace:
    """A temporary workspace holding the ingested files, and the ingestion reports."""

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
    """
    from sqlalchemy.engine import make_url

    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_labels, ingest_readings, ingest_registry, ingest_weather
    from geoenergy.store.template import new_sqlite_store

    with (
        tempfile.TemporaryDirectory(prefix="geoenergy-files-") as tmp,
        Workspace.create(Path(tmp) / "ws", timezone=timezone, readings_buckets=buckets) as ws,
    ):
        # A copy of the cached migrated empty store; a throw-away store needs no more
        # coordinate systems than its own (WGS84).
        new_sqlite_store(make_url(ws.db_url).database, reference_systems="wgs84")
        fw = FileWorkspace(ws)
        fw.reports["registry"] = ingest_registry(ws, registry)
        fw.reports["readings"] = ingest_readings(ws, readings)
        if weather is not None:
            fw.reports["weather"] = ingest_weather(ws, weather)
        if labels is not None:
            fw.reports["labels"] = ingest_labels(ws, labels)
        with _local_dask():
            yield fw


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
