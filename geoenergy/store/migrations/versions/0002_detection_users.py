"""Detection results in full, hotspots, registered detector models, review-app users.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

- ``flags`` keeps every scored meter of a run (``flagged`` says which were
  flagged), with its status, spatial context (district, building use, peer
  group, hotspot), onset date and feature values.
- ``detection_runs`` records the model's hash and card.
- ``hotspots``: clusters of flagged meters per run (WGS84 polygons).
- ``detector_models``: saved detectors registered in the workspace.
- ``users`` and ``login_attempts`` for the review app's login.

Columns are added with ``ALTER TABLE ADD COLUMN`` (nullable or with a server
default), which SQLite supports without a table rebuild. ``flags.hotspot_id``
has no foreign key for the same reason: adding one on SQLite means rebuilding
``flags``, which the append-only ``reviews`` rows reference.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry, alembic_helpers  # noqa: F401  (registers geospatial ops)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "hotspots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("n_flagged", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
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
            ["run_id"],
            ["detection_runs.id"],
            name=op.f("fk_hotspots_run_id_detection_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspots")),
    )
    op.create_geospatial_index(
        "idx_hotspots_geom",
        "hotspots",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_hotspots_run_id"), "hotspots", ["run_id"], unique=False)

    op.create_table(
        "detector_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("registered_by", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_models")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'enforcement', 'analyst', 'planner', 'official')",
            name=op.f("ck_users_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_name_at"), "login_attempts", ["name", "at"], unique=False
    )
    op.create_index(
        op.f("ix_login_attempts_remote_addr_at"),
        "login_attempts",
        ["remote_addr", "at"],
        unique=False,
    )

    op.add_column("detection_runs", sa.Column("model_sha256", sa.String(length=64)))
    op.add_column("detection_runs", sa.Column("model_card", sa.JSON()))
    op.add_column(
        "flags", sa.Column("flagged", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "flags",
        sa.Column("status", sa.String(length=128), server_default="ok", nullable=False),
    )
    op.add_column("flags", sa.Column("district", sa.String()))
    op.add_column("flags", sa.Column("building_use", sa.String()))
    op.add_column("flags", sa.Column("peer_group", sa.String()))
    op.add_column("flags", sa.Column("onset_date", sa.Date()))
    op.add_column("flags", sa.Column("hotspot_id", sa.Integer()))
    op.add_column("flags", sa.Column("features", sa.JSON()))
    op.create_index(op.f("ix_flags_hotspot_id"), "flags", ["hotspot_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_flags_hotspot_id"), table_name="flags")
    with op.batch_alter_table("flags") as batch:
        for col in (
            "features",
            "hotspot_id",
            "onset_date",
            "peer_group",
            "building_use",
            "district",
            "status",
            "flagged",
        ):
            batch.drop_column(col)
    with op.batch_alter_table("detection_runs") as batch:
        batch.drop_column("model_card")
        batch.drop_column("model_sha256")
    op.drop_index(op.f("ix_login_attempts_remote_addr_at"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_name_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("users")
    op.drop_table("detector_models")
    op.drop_index(op.f("ix_hotspots_run_id"), table_name="hotspots")
    op.drop_geospatial_index(
        "idx_hotspots_geom",
        table_name="hotspots",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("hotspots")
