"""Tests of geoenergy.store.migrate on SpatiaLite and PostGIS."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from geoenergy.config import Workspace
from geoenergy.errors import StoreError
from geoenergy.store import Base, Store, check_schema, head_revision, make_engine, upgrade
from geoenergy.store.migrate import alembic_config, current_revision

TABLES = {
    "ingests",
    "meters",
    "layers",
    "layer_features",
    "weather",
    "inspection_labels",
    "detection_runs",
    "flags",
    "reviews",
    "audit_log",
    "rejected_rows",
}


def _schema_snapshot(engine):
    insp = sa.inspect(engine)
    names = sorted(set(insp.get_table_names()) & (TABLES | {"alembic_version"}))
    return {
        name: (
            [c["name"] for c in insp.get_columns(name)],
            sorted(i["name"] for i in insp.get_indexes(name)),
        )
        for name in names
    }


def test_head_revision():
    assert head_revision() == "0005"


def test_revisions_read_without_alembic_agree_with_alembic(store):
    """head_revision and current_revision parse the scripts and read the version table
    themselves (Alembic is slow to import); Alembic must give the same answers."""
    from alembic.script import ScriptDirectory

    from geoenergy.store.migrate import _revisions

    script = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == script.get_current_head()
    assert _revisions()[0] == {r.revision for r in script.walk_revisions()}
    with store.engine.connect() as conn:
        assert (
            current_revision(store.engine)
            == MigrationContext.configure(conn).get_current_revision()
        )


def test_two_rows_in_the_version_table_are_refused(store):
    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0004')"))
    with pytest.raises(StoreError, match="several revisions"):
        store.check()


def test_spatial_metadata_with_wgs84_only(tmp_path):
    from geoenergy.store.migrate import init_spatial_metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        with pytest.raises(ValueError, match="reference_systems must be one of"):
            init_spatial_metadata(engine, reference_systems="wgs")
        assert init_spatial_metadata(engine, reference_systems="wgs84")
        assert upgrade(engine) == head_revision()
        with engine.connect() as conn:
            srids = conn.exec_driver_sql("SELECT srid FROM spatial_ref_sys").scalars().all()
        assert 4326 in srids and 32650 in srids and len(srids) < 200
        with Store(engine.url) as store, store.session() as s:
            s.execute(sa.text("SELECT AsText(GeomFromText('POINT(116.4 39.9)', 4326))"))
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_all_tables(store_url):
    assert current_revision(store_url) is None
    assert upgrade(store_url) == head_revision()
    engine = make_engine(store_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
        assert current_revision(engine) == head_revision()
        assert check_schema(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(store_url):
    upgrade(store_url)
    with Store(store_url) as store:
        with store.session() as s:
            s.execute(sa.text("INSERT INTO weather (date, temp_c) VALUES ('2024-01-15', -3.5)"))
        before = _schema_snapshot(store.engine)
        assert upgrade(store_url) == head_revision()
        assert _schema_snapshot(store.engine) == before
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM weather")).scalar() == 1


def test_check_schema_on_empty_store_says_to_upgrade(store_url):
    with Store(store_url) as store:
        with pytest.raises(StoreError, match=r"has schema none, this GeoEnergy needs 0005\. "):
            store.check()
        with pytest.raises(StoreError, match=r"Run `geoenergy db upgrade`\."):
            check_schema(store.engine)


def test_check_schema_hides_password(postgis_url):
    with Store(postgis_url) as store, pytest.raises(StoreError) as info:
        store.check()
    assert ":***@" in str(info.value)
    assert ":geoenergy@" not in str(info.value)


def test_check_schema_on_newer_store_says_to_upgrade_geoenergy(store_url):
    upgrade(store_url)
    with Store(store_url) as store:
        with store.session() as s:
            s.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(StoreError, match=r"upgraded by a newer GeoEnergy\. Upgrade GeoEnergy"):
            store.check()


def test_current_revision_does_not_create_a_sqlite_file(tmp_path):
    path = tmp_path / "nothing_here.sqlite"
    assert current_revision(f"sqlite:///{path}") is None
    assert not path.exists()


def test_geometry_columns_are_registered(store):
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT lower(f_table_name), lower(f_geometry_column), srid "
                "FROM geometry_columns ORDER BY 1"
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            ("hotspots", "geom", 4326),
            ("layer_features", "geom", 4326),
            ("meters", "geom", 4326),
        ]
        if store.engine.dialect.name == "sqlite":
            enabled = conn.execute(
                sa.text("SELECT spatial_index_enabled FROM geometry_columns")
            ).all()
            assert [r[0] for r in enabled] == [1, 1, 1]
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("meters")}
    assert "idx_meters_geom" in indexes


def test_models_match_migrations(store):
    """Autogenerate finds nothing to do: the ORM models and the migrations agree."""

    def include_object(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and reflected and compare_to is None)

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_sqlite_upgrade_initialises_spatial_metadata(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT CheckSpatialMetaData()").scalar() >= 1
            n_srid = conn.exec_driver_sql(
                "SELECT count(*) FROM spatial_ref_sys WHERE srid = 4326"
            ).scalar()
            assert n_srid == 1
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(store):
    with store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(store.engine) is None
    assert not TABLES & set(sa.inspect(store.engine).get_table_names())
    assert store.upgrade() == head_revision()
    assert store.check() == head_revision()


def test_store_for_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("GEOENERGY_DB", raising=False)
    ws = Workspace.create(tmp_path / "ws")
    with Store.for_workspace(ws) as store:
        assert store.engine.dialect.name == "sqlite"
        assert store.upgrade() == head_revision()
    assert (tmp_path / "ws" / "store.sqlite").is_file()
