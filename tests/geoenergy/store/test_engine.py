"""Tests of geoenergy.store.engine."""

from __future__ import annotations

import sys
import types

import pytest
import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError, StoreError
from geoenergy.store import make_engine
from geoenergy.store.engine import redact_url


@pytest.mark.parametrize(
    "url",
    ["mysql://user:secret@db.example/geo", "oracle+oracledb://u:secret@h/x", "mssql://h/db"],
)
def test_bad_scheme_names_scheme_and_allowed_forms(url):
    with pytest.raises(StoreError, match=r"scheme '\w+(\+\w+)?' is not supported") as info:
        make_engine(url)
    msg = str(info.value)
    assert "sqlite:///" in msg and "postgresql+psycopg://" in msg
    assert "secret" not in msg
    assert isinstance(info.value, GeoEnergyError)


def test_not_a_url():
    with pytest.raises(StoreError, match="is not a database URL"):
        make_engine("just some words")


def test_wrong_type():
    with pytest.raises(TypeError, match="url must be a str or sqlalchemy URL, got int"):
        make_engine(42)


def test_redact_url_hides_password():
    assert redact_url("postgresql+psycopg://u:s3cret@h/db") == "postgresql+psycopg://u:***@h/db"


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path):
    path = tmp_path / "a" / "b" / "store.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            assert conn.exec_driver_sql("SELECT spatialite_version()").scalar()
    finally:
        engine.dispose()


def test_sqlite_memory_engine_loads_spatialite():
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        point = conn.exec_driver_sql("SELECT ST_AsText(MakePoint(116.4, 39.9))").scalar()
    assert point == "POINT(116.4 39.9)"


def test_missing_spatialite_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIALITE_LIBRARY_PATH", str(tmp_path / "no_such_mod_spatialite.so"))
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with pytest.raises(StoreError, match="apt-get install libsqlite3-mod-spatialite"):
        engine.connect()


def test_postgresql_engine_pings():
    # No connection is made: only the configuration is checked.
    engine = make_engine("postgresql+psycopg://u:secret@127.0.0.1:1/db")
    assert engine.pool._pre_ping
    assert engine.dialect.name == "postgresql"


@pytest.mark.postgis
def test_postgis_engine_connects(postgis_url):
    engine = make_engine(postgis_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT PostGIS_Lib_Version()")).scalar()
    finally:
        engine.dispose()


def test_sqlite_without_extension_loading_says_how_to_fix(tmp_path, monkeypatch):
    # A Python whose sqlite3 cannot load extensions, and no pysqlite3.
    class Connection:
        pass

    monkeypatch.setitem(sys.modules, "sqlite3", types.SimpleNamespace(Connection=Connection))
    monkeypatch.setitem(sys.modules, "pysqlite3", None)
    with pytest.raises(StoreError, match=r"pip install pysqlite3-binary"):
        make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
