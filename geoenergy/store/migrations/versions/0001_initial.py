"""Initial schema: ingestions, meters, layers, weather, labels, detection, review, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Runs on SpatiaLite and PostGIS. Started from ``alembic revision
--autogenerate`` with GeoAlchemy2's helpers (``create_geospatial_table`` and
``create_geospatial_index`` register the geometry columns with SpatiaLite
through ``RecoverGeometryColumn`` / ``CreateSpatialIndex`` and build GiST
indexes on PostGIS), then reviewed: plain ``DateTime(timezone=True)``
instead of the ORM's decorator, ``CURRENT_TIMESTAMP`` defaults valid on both
backends, the PostGIS extension, and the triggers that make ``audit_log``
and ``reviews`` append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry, alembic_helpers  # noqa: F401  (registers geospatial ops)

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables whose rows may be inserted but never changed or deleted.
APPEND_ONLY_TABLES = ("audit_log", "reviews")


def _prepare_spatial_backend() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    elif (
        bind.dialect.name == "sqlite"
        and bind.exec_driver_sql("SELECT CheckSpatialMetaData()").scalar() < 1
    ):
        # InitSpatialMetaData cannot run inside the migration's transaction;
        # geoenergy.store.upgrade() runs it before the migrations.
        raise RuntimeError(
            "this SQLite database has no SpatiaLite metadata; migrate it with "
            "`geoenergy db upgrade` (geoenergy.store.upgrade), which creates it."
        )


def _install_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION geoenergy_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                    USING HINT = 'Insert a new row instead of changing or deleting one.';
            END
            $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION geoenergy_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION geoenergy_append_only()"
            )
    else:
        for table in APPEND_ONLY_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def _drop_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS geoenergy_append_only()")
    else:
        for table in APPEND_ONLY_TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def upgrade() -> None:
    _prepare_spatial_backend()

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_entity_entity_id"), "audit_log", ["entity", "entity_id"], unique=False
    )
    op.create_table(
        "detection_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n_meters", sa.Integer(), server_default="0", nullable=False),
        sa.Column("n_flagged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "n_meters >= 0 AND n_flagged >= 0", name=op.f("ck_detection_runs_counts_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_runs")),
    )
    op.create_table(
        "ingests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("n_accepted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("n_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("n_duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('readings', 'registry', 'labels', 'weather', 'layer')",
            name=op.f("ck_ingests_kind"),
        ),
        sa.CheckConstraint("status IN ('completed', 'failed')", name=op.f("ck_ingests_status")),
        sa.CheckConstraint(
            "n_rows >= 0 AND n_accepted >= 0 AND n_rejected >= 0 AND n_duplicates >= 0",
            name=op.f("ck_ingests_counts_non_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingests")),
        sa.UniqueConstraint("kind", "sha256", name=op.f("uq_ingests_kind_sha256")),
    )
    op.create_table(
        "layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("crs", sa.String(), nullable=False),
        sa.Column("n_features", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("ingest_id", sa.Integer(), nullable=True),
        sa.Column("bounds", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('districts', 'buildings', 'heating_network', 'heat_demand', "
            "'data_centres', 'other')",
            name=op.f("ck_layers_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingests.id"],
            name=op.f("fk_layers_ingest_id_ingests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layers")),
    )
    op.create_index(op.f("ix_layers_kind_name"), "layers", ["kind", "name"], unique=False)
    op.create_geospatial_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("customer_class", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source_lon", sa.Float(), nullable=False),
        sa.Column("source_lat", sa.Float(), nullable=False),
        sa.Column("coord_system", sa.String(length=8), server_default="wgs84", nullable=False),
        sa.Column("contracted_kw", sa.Float(), nullable=True),
        sa.Column("floor_area_m2", sa.Float(), nullable=True),
        sa.Column("interval_s", sa.Integer(), nullable=True),
        sa.Column("first_reading", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reading", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n_readings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("ingest_id", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "coord_system IN ('wgs84', 'gcj02', 'bd09')", name=op.f("ck_meters_coord_system")
        ),
        sa.CheckConstraint(
            "customer_class IN ('residential', 'commercial', 'industrial', 'public', "
            "'agricultural', 'data_centre', 'other')",
            name=op.f("ck_meters_customer_class"),
        ),
        sa.CheckConstraint(
            "lon >= -180 AND lon <= 180 AND lat >= -90 AND lat <= 90",
            name=op.f("ck_meters_lonlat"),
        ),
        sa.CheckConstraint("n_readings >= 0", name=op.f("ck_meters_n_readings_non_negative")),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingests.id"],
            name=op.f("fk_meters_ingest_id_ingests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
    )
    op.create_geospatial_index(
        "idx_meters_geom",
        "meters",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_meters_meter_id"), "meters", ["meter_id"], unique=True)
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('readings', 'registry', 'labels', 'weather', 'layer')",
            name=op.f("ck_rejected_rows_kind"),
        ),
        sa.CheckConstraint("row_number >= 1", name=op.f("ck_rejected_rows_row_number_positive")),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingests.id"],
            name=op.f("fk_rejected_rows_ingest_id_ingests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_rows")),
    )
    op.create_index(
        op.f("ix_rejected_rows_ingest_id"), "rejected_rows", ["ingest_id"], unique=False
    )
    op.create_table(
        "weather",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("temp_c", sa.Float(), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingests.id"],
            name=op.f("fk_weather_ingest_id_ingests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("date", name=op.f("pk_weather")),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.meter_id"], name=op.f("fk_flags_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["detection_runs.id"],
            name=op.f("fk_flags_run_id_detection_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.UniqueConstraint("run_id", "meter_id", name=op.f("uq_flags_run_id_meter_id")),
    )
    op.create_index(op.f("ix_flags_meter_id"), "flags", ["meter_id"], unique=False)
    op.create_index(op.f("ix_flags_run_id_rank"), "flags", ["run_id", "rank"], unique=False)
    op.create_table(
        "inspection_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=8), server_default="file", nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "label IN ('mining', 'not_mining')", name=op.f("ck_inspection_labels_label")
        ),
        sa.CheckConstraint(
            "source IN ('file', 'review')", name=op.f("ck_inspection_labels_source")
        ),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingests.id"],
            name=op.f("fk_inspection_labels_ingest_id_ingests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.meter_id"], name=op.f("fk_inspection_labels_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_labels")),
        sa.UniqueConstraint(
            "meter_id", "inspected_on", name=op.f("uq_inspection_labels_meter_id_inspected_on")
        ),
    )
    op.create_geospatial_table(
        "layer_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["layers.id"],
            name=op.f("fk_layer_features_layer_id_layers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_features")),
    )
    op.create_geospatial_index(
        "idx_layer_features_geom",
        "layer_features",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_layer_features_layer_id"), "layer_features", ["layer_id"], unique=False
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("inspected_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint(
            "action IN ('assign', 'schedule', 'outcome', 'note')", name=op.f("ck_reviews_action")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('mining', 'not_mining', 'no_access')",
            name=op.f("ck_reviews_outcome"),
        ),
        sa.CheckConstraint("version >= 0", name=op.f("ck_reviews_version_non_negative")),
        sa.ForeignKeyConstraint(["flag_id"], ["flags.id"], name=op.f("fk_reviews_flag_id_flags")),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.meter_id"], name=op.f("fk_reviews_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("meter_id", "version", name=op.f("uq_reviews_meter_id_version")),
    )
    op.create_index(op.f("ix_reviews_flag_id"), "reviews", ["flag_id"], unique=False)
    op.create_index(op.f("ix_reviews_meter_id"), "reviews", ["meter_id"], unique=False)

    _install_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()

    op.drop_index(op.f("ix_reviews_meter_id"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_flag_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_layer_features_layer_id"), table_name="layer_features")
    op.drop_geospatial_index(
        "idx_layer_features_geom",
        table_name="layer_features",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("layer_features")
    op.drop_table("inspection_labels")
    op.drop_index(op.f("ix_flags_run_id_rank"), table_name="flags")
    op.drop_index(op.f("ix_flags_meter_id"), table_name="flags")
    op.drop_table("flags")
    op.drop_table("weather")
    op.drop_index(op.f("ix_rejected_rows_ingest_id"), table_name="rejected_rows")
    op.drop_table("rejected_rows")
    op.drop_index(op.f("ix_meters_meter_id"), table_name="meters")
    op.drop_geospatial_index(
        "idx_meters_geom", table_name="meters", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("meters")
    op.drop_index(op.f("ix_layers_kind_name"), table_name="layers")
    op.drop_table("layers")
    op.drop_table("ingests")
    op.drop_table("detection_runs")
    op.drop_index(op.f("ix_audit_log_entity_entity_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
