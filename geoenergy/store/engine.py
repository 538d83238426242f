"""SQLAlchemy engines for the two supported stores: SpatiaLite and PostGIS.

One URL picks the backend:

- ``sqlite:///path/to/store.sqlite``: the embedded SQLite file with the
  SpatiaLite extension, loaded on every new connection;
- ``postgresql+psycopg://user:password@host:5432/dbname``: PostgreSQL with
  PostGIS.

Loading SpatiaLite needs a ``sqlite3`` module that can load extensions. Many
Python builds (pyenv, python.org installers) compile the standard library's
``sqlite3`` without that ability; :func:`make_engine` then falls back to the
``pysqlite3`` module (``pip install pysqlite3-binary``), which ships its own
SQLite with extension loading enabled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from geoenergy.errors import StoreError

#: Name or path of the SpatiaLite loadable module. ``SPATIALITE_LIBRARY_PATH``
#: overrides it (the variable GeoAlchemy2 reads too); the bare name lets the
#: dynamic loader find ``mod_spatialite.so`` in the system library folders.
DEFAULT_SPATIALITE_LIBRARY = "mod_spatialite"

#: How long a SQLite connection waits for another writer's lock. [ms]
SQLITE_BUSY_TIMEOUT_MS = 30_000

_ALLOWED_FORMS = (
    "'sqlite:///path/to/store.sqlite' (SpatiaLite) or "
    "'postgresql+psycopg://user:password@host:5432/dbname' (PostGIS)"
)

_SPATIALITE_FIX = (
    "Install SpatiaLite with `apt-get install libsqlite3-mod-spatialite` "
    "(Debian/Ubuntu; `brew install libspatialite` on macOS), or set "
    "SPATIALITE_LIBRARY_PATH to the full path of mod_spatialite."
)


def redact_url(url: str | URL) -> str:
    """Render a database URL for messages, with its password hidden.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        The URL.

    Returns
    -------
    str
        The URL with ``***`` in place of the password.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        # An unparsable URL may still hold a password: show only its scheme.
        text = str(url)
        return text.split("://", 1)[0] + "://…" if "://" in text else "<unparsable URL>"


def make_engine(url: str | URL, **kw: Any) -> sa.Engine:
    """Create the engine of a GeoEnergy store.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        ``sqlite:///path/to/store.sqlite`` for SpatiaLite or
        ``postgresql+psycopg://user:password@host:5432/dbname`` for PostGIS.
    **kw
        Passed on to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
        For SQLite, every new connection has SpatiaLite loaded, foreign keys
        enforced, the WAL journal and a busy timeout of
        :data:`SQLITE_BUSY_TIMEOUT_MS`; a new file is created with mode 0600
        and missing folders with 0700 (:data:`STORE_FILE_MODE`). For PostgreSQL, connections are checked before use
        (``pool_pre_ping``).

    Raises
    ------
    StoreError
        If the URL is not a string or URL, its scheme is neither ``sqlite``
        nor ``postgresql``, or SpatiaLite cannot be loaded.
    """
    parsed = _check_url(url)
    kw.setdefault("json_serializer", _json_dumps)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, **kw)
    kw.setdefault("pool_pre_ping", True)
    try:
        return sa.create_engine(parsed, **kw)
    except ModuleNotFoundError as exc:
        # The PostgreSQL driver is an extra: a plain `pip install geoenergy` runs on SpatiaLite.
        raise StoreError(
            f"store URL {redact_url(parsed)!r} needs the PostgreSQL driver {exc.name!r}, "
            "which is not installed. Fix: `pip install 'geoenergy[postgis]'` (psycopg) and "
            "use a postgresql+psycopg:// URL."
        ) from None


def _check_url(url: str | URL) -> URL:
    if not isinstance(url, str | URL):
        raise TypeError(
            f"url must be a str or sqlalchemy URL, got {type(url).__name__}; use {_ALLOWED_FORMS}."
        )
    try:
        parsed = make_url(url)
    except Exception:
        raise StoreError(
            f"store URL {redact_url(url)!r} is not a database URL; use {_ALLOWED_FORMS}."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL scheme {parsed.drivername!r} is not supported "
            f"(URL {redact_url(parsed)!r}); use {_ALLOWED_FORMS}."
        )
    return parsed


