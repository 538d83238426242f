"""ORM models of the relational store.

The store holds meters and their addresses, spatial layers, weather,
inspection labels, detection runs and their flags, inspection reviews and
the audit trail. Meter readings are *not* here: they stay columnar in the
workspace's Parquet store.

Conventions
-----------
- Geometries are WGS84 longitude/latitude, SRID 4326.
- Timestamps are timezone-aware and stored in UTC (:class:`UTCDateTime`);
  a naive ``datetime`` is refused rather than guessed.
- The allowed values of every enumerated text column are defined once here
  (``INGEST_KINDS``, ``LABELS``, ...) and enforced by CHECK constraints.
- ``audit_log`` and ``reviews`` are append-only: database triggers, installed
  by the migration, make UPDATE and DELETE on them fail.

The schema is created by the Alembic migrations
(:func:`geoenergy.store.upgrade`), never by ``Base.metadata.create_all``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKTElement
from geoalchemy2.elements import WKBElement
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from geoenergy.contracts import CUSTOMER_CLASSES, LABELS
from layers.coords import COORD_SYSTEMS
from layers.schemas import LAYER_SCHEMAS

__all__ = [
    "ALERT_RULES",
    "ALERT_STATUSES",
    "COORD_SYSTEMS",
    "CUSTOMER_CLASSES",
    "INGEST_KINDS",
    "INGEST_STATUSES",
    "LABELS",
    "LABEL_SOURCES",
    "LAYER_KINDS",
    "NAMING_CONVENTION",
    "REVIEW_ACTIONS",
    "REVIEW_OUTCOMES",
    "SRID",
    "USER_ROLES",
    "ApiToken",
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
    "MonitorAlert",
    "RejectedRow",
    "Review",
    "UTCDateTime",
    "User",
    "Weather",
    "point",
    "record_audit",
    "utcnow",
]

#: SRID of every geometry in the store (WGS84 longitude/latitude).
SRID = 4326

INGEST_KINDS = ("readings", "registry", "labels", "weather", "layer")
INGEST_STATUSES = ("completed", "failed")
# The allowed values come from the single registries of the data contracts.
LAYER_KINDS = (*LAYER_SCHEMAS, "other")
LABEL_SOURCES = ("file", "review")
REVIEW_ACTIONS = ("assign", "schedule", "outcome", "note")
REVIEW_OUTCOMES = ("mining", "not_mining", "no_access")
#: Roles of the review app's users, from most to least privileged for personal data.
USER_ROLES = ("admin", "enforcement", "analyst", "planner", "official", "monitor")
#: Rules of the live data-centre alerts (:mod:`geoenergy.monitor.rules`).
ALERT_RULES = ("pue_above_limit", "meter_silent", "it_load_step", "facility_below_it")
ALERT_STATUSES = ("open", "closed")

#: Deterministic constraint names, identical on SQLite and PostgreSQL, so
#: later migrations (and SQLite batch mode) can refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """``DateTime(timezone=True)`` that stores UTC and always returns aware UTC.

    SQLite has no time zone type: values are stored as UTC text and read back
    with ``tzinfo=UTC``. PostgreSQL stores ``timestamptz``; values are read
    back converted to UTC. Naive datetimes raise ``ValueError``: their zone is
    unknown and guessing it would shift meter events by hours.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} has no time zone; store aware "
                f"datetimes, e.g. `value.replace(tzinfo=ZoneInfo('Asia/Shanghai'))` or "
                f"`datetime.now(datetime.UTC)`."
            )
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _one_of(column: str, values: tuple[str, ...], name: str | None = None) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name or column)


