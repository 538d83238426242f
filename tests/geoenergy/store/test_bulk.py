"""insert_rows stores exactly what SQLAlchemy's executemany stores, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from geoenergy.store import Meter, point
from geoenergy.store.bulk import insert_rows

T = dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)


def _rows(prefix):
    return [
        {
            "meter_id": f"{prefix}{i}",
            "address": "北京市朝阳区建国路88号 <b>&",
            "customer_class": "residential",
            "lon": 116.4 + i / 1000,
            "lat": 39.9,
            "source_lon": 116.4 + i / 1000,
            "source_lat": 39.9,
            "contracted_kw": None if i == 1 else 8.5,
            "first_reading": None if i == 1 else T,
            "attributes": None if i == 1 else {"楼层": "3", "note": 'a"b'},
            "geom": point(116.4 + i / 1000, 39.9),
        }
        for i in range(3)
    ]


def _read(store, prefix):
    cols = [c for c in Meter.__table__.c if c.name not in ("id", "updated_at", "meter_id", "geom")]
    with store.session() as s:
        got = s.execute(
            sa.select(
                *cols,
                # how NULL-like values are stored, not only how they read back
                Meter.attributes.is_(None),
                Meter.first_reading.is_(None),
                sa.func.ST_AsText(Meter.geom),
                Meter.updated_at,
            )
            .where(Meter.meter_id.like(f"{prefix}%"))
            .order_by(Meter.meter_id)
        ).all()
    return [tuple(r[:-1]) for r in got], [r[-1] for r in got]


def test_insert_rows_equals_sqlalchemy_insert(store):
    before = dt.datetime.now(dt.UTC)
    with store.session() as s:
        s.connection().execute(sa.insert(Meter.__table__), _rows("A"))
        insert_rows(s.connection(), Meter.__table__, _rows("B"))
    a, _ = _read(store, "A")
    b, stamped = _read(store, "B")
    assert len(b) == 3
    assert a == b  # every column: floats, NULLs (JSON null as JSON), timestamps, geometry
    assert b[0][list(Meter.__table__.c.keys()).index("coord_system") - 2] == "wgs84"  # default
    assert all(t >= before - dt.timedelta(seconds=1) for t in stamped)  # updated_at default


def test_insert_rows_is_in_the_session_transaction(store):
    with pytest.raises(RuntimeError), store.session() as s:
        insert_rows(s.connection(), Meter.__table__, _rows("C"))
        raise RuntimeError("rolled back")
    assert _read(store, "C")[0] == []


def test_insert_rows_refuses_ragged_rows(store):
    rows = _rows("D")
    del rows[2]["attributes"]
    with pytest.raises(ValueError, match="row 2 has columns"), store.session() as s:
        insert_rows(s.connection(), Meter.__table__, rows)
    with pytest.raises(ValueError, match="no column"), store.session() as s:
        insert_rows(s.connection(), Meter.__table__, [{"meter_id": "x", "colour": 1}])