def _json_dumps(obj: Any) -> str:
    # ensure_ascii=False keeps Chinese addresses readable in the database
    # instead of \uXXXX escapes; dates become ISO 8601 text.
    return json.dumps(obj, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    raise TypeError(
        f"{type(value).__name__} {value!r} cannot be stored in a JSON column; "
        f"convert it to str, int, float, bool, list or dict first."
    )


# -- SQLite / SpatiaLite -----------------------------------------------------------
def _bind_bundled_geo_libraries() -> None:
    """Load the geo wheels' own GEOS, PROJ, GDAL and SQLite before SpatiaLite.

    SQLite loads extensions with ``RTLD_GLOBAL``, so mod_spatialite puts the
    system's libsqlite3, libgeos_c and libproj into the global symbol scope.
    A wheel that loads after that (pyogrio's GDAL with its own SQLite, shapely's
    GEOS, pyproj's PROJ) would bind some of its calls to the system copies and
    crash (seen: a segfault reading a GeoPackage, a double free at exit).
    Python loads extension modules with ``RTLD_NOW``, so importing them first
    binds their symbols to their own copies for good.
    """
    import pyogrio  # noqa: F401
    import pyproj  # noqa: F401
    import shapely  # noqa: F401


def _make_sqlite_engine(url: URL, **kw: Any) -> sa.Engine:
    _bind_bundled_geo_libraries()
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory and not url.query.get("uri"):
        _create_private_file(Path(database).expanduser())
    if "module" not in kw and url.get_driver_name() == "pysqlite":
        kw["module"] = _sqlite_module()
    engine = sa.create_engine(url, **kw)
    event.listen(engine, "connect", _on_sqlite_connect)
    return engine


#: Mode of a new store file: it holds addresses, password hashes and the audit
#: trail, so only its owner may read it. SQLite gives its ``-wal`` and ``-shm``
#: files the mode of the database file.
STORE_FILE_MODE = 0o600
#: Mode of folders created to hold a new store file.
STORE_FOLDER_MODE = 0o700


def _create_private_file(path: Path) -> None:
    """Create the store file (empty: SQLite makes it a database) and missing folders,
    readable by the owner only.

    An existing file or folder keeps its mode: the engine never changes the
    permissions of something it did not create.
    """
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            folder.mkdir(mode=STORE_FOLDER_MODE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, STORE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_module():
    """The DB-API module to use for SQLite: one that can load extensions."""
    import sqlite3

    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2
    except ImportError:
        raise StoreError(
            "this Python's sqlite3 module cannot load extensions, so SpatiaLite cannot be "
            "used. Fix: `pip install pysqlite3-binary` (or use a Python built with "
            "--enable-loadable-sqlite-extensions), or use a PostGIS store URL."
        ) from None
    return dbapi2


def _on_sqlite_connect(dbapi_conn, connection_record) -> None:
    """Connect listener: load SpatiaLite and set the pragmas on a new connection."""
    load_spatialite_module(dbapi_conn)
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        # WAL lets the review app read while an ingestion writes. It is a
        # no-op (stays "memory") for in-memory databases.
        cur.execute("PRAGMA journal_mode = WAL")
    finally:
        cur.close()


def load_spatialite_module(dbapi_conn) -> None:
    """Load the SpatiaLite extension into a DB-API SQLite connection.

    Same job as GeoAlchemy2's
    :func:`geoalchemy2.admin.dialects.sqlite.load_spatialite_driver`, which
    requires ``SPATIALITE_LIBRARY_PATH``; here the variable is optional and
    failures become a :class:`StoreError` that says how to fix them. It does
    not create the SpatiaLite metadata tables: :func:`geoenergy.store.upgrade`
    does.

    Parameters
    ----------
    dbapi_conn : sqlite3.Connection or pysqlite3.dbapi2.Connection
        A raw DB-API connection.

    Raises
    ------
    StoreError
        If the module cannot load extensions or mod_spatialite is missing.
    """
    library = os.environ.get("SPATIALITE_LIBRARY_PATH") or DEFAULT_SPATIALITE_LIBRARY
    if not hasattr(dbapi_conn, "enable_load_extension"):
        raise StoreError(
            "this sqlite3 module cannot load extensions, so SpatiaLite cannot be used. "
            "Fix: `pip install pysqlite3-binary`, or use a PostGIS store URL."
        )
    try:
        dbapi_conn.enable_load_extension(True)
        try:
            dbapi_conn.load_extension(library)
        finally:
            dbapi_conn.enable_load_extension(False)
    except Exception as exc:
        raise StoreError(
            f"cannot load the SpatiaLite extension {library!r} ({exc}). {_SPATIALITE_FIX}"
        ) from None
