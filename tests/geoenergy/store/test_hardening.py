"""The store refuses to rewrite history and keeps its file private.

- ``INSERT OR REPLACE`` on SQLite deletes the old row through conflict
  resolution, which fires no DELETE trigger: revision 0003 refuses a row whose
  key exists before that happens. On PostgreSQL the equivalent
  ``ON CONFLICT DO UPDATE`` meets the UPDATE trigger.
- A new SQLite store file is created 0600, its new folders 0700.
"""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

from geoenergy.store import Meter, Review, make_engine, record_audit

REFUSED = (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.InternalError)


@pytest.fixture
def history(store):
    """One audit entry (id 1) and one review (id 1, M1 version 0)."""
    with store.session() as s:
        s.add(
            Meter(
                meter_id="M1",
                address="北京市朝阳区建国路88号",
                customer_class="residential",
                lon=116.4,
                lat=39.9,
                source_lon=116.4,
                source_lat=39.9,
            )
        )
        record_audit(s, actor="eve", action="review.note", entity="reviews", entity_id="M1")
        s.flush()
        s.add(
            Review(
                meter_id="M1",
                action="note",
                status="new",
                note="first",
                version=0,
                created_by="eve",
            )
        )
    return store


def _rows(store, table):
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id").all()


REPLACES = {
    "audit_log": (
        "INSERT OR REPLACE INTO audit_log (id, at, actor, action, entity, entity_id) "
        "VALUES (1, '2020-01-01 00:00:00', 'mallory', 'nothing', 'reviews', 'M1')"
    ),
    "reviews_same_id": (
        "INSERT OR REPLACE INTO reviews (id, meter_id, action, status, note, version, "
        "created_at, created_by) VALUES (1, 'M1', 'note', 'new', 'rewritten', 0, "
        "'2020-01-01 00:00:00', 'mallory')"
    ),
    "reviews_same_version": (
        "INSERT OR REPLACE INTO reviews (meter_id, action, status, note, version, "
        "created_at, created_by) VALUES ('M1', 'note', 'new', 'rewritten', 0, "
        "'2020-01-01 00:00:00', 'mallory')"
    ),
    "reviews_replace_into": (
        "REPLACE INTO reviews (meter_id, action, status, note, version, created_at, "
        "created_by) VALUES ('M1', 'note', 'new', 'rewritten', 0, '2020-01-01 00:00:00', "
        "'mallory')"
    ),
}


@pytest.mark.parametrize("case", sorted(REPLACES))
def test_sqlite_insert_or_replace_cannot_rewrite_append_only_rows(history, case):
    if history.engine.dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL is tested with ON CONFLICT")
    table = case.split("_same")[0].split("_replace")[0]
    before = _rows(history, table)
    with pytest.raises(REFUSED, match=f"{table} is append-only"), history.session() as s:
        s.execute(sa.text(REPLACES[case]))
    assert _rows(history, table) == before


def test_sqlite_refusal_holds_without_the_app_s_pragmas(history, tmp_path):
    """A plain sqlite3 connection (no recursive_triggers) is refused too: the guard is
    in the database file, not in the engine."""
    if history.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    import sqlite3

    conn = sqlite3.connect(history.engine.url.database)
    try:
        assert conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
        with pytest.raises(sqlite3.IntegrityError, match="reviews is append-only"):
            conn.execute(REPLACES["reviews_same_version"])
        conn.rollback()
        assert conn.execute("SELECT note FROM reviews").fetchall() == [("first",)]
    finally:
        conn.close()


def test_version_clash_still_reads_as_a_unique_version_conflict(history):
    """The review app's optimistic locking recognises the refusal of a taken version."""
    from geoenergy.web.actions import _is_version_clash

    with pytest.raises(sa.exc.IntegrityError) as info, history.session() as s:
        s.add(
            Review(
                meter_id="M1", action="note", status="new", note="x", version=0, created_by="ed"
            )
        )
    assert _is_version_clash(info.value)


def test_new_rows_are_still_appended(history):
    with history.session() as s:
        s.add(
            Review(
                meter_id="M1", action="note", status="new", note="2nd", version=1, created_by="e"
            )
        )
        record_audit(s, actor="eve", action="review.note", entity="reviews", entity_id="M1")
    assert len(_rows(history, "reviews")) == 2 and len(_rows(history, "audit_log")) == 2


def test_postgresql_on_conflict_update_is_refused(history):
    if history.engine.dialect.name != "postgresql":
        pytest.skip("ON CONFLICT DO UPDATE is PostgreSQL's")
    before = _rows(history, "reviews")
    with pytest.raises(REFUSED, match="reviews is append-only"), history.session() as s:
        s.execute(
            sa.text(
                "INSERT INTO reviews (meter_id, action, status, note, version, created_by) "
                "VALUES ('M1', 'note', 'new', 'rewritten', 0, 'mallory') "
                "ON CONFLICT (meter_id, version) DO UPDATE SET note = EXCLUDED.note"
            )
        )
    assert _rows(history, "reviews") == before


def test_new_store_file_and_folders_are_private(tmp_path):
    path = tmp_path / "ws" / "deeper" / "store.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.commit()
            for p in path.parent.glob("store.sqlite*"):  # with -wal and -shm
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "ws").stat().st_mode) == 0o700
    finally:
        engine.dispose()


def test_existing_store_file_keeps_its_mode(tmp_path):
    path = tmp_path / "store.sqlite"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_new_workspace_and_its_store_are_private(tmp_path):
    from geoenergy.config import Workspace
    from geoenergy.store import upgrade
    from geoenergy.web.security import load_secret_key

    ws = Workspace.create(tmp_path / "city")
    upgrade(ws.db_url)
    load_secret_key(ws.path)
    assert stat.S_IMODE(ws.path.stat().st_mode) == 0o700
    for name in ("store.sqlite", "secret_key"):
        assert stat.S_IMODE((ws.path / name).stat().st_mode) == 0o600, name
