"""The append-only tables also refuse ``INSERT OR REPLACE`` on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

SQLite resolves a ``REPLACE`` conflict by deleting the old row, and that
delete fires no ``DELETE`` trigger unless ``PRAGMA recursive_triggers`` is
on, so ``INSERT OR REPLACE INTO audit_log`` (or ``reviews``) with an existing
key silently rewrote history past the triggers of revision 0001. A
``BEFORE INSERT`` trigger now refuses a row whose key already exists, at
database level, whatever the connection's pragmas: the primary key of both
tables and the unique ``(meter_id, version)`` of ``reviews``. A plain
``INSERT`` with a taken key was refused before (by the unique index) and is
refused now by the trigger, with a message that still names the unique
``version`` clash, so the review app's optimistic locking reads it the same.

PostgreSQL needs nothing: ``INSERT ... ON CONFLICT DO UPDATE`` fires the
``UPDATE`` trigger of revision 0001.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ``{table: (SQL condition on NEW that means "this key exists", message)}``.
_KEY_EXISTS = {
    "audit_log": (
        "EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)",
        "audit_log is append-only: UNIQUE constraint failed: audit_log.id",
    ),
    "reviews": (
        "EXISTS (SELECT 1 FROM reviews WHERE id = NEW.id "
        "OR (meter_id = NEW.meter_id AND version = NEW.version))",
        "reviews is append-only: UNIQUE constraint failed: reviews.id or "
        "reviews.meter_id, reviews.version",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, (exists, message) in _KEY_EXISTS.items():
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN {exists} BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _KEY_EXISTS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