class Base(DeclarativeBase):
    """Declarative base of all GeoEnergy tables."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# -- ingestion ---------------------------------------------------------------------
class Ingest(Base):
    """One ingestion of one input file.

    ``(kind, sha256)`` is unique: re-ingesting the same file is detected and
    changes nothing.
    """

    __tablename__ = "ingests"
    __table_args__ = (
        sa.UniqueConstraint("kind", "sha256"),
        _one_of("kind", INGEST_KINDS),
        _one_of("status", INGEST_STATUSES),
        sa.CheckConstraint(
            "n_rows >= 0 AND n_accepted >= 0 AND n_rejected >= 0 AND n_duplicates >= 0",
            name="counts_non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    source_path: Mapped[str] = mapped_column(sa.String)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    n_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    n_accepted: Mapped[int] = mapped_column(default=0, server_default="0")
    n_rejected: Mapped[int] = mapped_column(default=0, server_default="0")
    n_duplicates: Mapped[int] = mapped_column(default=0, server_default="0")
    options: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    message: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    rejected_rows: Mapped[list[RejectedRow]] = relationship(
        back_populates="ingest", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Ingest(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


class RejectedRow(Base):
    """One input row refused by an ingestion, with the reason.

    Rows are never dropped silently; they go away only with their ingestion
    (ON DELETE CASCADE).
    """

    __tablename__ = "rejected_rows"
    __table_args__ = (
        sa.CheckConstraint("row_number >= 1", name="row_number_positive"),
        _one_of("kind", INGEST_KINDS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ingests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    source_path: Mapped[str] = mapped_column(sa.String)
    #: 1-based number of the data row in the file; the header is not counted.
    row_number: Mapped[int] = mapped_column()
    column: Mapped[str | None] = mapped_column(sa.String)
    value: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    #: The original row, every value as a string.
    raw: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    ingest: Mapped[Ingest] = relationship(back_populates="rejected_rows")


# -- meters ------------------------------------------------------------------------
class Meter(Base):
    """A meter of the registry, at an address.

    ``lon``/``lat`` are WGS84 degrees; ``source_lon``/``source_lat`` are the
    coordinates as found in the file, in ``coord_system``. ``geom`` is the
    WGS84 point; when left empty on insert it is filled from ``lon``/``lat``.
    """

    __tablename__ = "meters"
    __table_args__ = (
        _one_of("coord_system", COORD_SYSTEMS),
        _one_of("customer_class", CUSTOMER_CLASSES),
        sa.CheckConstraint(
            "lon >= -180 AND lon <= 180 AND lat >= -90 AND lat <= 90", name="lonlat"
        ),
        sa.CheckConstraint("n_readings >= 0", name="n_readings_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[str] = mapped_column(sa.String(64), unique=True, index=True)
    address: Mapped[str] = mapped_column(sa.Text)
    customer_class: Mapped[str] = mapped_column(sa.String(32))
    #: Longitude, WGS84. [degree]
    lon: Mapped[float] = mapped_column(sa.Float)
    #: Latitude, WGS84. [degree]
    lat: Mapped[float] = mapped_column(sa.Float)
    source_lon: Mapped[float] = mapped_column(sa.Float)
    source_lat: Mapped[float] = mapped_column(sa.Float)
    coord_system: Mapped[str] = mapped_column(
        sa.String(8), default="wgs84", server_default="wgs84"
    )
    #: Contracted power. [kW]
    contracted_kw: Mapped[float | None] = mapped_column(sa.Float)
    #: Floor area served. [m2]
    floor_area_m2: Mapped[float | None] = mapped_column(sa.Float)
    #: Inferred reading interval. [s]
    interval_s: Mapped[int | None] = mapped_column()
    first_reading: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_reading: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    n_readings: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Extra registry columns, as found in the file.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ingest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ingests.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True), nullable=False
    )

    def __repr__(self) -> str:
        return f"Meter(meter_id={self.meter_id!r}, lon={self.lon!r}, lat={self.lat!r})"


def point(lon: float, lat: float) -> WKTElement:
    """A WGS84 point for a geometry column.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude, WGS84. [degree]

    Returns
    -------
    geoalchemy2.WKTElement
        ``POINT(lon lat)`` with SRID 4326.
    """
    return WKTElement(f"POINT({float(lon)!r} {float(lat)!r})", srid=SRID)


@event.listens_for(Meter, "before_insert")
def _fill_meter_geom(mapper, connection, target: Meter) -> None:
    if target.geom is None and target.lon is not None and target.lat is not None:
        target.geom = point(target.lon, target.lat)


# -- layers ------------------------------------------------------------------------
class Layer(Base):
    """A spatial layer loaded from a file (districts, buildings, pipes, ...)."""

    __tablename__ = "layers"
    __table_args__ = (
        _one_of("kind", LAYER_KINDS),
        sa.Index(None, "kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String)
    source_path: Mapped[str] = mapped_column(sa.String)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: CRS of the source file, e.g. ``"EPSG:4547"``; features are stored in 4326.
    crs: Mapped[str] = mapped_column(sa.String)
    n_features: Mapped[int] = mapped_column(default=0, server_default="0")
    loaded_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    ingest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ingests.id", ondelete="SET NULL"))
    #: ``[minx, miny, maxx, maxy]`` in WGS84 degrees.
    bounds: Mapped[list[float] | None] = mapped_column(sa.JSON)

    features: Mapped[list[LayerFeature]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Layer(id={self.id!r}, kind={self.kind!r}, name={self.name!r})"


class LayerFeature(Base):
    """One feature of a layer: its properties and WGS84 geometry."""

    __tablename__ = "layer_features"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("layers.id", ondelete="CASCADE"), index=True
    )
    properties: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False
    )

    layer: Mapped[Layer] = relationship(back_populates="features")


# -- weather and labels ------------------------------------------------------------
class Weather(Base):
    """Daily mean air temperature."""

    __tablename__ = "weather"

    date: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    #: Daily mean air temperature. [degC]
    temp_c: Mapped[float] = mapped_column(sa.Float)
    ingest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ingests.id", ondelete="SET NULL"))


class InspectionLabel(Base):
    """What an inspection found at a meter's address: a training label."""

    __tablename__ = "inspection_labels"
    __table_args__ = (
        sa.UniqueConstraint("meter_id", "inspected_on"),
        _one_of("label", LABELS),
        _one_of("source", LABEL_SOURCES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[str] = mapped_column(sa.ForeignKey("meters.meter_id"))
    label: Mapped[str] = mapped_column(sa.String(16))
    inspected_on: Mapped[dt.date] = mapped_column(sa.Date)
    source: Mapped[str] = mapped_column(sa.String(8), default="file", server_default="file")
    ingest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ingests.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )


# -- detection ---------------------------------------------------------------------
class DetectionRun(Base):
    """One run of one detector version over a span of meter data."""

    __tablename__ = "detection_runs"
    __table_args__ = (
        sa.CheckConstraint("n_meters >= 0 AND n_flagged >= 0", name="counts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    detector: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    data_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    data_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    n_meters: Mapped[int] = mapped_column(default=0, server_default="0")
    n_flagged: Mapped[int] = mapped_column(default=0, server_default="0")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    #: SHA-256 of the saved model file that scored the run (None for built-in detectors).
    model_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    #: The model card of the detector (JSON), see :mod:`detectors.model`.
    model_card: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    flags: Mapped[list[Flag]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class Flag(Base):
    """A meter flagged by a detection run, with its score, rank and reasons."""

    __tablename__ = "flags"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "meter_id"),
        sa.Index(None, "run_id", "rank"),
        sa.Index(None, "meter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("detection_runs.id", ondelete="CASCADE"))
    meter_id: Mapped[str] = mapped_column(sa.ForeignKey("meters.meter_id"))
    score: Mapped[float] = mapped_column(sa.Float)
    #: 1 = most suspicious of the run.
    rank: Mapped[int] = mapped_column()
    reasons: Mapped[list[Any] | dict[str, Any]] = mapped_column(sa.JSON)
    #: True when the detector flags the meter; runs also keep scored, unflagged
    #: meters so a case page can show a meter's score history.
    flagged: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: "ok" or why the meter could not be scored (e.g. insufficient data).
    status: Mapped[str] = mapped_column(sa.String(128), default="ok", server_default="ok")
    district: Mapped[str | None] = mapped_column(sa.String)
    building_use: Mapped[str | None] = mapped_column(sa.String)
    peer_group: Mapped[str | None] = mapped_column(sa.String)
    #: Local date on which the suspicious load started, when detected.
    onset_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: ``hotspots.id`` of the meter's cluster in this run. No foreign key: SQLite
    #: cannot add one to an existing table without rebuilding it (see migration 0002).
    hotspot_id: Mapped[int | None] = mapped_column(index=True)
    #: Feature values at scoring time, ``{name: value}``.
    features: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    run: Mapped[DetectionRun] = relationship(back_populates="flags")


class Hotspot(Base):
    """A spatial cluster of flagged meters of one detection run (WGS84 polygon)."""

    __tablename__ = "hotspots"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("detection_runs.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String)
    n_flagged: Mapped[int] = mapped_column()
    total_score: Mapped[float | None] = mapped_column(sa.Float)
    members: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False
    )


class DetectorModel(Base):
    """A saved detector registered in the workspace; the active one scores new runs."""

    __tablename__ = "detector_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    detector: Mapped[str] = mapped_column(sa.String(64))
    path: Mapped[str] = mapped_column(sa.String)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    card: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    registered_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    registered_by: Mapped[str] = mapped_column(sa.String)
    active: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


# -- users of the review app -------------------------------------------------------
class User(Base):
    """A user of the review app. ``password_hash`` is an Argon2 hash, never the password."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", USER_ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String)
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )


class LoginAttempt(Base):
    """One login attempt, for rate limiting and the security log."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index(None, "name", "at"), sa.Index(None, "remote_addr", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    remote_addr: Mapped[str] = mapped_column(sa.String(64))
    success: Mapped[bool] = mapped_column()


# -- review and audit (append-only) ------------------------------------------------
class Review(Base):
    """One action on an inspection case (the case of one meter). Append-only.

    ``version`` is the case version the action was based on; ``(meter_id,
    version)`` is unique, so of two people acting on the same version of a
    case only the first succeeds (optimistic locking).
    """

    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("meter_id", "version"),
        _one_of("action", REVIEW_ACTIONS),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ({})".format(
                ", ".join(f"'{v}'" for v in REVIEW_OUTCOMES)
            ),
            name="outcome",
        ),
        sa.CheckConstraint("version >= 0", name="version_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[str] = mapped_column(sa.ForeignKey("meters.meter_id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(sa.ForeignKey("flags.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(32))
    assignee: Mapped[str | None] = mapped_column(sa.String)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    inspected_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    created_by: Mapped[str] = mapped_column(sa.String)
    #: Classified rectification of a confirmed-mining outcome (codes of
    #: :mod:`geoenergy.rectification`): kind of site and measure taken.
    site_kind: Mapped[str | None] = mapped_column(sa.String(32))
    measure: Mapped[str | None] = mapped_column(sa.String(32))


class AuditLog(Base):
    """Who changed what, when, with the values before and after. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index(None, "entity", "entity_id"),
        sa.Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    actor: Mapped[str] = mapped_column(sa.String)
    action: Mapped[str] = mapped_column(sa.String(64))
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str] = mapped_column(sa.String)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit-log entry to ``session``.

    The entry is written with the session's transaction, so it exists exactly
    when the change it describes does.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The session making the change.
    actor : str
        Who made the change: a user name, or ``"system"`` / ``"cli"``.
    action : str
        What was done, e.g. ``"review.outcome"`` or ``"ingest.registry"``.
    entity : str
        Kind of the changed object, usually its table name (``"meters"``).
    entity_id : Any
        Identifier of the changed object; stored as text.
    before, after : dict, optional
        JSON-serialisable state before and after the change (dates and
        datetimes are stored as ISO 8601 text).

    Returns
    -------
    AuditLog
        The new, pending entry.
    """
    for name, value in (("actor", actor), ("action", action), ("entity", entity)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"record_audit: {name} must be a non-empty string, got {value!r}.")
    entry = AuditLog(
        at=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


# -- live monitoring: ingest tokens and alerts ---------------------------------------
class ApiToken(Base):
    """A bearer token of the ingest API, allowed to write readings of some meters.

    Only the SHA-256 of the token is stored: the token is a 256-bit random
    secret printed once by ``geoenergy tokens add``, so a fast hash is as
    safe as a slow one and keeps every request's lookup to one indexed query.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Meter ids the token may write.
    meters: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    created_by: Mapped[str] = mapped_column(sa.String, default="cli", server_default="cli")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"ApiToken(name={self.name!r}, meters={self.meters!r})"


class MonitorAlert(Base):
    """One live-monitoring alert of a data centre: opened, updated and closed by its rule.

    ``key`` identifies what the alert is about within its rule (a meter id,
    or the data centre for PUE rules), so that at most one alert per
    ``(data_centre, rule, key)`` is open at a time. Acknowledging one is
    audit-logged (:func:`geoenergy.monitor.alerts.acknowledge`).
    """

    __tablename__ = "monitor_alerts"
    __table_args__ = (
        _one_of("rule", ALERT_RULES),
        _one_of("status", ALERT_STATUSES),
        sa.Index(None, "status", "data_centre"),
        sa.Index(None, "data_centre", "rule", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    data_centre: Mapped[str] = mapped_column(sa.String)
    rule: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String)
    status: Mapped[str] = mapped_column(sa.String(8), default="open", server_default="open")
    message: Mapped[str] = mapped_column(sa.Text)
    #: What the rule saw: values, times, thresholds (JSON).
    evidence: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String)
    ack_note: Mapped[str | None] = mapped_column(sa.Text)
