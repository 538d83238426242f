"""``geoenergy serve`` and ``geoenergy users``."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest
import sqlalchemy as sa

from geoenergy.cli import app, main
from geoenergy.store import AuditLog, Store, User

PW = "a long enough passphrase"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("GEOENERGY_DB", "GEOENERGY_WORKSPACE", "GEOENERGY_WEB_OPTIONS"):
        # setenv first so the original state is restored even if `serve` sets it.
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)


@pytest.fixture
def run(capsys, monkeypatch):
    def _run(*args, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, " ".join(out.split()), " ".join(err.split())

    return _run


@pytest.fixture
def ws(make_ws):
    return make_ws()


def test_users_add_list_deactivate(run, ws):
    code, out, err = run(
        "-w",
        ws.path,
        "users",
        "add",
        "李四",
        "--role",
        "enforcement",
        "--password-stdin",
        stdin=PW + "\n",
    )
    assert code == 0, err
    assert "Added user 李四 (enforcement)" in out
    code, out, _ = run("-w", ws.path, "users", "list")
    assert code == 0 and "李四" in out and "enforcement" in out and "yes" in out
    code, out, _ = run("-w", ws.path, "users", "deactivate", "李四")
    assert code == 0 and "Deactivated" in out
    code, out, _ = run("-w", ws.path, "users", "list")
    assert "no" in out
    with Store.for_workspace(ws) as store, store.session() as s:
        user = s.scalars(sa.select(User)).one()
        actors = s.scalars(sa.select(AuditLog.actor)).all()
    assert user.password_hash.startswith("$argon2id$") and PW not in user.password_hash
    assert all(a.startswith("cli") for a in actors)


def test_password_with_spaces_is_kept(run, ws):
    from geoenergy.web.auth import authenticate

    code, _, err = run(
        "-w",
        ws.path,
        "users",
        "add",
        "eve",
        "--role",
        "admin",
        "--password-stdin",
        stdin="  spaced passphrase  \n",
    )
    assert code == 0, err
    with Store.for_workspace(ws) as store:
        assert authenticate(store, "eve", "  spaced passphrase  ", "127.0.0.1").name == "eve"


def test_password_is_prompted_twice(ws):
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app,
        ["-w", str(ws.path), "users", "add", "eve", "--role", "analyst"],
        input=f"{PW}\n{PW}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") >= 1 and PW not in result.output
    result = CliRunner().invoke(
        app,
        ["-w", str(ws.path), "users", "add", "ed", "--role", "analyst"],
        input=f"{PW}\nsomething else entirely\n{PW}\n{PW}\n",
    )
    assert result.exit_code == 0 and "do not match" in result.output.lower()


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["users", "add", "eve", "--role", "boss", "--password-stdin"], PW, "not a role"),
        (["users", "add", "eve", "--role", "admin", "--password-stdin"], "short\n", "at least 10"),
        (["users", "add", "eve", "--role", "admin", "--password-stdin"], "", "no password line"),
        (["users", "deactivate", "nobody"], None, "no user 'nobody'"),
    ],
)
def test_users_errors_are_one_line(run, ws, args, stdin, words):
    code, _, err = run("-w", ws.path, *args, stdin=stdin)
    assert code == 1
    assert words in err and "Traceback" not in err


def test_serve_builds_the_app_and_runs_uvicorn(run, ws, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    code, out, err = run("-w", ws.path, "serve", "--port", "8123", "--tile-url", "none")
    assert code == 0, err
    target, kw = calls[0]
    assert type(target).__name__ == "FastAPI"
    assert (kw["host"], kw["port"]) == ("127.0.0.1", 8123)
    assert "http://127.0.0.1:8123" in out
    assert (ws.path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_serve_with_workers_uses_the_env_factory(run, ws, monkeypatch):
    import uvicorn

    from geoenergy.web.app import app_from_env

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    code, _, err = run("-w", ws.path, "serve", "--host", "0.0.0.0", "--workers", "2", "--https")
    assert code == 0
    assert "plain HTTP" not in err  # --https given
    target, kw = calls[0]
    assert target == "geoenergy.web.app:app_from_env" and kw["factory"] and kw["workers"] == 2
    assert json.loads(os.environ["GEOENERGY_WEB_OPTIONS"])["https_only"] is True
    assert type(app_from_env()).__name__ == "FastAPI"


def test_serve_warns_about_plain_http_on_the_network(run, ws, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: None)
    code, _, err = run("-w", ws.path, "serve", "--host", "0.0.0.0")
    assert code == 0 and "plain HTTP" in err


def test_serve_refuses_a_secret_readable_by_others(run, ws):
    secret = ws.path / "secret_key"
    secret.write_text("x" * 64)
    secret.chmod(0o644)
    code, _, err = run("-w", ws.path, "serve")
    assert code == 1 and "chmod 600" in err
