"""Schema migrations of the store (Alembic), without an ``alembic.ini``.

The migration scripts live in the package (``geoenergy/store/migrations``);
the Alembic configuration is built here in code. ``geoenergy db upgrade``
calls :func:`upgrade`; everything else opens the store with
:func:`check_schema` and refuses to run on an outdated schema.

To write a new migration (developers)::

    from alembic import command
    from geoenergy.store.migrate import alembic_config, upgrade

    upgrade(url)  # bring a scratch store to head first
    command.revision(alembic_config(url), "add x", autogenerate=True, rev_id="0002")

then review the generated file in ``migrations/versions`` and test it on
both SpatiaLite and PostGIS.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from geoenergy.errors import StoreError
from geoenergy.store.engine import make_engine, redact_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "upgrade",
]


def alembic_config(url: str | URL | None = None) -> Config:
    """The Alembic configuration of the store, built in code.

    Parameters
    ----------
    url : str or URL, optional
        Store URL, used when no connection is handed to the migration
        environment (``config.attributes["connection"]``).

    Returns
    -------
    alembic.config.Config
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # Kept in attributes, not main options: configparser would choke on
        # a '%' in a password.
        cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    """The schema revision this GeoEnergy needs (the head migration).

    Returns
    -------
    str
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - only with a broken installation
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}; reinstall GeoEnergy.")
    return head


@contextmanager
def _engine_for(url_or_engine: str | URL | sa.Engine):
    """Yield an engine; dispose of it afterwards only when made here."""
    if isinstance(url_or_engine, sa.Engine):
        yield url_or_engine
        return
    engine = make_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _connect_error(engine: sa.Engine, exc: Exception) -> StoreError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return StoreError(
        f"cannot use the store at {redact_url(engine.url)}: {reason}. Check the URL "
        f"(--db / GEOENERGY_DB) and that the database server is running."
    )


def current_revision(url: str | URL | sa.Engine) -> str | None:
    """The schema revision of a store.

    Parameters
    ----------
    url : str, URL or sqlalchemy.Engine
        The store.

    Returns
    -------
    str or None
        The Alembic revision, or ``None`` for an empty store (or a SQLite
        file that does not exist yet: it is not created).

    Raises
    ------
    StoreError
        If the store cannot be reached.
    """
    if not isinstance(url, sa.Engine) and _is_missing_sqlite_file(url):
        return None
    with _engine_for(url) as engine:
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except sa.exc.DBAPIError as exc:
            raise _connect_error(engine, exc) from exc


def _is_missing_sqlite_file(url: str | URL) -> bool:
    try:
        parsed = make_url(url)
    except Exception:
        return False  # make_engine reports the bad URL
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("uri"):
        return False
    return not Path(database).expanduser().exists()


def check_schema(engine: sa.Engine) -> str:
    """Check that a store's schema is the one this GeoEnergy needs.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's engine (see :func:`geoenergy.store.make_engine`).

    Returns
    -------
    str
        The (head) revision of the store.

    Raises
    ------
    StoreError
        If the store is empty or at another revision; the message says to
        run ``geoenergy db upgrade``, or to upgrade GeoEnergy when the store
        was migrated by a newer version.
    """
    if not isinstance(engine, sa.Engine):
        raise TypeError(
            f"check_schema needs a sqlalchemy Engine, got {type(engine).__name__}; "
            f"use make_engine(url)."
        )
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return current
    where = redact_url(engine.url)
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and _unknown_revision(script, current):
        raise StoreError(
            f"store at {where} has schema {current}, which this GeoEnergy does not know "
            f"(it needs {head}): the store was upgraded by a newer GeoEnergy. "
            f"Upgrade GeoEnergy."
        )
    raise StoreError(
        f"store at {where} has schema {current or 'none'}, this GeoEnergy needs {head}. "
        f"Run `geoenergy db upgrade`."
    )


def _unknown_revision(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except Exception:
        return True


def upgrade(url: str | URL | sa.Engine, revision: str = "head") -> str | None:
    """Migrate a store to ``revision``, creating its schema if empty.

    Idempotent: a store already at ``revision`` is left unchanged. On SQLite
    the SpatiaLite metadata tables are created first when absent
    (``InitSpatialMetaData(1)``); on PostgreSQL the first migration creates
    the ``postgis`` extension. On PostgreSQL the whole upgrade is one
    transaction.

    Parameters
    ----------
    url : str, URL or sqlalchemy.Engine
        The store.
    revision : str
        Target revision; default ``"head"``.

    Returns
    -------
    str or None
        The revision of the store afterwards.

    Raises
    ------
    StoreError
        If the store cannot be reached or SpatiaLite cannot be loaded.
    """
    cfg = alembic_config()
    with _engine_for(url) as engine:
        try:
            if engine.dialect.name == "sqlite":
                init_spatial_metadata(engine)
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except sa.exc.OperationalError as exc:
            raise _connect_error(engine, exc) from exc
        return current_revision(engine)


def init_spatial_metadata(engine: sa.Engine) -> bool:
    """Create SpatiaLite's metadata tables in a SQLite store if absent.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A SQLite engine from :func:`geoenergy.store.make_engine`.

    Returns
    -------
    bool
        True when the tables were created, False when already there.
    """
    # InitSpatialMetaData(1) runs its own transaction: no outer one allowed.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.exec_driver_sql("SELECT CheckSpatialMetaData()").scalar() >= 1:
            return False
        conn.exec_driver_sql("SELECT InitSpatialMetaData(1)")
        return True
