"""``geoenergy db``: the relational store's schema migrations; compaction of the readings store."""

from __future__ import annotations

from typing import Annotated

import typer

from geoenergy.cli._common import console, open_workspace

db_app = typer.Typer(
    help="The stores: schema migrations, readings compaction.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head"):
    """Create or migrate the store schema to the newest revision."""
    from geoenergy.store import current_revision, redact_url, upgrade

    ws = open_workspace()
    before = current_revision(ws.db_url)
    upgrade(ws.db_url, revision)
    after = current_revision(ws.db_url)
    console.print(f"Store {redact_url(ws.db_url)}: schema {before or 'empty'} -> {after}.")


@db_app.command("current")
def db_current():
    """Show the store's schema revision and the one this GeoEnergy needs."""
    from geoenergy.store import current_revision, head_revision, redact_url

    ws = open_workspace()
    console.print(
        f"Store {redact_url(ws.db_url)}: schema {current_revision(ws.db_url) or 'empty'}; "
        f"this GeoEnergy needs {head_revision()}."
    )


@db_app.command("compact")
def db_compact():
    """Merge the readings store's small files, one per bucket (reads are unchanged)."""
    from geoenergy.readings import compact_readings

    ws = open_workspace()
    res = compact_readings(ws)
    console.print(
        f"Readings store {ws.readings_path}: {res['files_before']:,} files -> "
        f"{res['files_after']:,} ({res['buckets']:,} bucket(s) merged, {res['rows']:,} rows)."
    )
