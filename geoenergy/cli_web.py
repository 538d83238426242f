"""``geoenergy serve`` and ``geoenergy users``: run the review app and manage its users."""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli import _store, _workspace, console, ensure_registered, err_console, state
from geoenergy.errors import ConfigError

#: Idle keep-alive connections are closed after this long [s]: longer than an
#: officer's pause between clicks, so a browser rarely reuses a closing connection.
KEEP_ALIVE_S = 65

users_app = typer.Typer(
    help="Users of the review app: add, list, deactivate, set a password.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of prompting.",
    ),
]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        # Only the line break goes; spaces inside or around a passphrase are kept.
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            raise ConfigError("--password-stdin: standard input held no password line.")
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (1-64 printable characters).")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin, enforcement, analyst, planner or official (see the role table).",
        ),
    ],
    password_stdin: PasswordStdinOpt = False,
):
    """Add a user; the password is prompted twice (or read with --password-stdin) and
    stored only as an Argon2 hash."""
    from geoenergy.web.auth import _check_role, add_user, check_user_name

    check_user_name(name)
    _check_role(role)
    password = _read_password(password_stdin)
    store = _store(_workspace())
    store.check()
    user = add_user(store, name, role, password, actor=_actor())
    console.print(f"Added user {escape(user['name'])} ({user['role']}).", highlight=False)


@users_app.command("list")
def users_list():
    """List the users with their role and whether they are active."""
    from geoenergy.web.auth import list_users

    store = _store(_workspace())
    store.check()
    users = list_users(store)
    if not users:
        console.print("No users yet; add one with `geoenergy users add NAME --role admin`.")
        return
    t = Table(title=f"Users ({len(users)})")
    for col in ("name", "role", "active", "created (UTC)"):
        t.add_column(col)
    for u in users:
        t.add_row(
            escape(u["name"]),
            u["role"],
            "yes" if u["active"] else "no",
            f"{u['created_at']:%Y-%m-%d %H:%M}" if u["created_at"] else "",
        )
    console.print(t)


@users_app.command("deactivate")
def users_deactivate(name: Annotated[str, typer.Argument(help="User name.")]):
    """Deactivate a user: no more logins, and their open sessions end at once."""
    from geoenergy.web.auth import deactivate_user

    store = _store(_workspace())
    store.check()
    deactivate_user(store, name, actor=_actor())
    console.print(f"Deactivated user {escape(name)}.", highlight=False)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdinOpt = False,
):
    """Set a new password for a user."""
    from geoenergy.web.auth import set_password

    password = _read_password(password_stdin)
    store = _store(_workspace())
    store.check()
    set_password(store, name, password, actor=_actor())
    console.print(f"Password of {escape(name)} changed.", highlight=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (logins and rate limits work across them).")
    ] = 1,
    https: Annotated[
        bool,
        typer.Option(
            "--https",
            help="Served over HTTPS (directly or behind a TLS proxy): Secure cookie and HSTS.",
        ),
    ] = False,
    tile_url: Annotated[
        str,
        typer.Option(
            help="Basemap tile URL template with {z}/{x}/{y} for the small maps (e.g. an "
            "intranet tile server), or 'none' (default: no basemap, nothing leaves the network)."
        ),
    ] = "none",
    published: Annotated[
        Path | None,
        typer.Option(help="Published site to serve under /maps/ (default WORKSPACE/published)."),
    ] = None,
):
    """Run the review web app on the workspace store."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(
            "`geoenergy serve` needs uvicorn and fastapi: pip install 'uvicorn>=0.30' "
            "'fastapi>=0.115'."
        ) from None
    from geoenergy.web.app import create_app

    if workers < 1:
        raise ConfigError(f"--workers {workers}: use 1 or more.")
    ws = _workspace()
    options = {
        "https_only": https,
        "tile_url": None if tile_url.lower() == "none" else tile_url,
        "published_dir": published,
    }
    # Build once in this process: configuration errors (schema not migrated,
    # secret readable by others) are reported before listening.
    app = create_app(ws, **options)
    if not _is_loopback(host) and not https:
        err_console.print(
            f"warning: serving plain HTTP on {escape(host)}; logins and addresses cross the "
            "network unencrypted. Put the app behind a TLS proxy and pass --https.",
            highlight=False,
        )
    console.print(f"GeoEnergy review app on http://{escape(host)}:{port} (Ctrl+C to stop).")
    if workers == 1:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            log_level="info",
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        return
    os.environ["GEOENERGY_WORKSPACE"] = str(ws.path)
    if state.db:
        os.environ["GEOENERGY_DB"] = state.db
    os.environ["GEOENERGY_WEB_OPTIONS"] = _encode_options(options)
    uvicorn.run(
        "geoenergy.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _encode_options(options: dict) -> str:
    import json

    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()})


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` command group to the CLI."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")


# Importing this module before geoenergy.cli must still give the CLI its commands.
ensure_registered(sys.modules[__name__])
