"""Fixtures of the ingestion tests: small workspaces and hand-written files.

Helpers reach the tests through the ``kit`` fixture (test modules are imported
with ``--import-mode=importlib`` and cannot import this conftest).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from geoenergy.ingest import ingest_registry
from geoenergy.store import Ingest, RejectedRow, Store

REGISTRY = """\
meter_id,address,customer_class,lon,lat
M1,北京市朝阳区建国路1号,residential,116.40,39.90
M2,北京市海淀区中关村2号,commercial,116.30,39.98
M3,北京市丰台区3号,industrial,116.28,39.85
"""


@pytest.fixture
def ws(make_ws):
    """An empty workspace (Asia/Shanghai, 4 reading buckets)."""
    return make_ws()


@pytest.fixture
def ws_reg(ws, tmp_path):
    """A workspace whose registry holds meters M1, M2, M3."""
    p = _write(tmp_path / "registry.csv", REGISTRY)
    rep = ingest_registry(ws, p)
    assert rep.n_accepted == 3
    return ws


def _write(path, text: str, encoding: str = "utf-8"):
    """Write a small text file and return its path."""
    path.write_bytes(text.encode(encoding))
    return path


def readings_csv(path, rows):
    """Write ``[(meter_id, timestamp, kwh), ...]`` as a readings CSV."""
    lines = ["meter_id,timestamp,kwh", *(",".join(str(v) for v in r) for r in rows)]
    return _write(path, "\n".join(lines) + "\n")


def rejected_rows(ws, kind: str | None = None) -> list[dict]:
    """The quarantined rows of a workspace, ordered by ingest and row number."""
    q = sa.select(RejectedRow).order_by(RejectedRow.ingest_id, RejectedRow.row_number)
    if kind:
        q = q.where(RejectedRow.kind == kind)
    with Store.for_workspace(ws) as store, store.session() as s:
        return [
            {
                "row": r.row_number,
                "column": r.column,
                "value": r.value,
                "reason": r.reason,
                "raw": r.raw,
            }
            for r in s.scalars(q)
        ]


def count(ws, model) -> int:
    with Store.for_workspace(ws) as store, store.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def ingests(ws) -> list[Ingest]:
    with Store.for_workspace(ws) as store, store.session() as s:
        return list(s.scalars(sa.select(Ingest).order_by(Ingest.id)))


def parquet_files(ws) -> list:
    """Every file under ``readings/bucket=*`` (committed or not)."""
    return sorted(ws.readings_path.glob("bucket=*/*"))


@pytest.fixture
def kit():
    """Helpers: ``write``, ``readings_csv``, ``rejected_rows``, ``count``, ``ingests``,
    ``parquet_files`` and the ``REGISTRY`` text."""
    return SimpleNamespace(
        write=_write,
        readings_csv=readings_csv,
        rejected_rows=rejected_rows,
        count=count,
        ingests=ingests,
        parquet_files=parquet_files,
        REGISTRY=REGISTRY,
    )
