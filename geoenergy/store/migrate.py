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

import ast
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from geoenergy.errors import StoreError
from geoenergy.store.engine import make_engine, redact_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (about 0.15 s to import) is imported only to migrate: reading a store's
# revision and the head revision needs no Alembic (see :func:`_revisions`).

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
    from alembic.config import Config

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
    head = _revisions()[1]
    if head is None:  # pragma: no cover - only with a broken installation
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}; reinstall GeoEnergy.")
    return head


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def _revisions() -> tuple[frozenset[str], str | None]:
    """Every revision of the migration scripts, and the single head (None if none).

    Read from the scripts' ``revision = ...`` and ``down_revision = ...``
    lines, without loading Alembic; a layout this does not understand (a
    branch, a merge, a computed value) is left to Alembic's
    ``ScriptDirectory``, which gives the same answer more slowly.
    """
    revisions, parents = set(), set()
    try:
        for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
            found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
            rev = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
            if not isinstance(rev, str):
                raise ValueError(rev)
            revisions.add(rev)
            parents.update([down] if isinstance(down, str) else (down or ()))
        heads = revisions - parents
        if len(heads) <= 1 and parents <= revisions:
            return frozenset(revisions), next(iter(heads), None)
    except (KeyError, ValueError, SyntaxError):
        pass
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    revisions = frozenset(r.revision for r in script.walk_revisions())
    return revisions, script.get_current_head()


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
                return _read_revision(conn)
        except sa.exc.DBAPIError as exc:
            raise _connect_error(engine, exc) from exc


def _read_revision(conn: sa.Connection) -> str | None:
    """The revision in the store's ``alembic_version`` table (what Alembic's
    ``MigrationContext.get_current_revision`` reads, without loading Alembic)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise StoreError(
            f"the store's {VERSION_TABLE} table holds several revisions {sorted(rows)}, "
            "which GeoEnergy's single line of migrations never writes; restore the store "
            "from a backup or keep only the right row."
        )
    return rows[0] if rows else None


VERSION_TABLE = "alembic_version"
"""Where Alembic records a store's schema revision."""


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
    if current is not None and current not in _revisions()[0]:
        raise StoreError(
            f"store at {where} has schema {current}, which this GeoEnergy does not know "
            f"(it needs {head}): the store was upgraded by a newer GeoEnergy. "
            f"Upgrade GeoEnergy."
        )
    raise StoreError(
        f"store at {where} has schema {current or 'none'}, this GeoEnergy needs {head}. "
        f"Run `geoenergy db upgrade`."
    )


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
    with _engine_for(url) as engine:
        try:
            if engine.dialect.name == "sqlite":
                init_spatial_metadata(engine)
            if revision == "head" and current_revision(engine) == head_revision():
                return head_revision()  # nothing to do: Alembic is not even loaded
            from alembic import command

            cfg = alembic_config()
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except sa.exc.OperationalError as exc:
            raise _connect_error(engine, exc) from exc
        return current_revision(engine)


REFERENCE_SYSTEMS = {"all": "", "wgs84": ", 'WGS84'"}
"""Which coordinate systems :func:`init_spatial_metadata` copies into ``spatial_ref_sys``:
every one SpatiaLite knows (about 6,200 rows: 6.6 MB and a tenth of a second), or
only WGS84 and its UTM zones (129 rows), enough for the store's geometries
(all in EPSG:4326: :data:`geoenergy.store.SRID`)."""


def init_spatial_metadata(engine: sa.Engine, reference_systems: str = "all") -> bool:
    """Create SpatiaLite's metadata tables in a SQLite store if absent.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A SQLite engine from :func:`geoenergy.store.make_engine`.
    reference_systems : {"all", "wgs84"}
        The rows of ``spatial_ref_sys`` (see :data:`REFERENCE_SYSTEMS`);
        ``"wgs84"`` suits a throw-away store.

    Returns
    -------
    bool
        True when the tables were created, False when already there.
    """
    if reference_systems not in REFERENCE_SYSTEMS:
        raise ValueError(
            f"reference_systems must be one of {sorted(REFERENCE_SYSTEMS)}, "
            f"got {reference_systems!r}."
        )
    # InitSpatialMetaData(1) runs its own transaction: no outer one allowed.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.exec_driver_sql("SELECT CheckSpatialMetaData()").scalar() >= 1:
            return False
        conn.exec_driver_sql(
            f"SELECT InitSpatialMetaData(1{REFERENCE_SYSTEMS[reference_systems]})"
        )
        return True
