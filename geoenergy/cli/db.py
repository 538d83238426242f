"""``geoenergy db``: the relational store's schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from geoenergy.cli._common import console, open_workspace

db_app = typer.Typer(
    help="The relational store: schema migrations.", no_args_is_help=True, rich_markup_mode=None
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
