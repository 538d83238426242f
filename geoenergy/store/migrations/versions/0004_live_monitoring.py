"""Live data-centre monitoring: ingest API tokens, alerts, the ``monitor`` role.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

- ``api_tokens``: bearer tokens of ``POST /api/v1/readings`` (name, SHA-256
  of the token, the meters it may write, created, revoked).
- ``monitor_alerts``: alerts of the live PUE monitoring, opened, updated and
  closed by their rules, with evidence and an acknowledgement.
- ``users.role`` also allows ``monitor``. SQLite cannot alter a CHECK
  constraint in place, so ``users`` is rebuilt in batch mode (it is
  referenced by no foreign key and carries no trigger).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = ("admin", "enforcement", "analyst", "planner", "official")
_ROLES_AFTER = (*_ROLES_BEFORE, "monitor")
_ALERT_RULES = ("pue_above_limit", "meter_silent", "it_load_step", "facility_below_it")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_roles(roles) -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), _in("role", roles))


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("meters", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(), server_default="cli", nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_centre", sa.String(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("rule", _ALERT_RULES), name=op.f("ck_monitor_alerts_rule")),
        sa.CheckConstraint(
            _in("status", ("open", "closed")), name=op.f("ck_monitor_alerts_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_alerts")),
    )
    op.create_index(
        op.f("ix_monitor_alerts_status_data_centre"),
        "monitor_alerts",
        ["status", "data_centre"],
        unique=False,
    )
    op.create_index(
        op.f("ix_monitor_alerts_data_centre_rule_key"),
        "monitor_alerts",
        ["data_centre", "rule", "key"],
        unique=False,
    )
    _set_roles(_ROLES_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'monitor'")
    _set_roles(_ROLES_BEFORE)
    op.drop_index(op.f("ix_monitor_alerts_data_centre_rule_key"), table_name="monitor_alerts")
    op.drop_index(op.f("ix_monitor_alerts_status_data_centre"), table_name="monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_table("api_tokens")
