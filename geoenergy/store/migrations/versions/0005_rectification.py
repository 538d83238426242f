"""Classified rectification: a confirmed-mining outcome records the kind of site and the measure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Two nullable text columns of ``reviews``: ``site_kind`` and ``measure``,
codes from the workspace's vocabularies (:mod:`geoenergy.rectification`;
configurable, hence no CHECK constraint: the review app checks them).
Adding a nullable column rewrites no row, so the append-only triggers of
revisions 0001 and 0003 stay as they are (on SQLite, ``ADD COLUMN`` keeps
them; no batch rebuild).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("site_kind", "measure")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("reviews", sa.Column(name, sa.String(32), nullable=True))


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            # SQLite >= 3.35 drops a column in place; a batch rebuild would lose the triggers.
            op.execute(f"ALTER TABLE reviews DROP COLUMN {name}")
        else:
            op.drop_column("reviews", name)
