"""``geoenergy tokens``: bearer tokens of the ingest API (add, list, revoke).

A token is printed once when it is made and stored only as a hash; it may
write the readings of the meters given with ``--meter``. Every change is
audit-logged with the acting login (``cli:NAME``).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli._common import console, err_console, open_workspace

tokens_app = typer.Typer(
    help="Bearer tokens of the ingest API (POST /api/v1/readings): add, list, revoke.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


@tokens_app.command("add")
def tokens_add(
    name: Annotated[str, typer.Argument(help="Token name, e.g. the data centre's gateway.")],
    meter: Annotated[
        list[str],
        typer.Option("--meter", help="A meter id the token may write; repeat for each meter."),
    ],
):
    """Make a token for some meters and print it once (only its hash is kept)."""
    from geoenergy.monitor.tokens import add_token

    with open_workspace() as ws:
        ws.store.check()
        token, warnings = add_token(ws.store, name, meter, actor=_actor())
    for w in warnings:
        err_console.print(f"warning: {escape(w)}", highlight=False)
    err_console.print(
        f"Token {escape(name)} for {len(set(meter))} meter(s). It is shown once; keep it "
        f"in the gateway's secret store:",
        highlight=False,
    )
    # The token alone on stdout, so `TOKEN=$(geoenergy tokens add ...)` works.
    console.print(token, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def tokens_list():
    """List the tokens (names, meters, created, revoked; never the secrets)."""
    from geoenergy.monitor.tokens import list_tokens

    with open_workspace() as ws:
        ws.store.check()
        rows = list_tokens(ws.store)
    if not rows:
        console.print("No tokens. Make one with `geoenergy tokens add NAME --meter ID`.")
        return
    table = Table("name", "meters", "created (UTC)", "by", "revoked (UTC)")
    for r in rows:
        table.add_row(
            escape(r["name"]),
            escape(", ".join(r["meters"])),
            f"{r['created_at']:%Y-%m-%d %H:%M}",
            escape(r["created_by"]),
            f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="Token name.")]):
    """Revoke a token: the API refuses it from the next request on."""
    from geoenergy.monitor.tokens import revoke_token

    with open_workspace() as ws:
        ws.store.check()
        revoke_token(ws.store, name, actor=_actor())
    console.print(f"Revoked token {escape(name)}.", highlight=False)
