"""New SpatiaLite stores copied from the cached migrated template (geoenergy.store.template)."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from geoenergy.store import Meter, Store, head_revision, make_engine, point, upgrade
from geoenergy.store.migrate import init_spatial_metadata
from geoenergy.store.template import new_sqlite_store, template_path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEOENERGY_CACHE_DIR", str(folder))
    return folder


def _schema(path) -> tuple:
    """What a store is made of: its objects' SQL, its geometry columns and revision."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            objects = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).all()
            geometry = conn.exec_driver_sql(
                "SELECT * FROM geometry_columns ORDER BY f_table_name"
            ).all()
            srids = conn.exec_driver_sql("SELECT count(*) FROM spatial_ref_sys").scalar()
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    finally:
        engine.dispose()
    return [tuple(r) for r in objects], [tuple(r) for r in geometry], srids, revision


def test_built_then_copied_store_is_the_migrated_one(cache, tmp_path):
    assert new_sqlite_store(tmp_path / "a.sqlite", reference_systems="wgs84") == "built"
    assert template_path("wgs84").is_file()
    assert template_path("wgs84").parent == cache
    assert new_sqlite_store(tmp_path / "b.sqlite", reference_systems="wgs84") == "copied"
    # The reference: the same store made the usual way.
    ref = make_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    try:
        init_spatial_metadata(ref, reference_systems="wgs84")
        upgrade(ref)
    finally:
        ref.dispose()
    expected = _schema(tmp_path / "ref.sqlite")
    assert expected[3] == [(head_revision(),)]
    assert _schema(tmp_path / "a.sqlite") == expected
    assert _schema(tmp_path / "b.sqlite") == expected
    assert (tmp_path / "b.sqlite").stat().st_mode & 0o777 == 0o600
    with Store(f"sqlite:///{tmp_path / 'b.sqlite'}") as store:
        assert store.check() == head_revision()
        with store.session() as s:  # the geometry column and its index work in the copy
            s.add(
                Meter(
                    meter_id="M1",
                    address="北京市朝阳区建国路88号",
                    customer_class="residential",
                    lon=116.4,
                    lat=39.9,
                    source_lon=116.4,
                    source_lat=39.9,
                    geom=point(116.4, 39.9),
                )
            )
            s.flush()
            n = s.execute(sa.text("SELECT count(*) FROM idx_meters_geom")).scalar()
            x = s.execute(sa.text("SELECT ST_X(geom) FROM meters")).scalar()
        assert (n, x) == (1, 116.4)


def test_a_broken_template_is_built_again(cache, tmp_path):
    new_sqlite_store(tmp_path / "a.sqlite")
    template_path().write_bytes(b"not a database")
    assert new_sqlite_store(tmp_path / "b.sqlite") == "built"
    assert new_sqlite_store(tmp_path / "c.sqlite") == "copied"
    assert _schema(tmp_path / "c.sqlite") == _schema(tmp_path / "a.sqlite")


def test_without_a_writable_cache_every_store_is_built(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go", encoding="utf-8")
    monkeypatch.setenv("GEOENERGY_CACHE_DIR", str(blocker / "cache"))
    assert new_sqlite_store(tmp_path / "a.sqlite") == "built"
    assert new_sqlite_store(tmp_path / "b.sqlite") == "built"
    assert _schema(tmp_path / "b.sqlite")[3] == [(head_revision(),)]


def test_other_migrations_use_another_template(cache, tmp_path, monkeypatch):
    from geoenergy.store import template

    before = template_path()
    copy = tmp_path / "migrations"
    shutil.copytree(template.MIGRATIONS_DIR, copy)
    script = sorted((copy / "versions").glob("*.py"))[-1]
    script.write_text(script.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    monkeypatch.setattr(template, "MIGRATIONS_DIR", copy)
    assert template_path() != before
    assert template_path("wgs84") != template_path("all")


def test_new_store_refuses_an_existing_file_and_a_bad_option(cache, tmp_path):
    (tmp_path / "a.sqlite").write_bytes(b"")
    with pytest.raises(FileExistsError, match="only creates new stores"):
        new_sqlite_store(tmp_path / "a.sqlite")
    with pytest.raises(ValueError, match="reference_systems must be one of"):
        new_sqlite_store(tmp_path / "b.sqlite", reference_systems="utm")
