"""``geoenergy users``: the review app's users (add, list, deactivate, set a password).

Passwords are prompted twice or read from standard input, and stored only as
an Argon2 hash by :mod:`geoenergy.web.auth`; every change is audit-logged with
the acting login (``cli:NAME``).
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli._common import console, open_workspace
from geoenergy.errors import ConfigError

users_app = typer.Typer(
    help="Users of the review app: add, list, deactivate, set a password, unlock.",
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
            help="admin, enforcement, analyst, planner, official or monitor (see the role table).",
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
    with open_workspace() as ws:
        ws.store.check()
        user = add_user(ws.store, name, role, password, actor=_actor())
    console.print(f"Added user {escape(user['name'])} ({user['role']}).", highlight=False)


@users_app.command("list")
def users_list():
    """List the users with their role and whether they are active."""
    from geoenergy.web.auth import list_users

    with open_workspace() as ws:
        ws.store.check()
        users = list_users(ws.store)
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

    with open_workspace() as ws:
        ws.store.check()
        deactivate_user(ws.store, name, actor=_actor())
    console.print(f"Deactivated user {escape(name)}.", highlight=False)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdinOpt = False,
):
    """Set a new password for a user."""
    from geoenergy.web.auth import set_password

    password = _read_password(password_stdin)
    with open_workspace() as ws:
        ws.store.check()
        set_password(ws.store, name, password, actor=_actor())
    console.print(f"Password of {escape(name)} changed.", highlight=False)


@users_app.command("unlock")
def users_unlock(name: Annotated[str, typer.Argument(help="User name.")]):
    """Clear a user name's failed logins, so its next login is not delayed (audited)."""
    from geoenergy.web.auth import unlock_user

    with open_workspace() as ws:
        ws.store.check()
        cleared = unlock_user(ws.store, name, actor=_actor())
    console.print(
        f"Unlocked {escape(name)}: {cleared} failed login(s) no longer count.", highlight=False
    )
