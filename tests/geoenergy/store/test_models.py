"""Tests of the ORM models on a migrated store, on SpatiaLite and PostGIS.

The spatial fixture, worked out on paper: one district, the square
116.0-117.0 E x 39.0-40.0 N; meters M1 (116.46, 39.91) and M2 (116.90, 39.10)
are inside it, M3 (117.50, 39.50) is 0.5 degree east of its edge.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from geoalchemy2.shape import to_shape

from geoenergy.store import (
    AuditLog,
    DetectionRun,
    Flag,
    Ingest,
    InspectionLabel,
    Layer,
    LayerFeature,
    Meter,
    RejectedRow,
    Review,
    Weather,
    point,
    record_audit,
)

ADDRESS = "北京市朝阳区建国路88号"
SQUARE = "POLYGON((116 39, 117 39, 117 40, 116 40, 116 39))"
T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)

# Each backend words the failure of a refused change differently.
REFUSED = (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.InternalError)


def _meter(meter_id, lon, lat, **kw):
    kw.setdefault("address", ADDRESS)
    kw.setdefault("customer_class", "residential")
    return Meter(meter_id=meter_id, lon=lon, lat=lat, source_lon=lon, source_lat=lat, **kw)


def _ingest(sha="a" * 64, kind="registry"):
    return Ingest(
        kind=kind,
        source_path="registry.csv",
        sha256=sha,
        status="completed",
        started_at=T0,
        finished_at=T0 + dt.timedelta(seconds=3),
    )


@pytest.fixture
def city(store):
    """Three meters and one district polygon."""
    with store.session() as s:
        s.add_all(
            [
                _meter("M1", 116.46, 39.91, geom=point(116.46, 39.91)),
                _meter("M2", 116.90, 39.10),  # geom filled from lon/lat
                _meter("M3", 117.50, 39.50),
            ]
        )
        layer = Layer(
            kind="districts",
            name="districts",
            source_path="d.gpkg",
            sha256="b" * 64,
            crs="EPSG:4326",
            n_features=1,
            bounds=[116.0, 39.0, 117.0, 40.0],
        )
        layer.features.append(
            LayerFeature(
                properties={"name": "朝阳区"},
                geom=sa.func.ST_GeomFromText(SQUARE, 4326),
            )
        )
        s.add(layer)
    return store


def test_meter_round_trip(city):
    with city.session() as s:
        m = s.scalars(sa.select(Meter).where(Meter.meter_id == "M1")).one()
        assert m.address == ADDRESS
        assert (m.lon, m.lat) == (116.46, 39.91)
        assert m.coord_system == "wgs84"
        assert m.n_readings == 0
        assert m.updated_at.tzinfo == dt.UTC
        geom = to_shape(m.geom)
        assert (geom.geom_type, geom.x, geom.y) == ("Point", 116.46, 39.91)
        m2 = s.scalars(sa.select(Meter).where(Meter.meter_id == "M2")).one()
        assert (to_shape(m2.geom).x, to_shape(m2.geom).y) == (116.90, 39.10)


def test_spatial_within(city):
    q = (
        sa.select(Meter.meter_id)
        .join(LayerFeature, sa.func.ST_Within(Meter.geom, LayerFeature.geom))
        .order_by(Meter.meter_id)
    )
    with city.session() as s:
        assert s.scalars(q).all() == ["M1", "M2"]


def test_spatial_distance(city):
    q = (
        sa.select(Meter.meter_id, sa.func.ST_Distance(Meter.geom, LayerFeature.geom))
        .join(LayerFeature, sa.true())
        .order_by(Meter.meter_id)
    )
    with city.session() as s:
        rows = s.execute(q).all()
    assert [r[0] for r in rows] == ["M1", "M2", "M3"]
    assert [r[1] for r in rows] == pytest.approx([0.0, 0.0, 0.5])


def test_json_round_trips_unicode(city):
    attrs = {"小区": "建外SOHO", "楼栋": 3, "备注": ["挖矿嫌疑", None]}
    with city.session() as s:
        m = s.scalars(sa.select(Meter).where(Meter.meter_id == "M3")).one()
        m.attributes = attrs
    with city.session() as s:
        m = s.scalars(sa.select(Meter).where(Meter.meter_id == "M3")).one()
        assert m.attributes == attrs
        feature = s.scalars(sa.select(LayerFeature)).one()
        assert feature.properties == {"name": "朝阳区"}
        assert feature.layer.bounds == [116.0, 39.0, 117.0, 40.0]


def test_timestamps_are_utc_aware(store):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with store.session() as s:
        ingest = _ingest()
        ingest.started_at = dt.datetime(2024, 3, 1, 16, 0, tzinfo=shanghai)
        s.add(ingest)
    with store.session() as s:
        got = s.scalars(sa.select(Ingest)).one().started_at
    assert got == T0
    assert got.utcoffset() == dt.timedelta(0)


def test_naive_datetime_is_refused(store):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), store.session() as s:
        ingest = _ingest()
        ingest.started_at = dt.datetime(2024, 3, 1, 8, 0)
        s.add(ingest)


@pytest.mark.parametrize("table", ["audit_log", "reviews"])
def test_append_only_tables_refuse_update_and_delete(city, table):
    with city.session() as s:
        record_audit(
            s,
            actor="analyst1",
            action="meter.update",
            entity="meters",
            entity_id="M1",
            before={"address": "旧地址"},
            after={"address": ADDRESS},
        )
        s.add(
            Review(
                meter_id="M1",
                action="note",
                status="open",
                note="首次记录",
                version=0,
                created_by="inspector1",
            )
        )
    column = "actor" if table == "audit_log" else "note"
    with pytest.raises(REFUSED, match=f"{table} is append-only"), city.session() as s:
        s.execute(sa.text(f"UPDATE {table} SET {column} = 'changed'"))
    with pytest.raises(REFUSED, match=f"{table} is append-only"), city.session() as s:
        s.execute(sa.text(f"DELETE FROM {table}"))
    with city.session() as s:
        assert s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_append_only_refuses_orm_changes_too(city):
    with city.session() as s:
        entry = record_audit(s, actor="a", action="x", entity="meters", entity_id=1)
    with pytest.raises(REFUSED, match="audit_log is append-only"), city.session() as s:
        s.delete(s.get(AuditLog, entry.id))


def test_record_audit(city):
    with city.session() as s:
        entry = record_audit(
            s,
            actor="admin",
            action="label.add",
            entity="inspection_labels",
            entity_id=7,
            after={"inspected_on": dt.date(2024, 3, 2), "地址": ADDRESS},
        )
    with city.session() as s:
        got = s.get(AuditLog, entry.id)
        assert got.entity_id == "7"
        assert got.after == {"inspected_on": "2024-03-02", "地址": ADDRESS}
        assert got.before is None
        assert got.at.tzinfo == dt.UTC


def test_record_audit_checks_arguments(store):
    with store.session() as s, pytest.raises(ValueError, match="actor must be a non-empty"):
        record_audit(s, actor="", action="x", entity="meters", entity_id=1)


def test_rejected_rows_cascade_with_their_ingest(store):
    with store.session() as s:
        ingest = _ingest()
        for n in (2, 5):
            ingest.rejected_rows.append(
                RejectedRow(
                    kind="registry",
                    source_path="registry.csv",
                    row_number=n,
                    column="lon",
                    value="abc",
                    reason="lon is not a number",
                    raw={"meter_id": f"M{n}", "lon": "abc"},
                )
            )
        s.add(ingest)
        s.add(_ingest(sha="c" * 64))
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RejectedRow)) == 2
        # A core DELETE: the database, not the ORM, must cascade.
        s.execute(sa.delete(Ingest).where(Ingest.sha256 == "a" * 64))
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RejectedRow)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Ingest)) == 1


def test_layer_features_cascade_with_their_layer(city):
    with city.session() as s:
        s.execute(sa.delete(Layer))
    with city.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(LayerFeature)) == 0


def test_flags_cascade_with_their_run(city):
    with city.session() as s:
        run = DetectionRun(detector="iforest", version="1.0", params={"n": 100}, n_meters=3)
        run.flags.append(Flag(meter_id="M1", score=0.9, rank=1, reasons=["flat 24h load"]))
        s.add(run)
    with city.session() as s:
        s.execute(sa.delete(DetectionRun))
    with city.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0


@pytest.mark.parametrize(
    "make_rows",
    [
        pytest.param(lambda: [_ingest(), _ingest()], id="ingests-kind-sha256"),
        pytest.param(lambda: [_meter("M1", 116.0, 39.0)], id="meters-meter_id"),
        pytest.param(
            lambda: [
                InspectionLabel(meter_id="M1", label="mining", inspected_on=dt.date(2024, 3, 2)),
                InspectionLabel(
                    meter_id="M1", label="not_mining", inspected_on=dt.date(2024, 3, 2)
                ),
            ],
            id="labels-meter-date",
        ),
        pytest.param(
            lambda: [
                Review(
                    meter_id="M2",
                    action="assign",
                    status="assigned",
                    assignee="张三",
                    version=0,
                    created_by="lead",
                ),
                Review(
                    meter_id="M2",
                    action="assign",
                    status="assigned",
                    assignee="李四",
                    version=0,
                    created_by="lead2",
                ),
            ],
            id="reviews-meter-version",
        ),
        pytest.param(
            lambda: [
                Weather(date=dt.date(2024, 1, 1), temp_c=-5.0),
                Weather(date=dt.date(2024, 1, 1), temp_c=-4.0),
            ],
            id="weather-date",
        ),
    ],
)
def test_unique_constraints(city, make_rows):
    *first, last = make_rows()
    with city.session() as s:
        s.add_all(first)
    with pytest.raises(sa.exc.IntegrityError), city.session() as s:
        s.add(last)


def test_flag_unique_per_run(city):
    with pytest.raises(sa.exc.IntegrityError), city.session() as s:
        run = DetectionRun(detector="iforest", version="1.0", params={})
        run.flags.append(Flag(meter_id="M1", score=0.9, rank=1, reasons=[]))
        run.flags.append(Flag(meter_id="M1", score=0.8, rank=2, reasons=[]))
        s.add(run)


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            lambda: InspectionLabel(
                meter_id="M1", label="maybe", inspected_on=dt.date(2024, 1, 1)
            ),
            id="label",
        ),
        pytest.param(lambda: _meter("M9", 116.0, 39.0, coord_system="utm"), id="coord_system"),
        pytest.param(lambda: _meter("M9", 200.0, 39.0), id="lon-range"),
        pytest.param(
            lambda: Review(
                meter_id="M1",
                action="outcome",
                status="closed",
                outcome="maybe",
                version=0,
                created_by="x",
            ),
            id="outcome",
        ),
    ],
)
def test_check_constraints(city, row):
    with pytest.raises(sa.exc.IntegrityError), city.session() as s:
        s.add(row())


def test_foreign_keys_are_enforced(city):
    with pytest.raises(sa.exc.IntegrityError), city.session() as s:
        s.add(InspectionLabel(meter_id="NOPE", label="mining", inspected_on=dt.date(2024, 1, 1)))


def test_session_rolls_back_on_error(city):
    with pytest.raises(RuntimeError, match="boom"), city.session() as s:
        s.add(Weather(date=dt.date(2024, 2, 1), temp_c=1.0))
        s.flush()
        raise RuntimeError("boom")
    with city.session() as s:
        assert s.get(Weather, dt.date(2024, 2, 1)) is None
