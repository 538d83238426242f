"""Shared pytest fixtures. Each owner keeps to a clearly delimited section."""

from __future__ import annotations

# ---------------------------------------------------------------------------------
# BEGIN store fixtures (owner: geoenergy/store): PostGIS databases, store URLs
# ---------------------------------------------------------------------------------
import os
import uuid

import pytest

#: Admin URL of the test PostgreSQL server; its role must be able to CREATE DATABASE.
DEFAULT_TEST_PG_URL = "postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test"


def _skip_or_fail(reason: str):
    """Skip locally, fail in CI: a broken PostGIS install must not pass as a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostGIS is required in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(f"PostGIS not available: {reason}")


@pytest.fixture(scope="session")
def _pg_admin():
    """An AUTOCOMMIT engine on the admin database, or the reason there is none."""
    url = os.environ.get("GEOENERGY_TEST_PG_URL", DEFAULT_TEST_PG_URL)
    try:
        import psycopg  # noqa: F401
        import sqlalchemy as sa
    except ImportError as exc:
        yield None, f"{exc} (pip install 'psycopg[binary]')"
        return
    engine = sa.create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        yield None, f"cannot connect to GEOENERGY_TEST_PG_URL ({reason})"
        return
    yield engine, None
    engine.dispose()


@pytest.fixture
def postgis_url(_pg_admin):
    """URL of a fresh, uniquely named PostgreSQL database with PostGIS, dropped after."""
    import sqlalchemy as sa

    admin, reason = _pg_admin
    if admin is None:
        _skip_or_fail(reason)
    name = f"geoenergy_t_{uuid.uuid4().hex[:16]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _skip_or_fail(f"cannot create a test database ({exc})")
    url = admin.url.set(database=name)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    except Exception as exc:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _skip_or_fail(f"cannot create the postgis extension ({exc})")
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_url(request, tmp_path):
    """An empty store URL, once for SpatiaLite (a file in tmp_path) and once for PostGIS."""
    if request.param == "spatialite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgis_url")


# ---------------------------------------------------------------------------------
# END store fixtures
# ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory):
    """One migrated SpatiaLite file per session; tests get a copy (fast)."""
    from geoenergy.store import upgrade

    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def make_ws(tmp_path, _migrated_sqlite):
    """``make_ws(name="ws", **settings)``: a new workspace with a migrated SpatiaLite store."""
    import shutil

    from geoenergy.config import Workspace

    def make(name: str = "ws", **settings):
        settings.setdefault("readings_buckets", 4)
        ws = Workspace.create(tmp_path / name, **settings)
        shutil.copy(_migrated_sqlite, ws.path / "store.sqlite")
        return ws

    return make


@pytest.fixture(autouse=True)
def _reset_cli_state():
    """The CLI keeps --workspace/--db of the last call in a module global; start clean."""
    import sys

    cli = sys.modules.get("geoenergy.cli")
    if cli is not None:
        cli.state.workspace = cli.state.db = None
        cli.state.verbose = False
    yield
    if cli is not None and cli.state.dask_client is not None:
        cli.state.dask_client.close()
        cli.state.dask_client = None


@pytest.fixture(scope="session")
def _playwright():
    """The session's one Playwright driver, ``(playwright, None)`` or ``(None, reason)``.

    Playwright's sync API allows one driver per thread at a time: the review app's
    and the web maps' browser fixtures both launch Chromium from this one.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        yield None, f"{exc} (pip install 'playwright>=1.45'; no `playwright install` needed)"
        return
    pw = sync_playwright().start()
    yield pw, None
    pw.stop()
