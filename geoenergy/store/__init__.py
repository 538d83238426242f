"""The relational store: SpatiaLite (embedded default) or PostGIS (production).

It holds meters, layers, weather, inspection labels, detection runs and
flags, inspection reviews and the audit trail. Meter readings are not here
(they stay columnar in Parquet).

Example
-------
>>> from geoenergy.store import Store, Meter, upgrade
>>> upgrade("sqlite:////tmp/ws/store.sqlite")  # doctest: +SKIP
>>> store = Store("sqlite:////tmp/ws/store.sqlite")  # doctest: +SKIP
>>> store.check()  # doctest: +SKIP
>>> with store.session() as s:  # doctest: +SKIP
...     s.add(Meter(meter_id="M1", address="北京市朝阳区建国路88号", ...))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from geoenergy.store.engine import make_engine, redact_url
from geoenergy.store.migrate import check_schema, current_revision, head_revision, upgrade
from geoenergy.store.models import (
    COORD_SYSTEMS,
    CUSTOMER_CLASSES,
    INGEST_KINDS,
    INGEST_STATUSES,
    LABEL_SOURCES,
    LABELS,
    LAYER_KINDS,
    REVIEW_ACTIONS,
    REVIEW_OUTCOMES,
    SRID,
    USER_ROLES,
    AuditLog,
    Base,
    DetectionRun,
    DetectorModel,
    Flag,
    Hotspot,
    Ingest,
    InspectionLabel,
    Layer,
    LayerFeature,
    LoginAttempt,
    Meter,
    RejectedRow,
    Review,
    User,
    UTCDateTime,
    Weather,
    point,
    record_audit,
    utcnow,
)

__all__ = [
    "COORD_SYSTEMS",
    "CUSTOMER_CLASSES",
    "INGEST_KINDS",
    "INGEST_STATUSES",
    "LABELS",
    "LABEL_SOURCES",
    "LAYER_KINDS",
    "REVIEW_ACTIONS",
    "REVIEW_OUTCOMES",
    "SRID",
    "USER_ROLES",
    "AuditLog",
    "Base",
    "DetectionRun",
    "DetectorModel",
    "Flag",
    "Hotspot",
    "Ingest",
    "InspectionLabel",
    "Layer",
    "LayerFeature",
    "LoginAttempt",
    "Meter",
    "RejectedRow",
    "Review",
    "Store",
    "UTCDateTime",
    "User",
    "Weather",
    "check_schema",
    "current_revision",
    "head_revision",
    "make_engine",
    "point",
    "record_audit",
    "redact_url",
    "upgrade",
    "utcnow",
]


class Store:
    """A GeoEnergy store: an engine and transactional sessions.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        ``sqlite:///path/to/store.sqlite`` or
        ``postgresql+psycopg://user:password@host:5432/dbname``.
    **engine_kw
        Passed on to :func:`make_engine`.

    Notes
    -----
    Creating a ``Store`` neither creates nor checks the schema: call
    :meth:`check` before use (or :func:`upgrade` to migrate).
    """

    def __init__(self, url, **engine_kw):
        self.engine: sa.Engine = make_engine(url, **engine_kw)
        self._sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @classmethod
    def for_workspace(cls, ws, **engine_kw) -> Store:
        """The store of a workspace (its ``db_url``).

        Parameters
        ----------
        ws : geoenergy.config.Workspace
            The workspace.
        """
        return cls(ws.db_url, **engine_kw)

    @property
    def url(self) -> str:
        """The store URL with the password hidden."""
        return redact_url(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session inside one transaction.

        Commits when the block ends normally, rolls back when it raises.
        Objects stay usable after the block (``expire_on_commit=False``).

        Yields
        ------
        sqlalchemy.orm.Session
        """
        with self._sessionmaker() as session, session.begin():
            yield session

    def check(self) -> str:
        """Check that the schema is at the head revision; see :func:`check_schema`."""
        return check_schema(self.engine)

    def upgrade(self, revision: str = "head") -> str | None:
        """Migrate this store; see :func:`upgrade`."""
        return upgrade(self.engine, revision)

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
