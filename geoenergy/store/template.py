"""New SpatiaLite stores copied from a cached, migrated empty one.

Creating a store from nothing means loading Alembic, running every migration
and registering the geometry columns: a few tenths of a second that
``geoenergy detect --readings ... --registry ...`` pays for a store it throws
away at the end. The schema that produces depends only on the migration
scripts and the SpatiaLite metadata asked for, so :func:`new_sqlite_store`
keeps the first such store it builds as a template in the user's cache
folder (:func:`cache_dir`) and copies it for the next one. The template's
name carries a hash of the migration scripts, so a GeoEnergy with other
migrations never uses another's template; a copy is checked to be at the
head revision before use and is built afresh otherwise. Without a writable
cache folder every store is built afresh, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import sqlalchemy as sa

from geoenergy.store.engine import STORE_FILE_MODE, STORE_FOLDER_MODE, make_engine
from geoenergy.store.migrate import (
    MIGRATIONS_DIR,
    REFERENCE_SYSTEMS,
    VERSION_TABLE,
    head_revision,
    init_spatial_metadata,
    upgrade,
)

__all__ = ["cache_dir", "new_sqlite_store", "template_path"]

TEMPLATE_FORMAT = 1
"""Bumped when what a template holds changes other than through the migrations."""


def cache_dir() -> Path:
    """The folder of GeoEnergy's caches for this user.

    ``GEOENERGY_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/geoenergy``, else
    ``~/.cache/geoenergy``.
    """
    explicit = os.environ.get("GEOENERGY_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
    return Path(base).expanduser() / "geoenergy"


def template_path(reference_systems: str = "all") -> Path:
    """Where the template store for these migrations and reference systems is kept."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{TEMPLATE_FORMAT}:{reference_systems}".encode())
    for path in sorted(MIGRATIONS_DIR.rglob("*.py")):
        h.update(path.relative_to(MIGRATIONS_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return cache_dir() / f"store-{head_revision()}-{reference_systems}-{h.hexdigest()}.sqlite"


def new_sqlite_store(path, *, reference_systems: str = "all") -> str:
    """Create a SpatiaLite store at the head revision in a new file.

    Parameters
    ----------
    path : str or Path
        The store file to create; it must not exist yet.
    reference_systems : {"all", "wgs84"}
        The rows of SpatiaLite's ``spatial_ref_sys``
        (:data:`geoenergy.store.migrate.REFERENCE_SYSTEMS`).

    Returns
    -------
    str
        ``"copied"`` when the cached template was copied, ``"built"`` when
        the store was migrated from nothing (and kept as the template when
        the cache folder is writable).
    """
    if reference_systems not in REFERENCE_SYSTEMS:
        raise ValueError(
            f"reference_systems must be one of {sorted(REFERENCE_SYSTEMS)}, "
            f"got {reference_systems!r}."
        )
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; new_sqlite_store only creates new stores.")
    url = f"sqlite:///{path}"
    template = template_path(reference_systems)
    if template.is_file() and _copy(template, path):
        return "copied"
    engine = make_engine(url)
    try:
        init_spatial_metadata(engine, reference_systems=reference_systems)
        upgrade(engine)
        _keep_as_template(engine, template)
    finally:
        engine.dispose()
    return "built"


def _copy(template: Path, path: Path) -> bool:
    """Copy the template to ``path``; False (and nothing left at ``path``) if it is unusable."""
    try:
        shutil.copyfile(template, path)
        os.chmod(path, STORE_FILE_MODE)
        # Plain sqlite3, read-only: the revision needs no SpatiaLite.
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            rows = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
        if rows == [(head_revision(),)]:
            return True
    except (OSError, sqlite3.Error):
        pass
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return False


def _keep_as_template(engine: sa.Engine, template: Path) -> None:
    """Save a compact copy of a new, empty store as the template (best effort)."""
    tmp = template.with_name(f".{template.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        template.parent.mkdir(parents=True, exist_ok=True, mode=STORE_FOLDER_MODE)
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM INTO ?", (str(tmp),))
        os.chmod(tmp, STORE_FILE_MODE)
        os.replace(tmp, template)  # atomic: a reader sees no template or a whole one
    except (OSError, sa.exc.SQLAlchemyError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
