"""The CLI lines of issue 19: ``geoenergy users unlock`` and ``serve --forwarded-allow-ips``.

(The CLI's own tests live in tests/geoenergy/cli; these check the two options
the review app's hardening added.)
"""

from __future__ import annotations

import io
import json
import os
import sys

import pytest
import sqlalchemy as sa

from geoenergy.cli import main
from geoenergy.store import AuditLog, Store
from geoenergy.web.auth import (
    AuthError,
    LoginLimits,
    LoginRateLimitError,
    add_user,
    authenticate,
)

PW = "a long enough passphrase"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("GEOENERGY_DB", "GEOENERGY_WORKSPACE", "GEOENERGY_WEB_OPTIONS"):
        monkeypatch.setenv(var, "")  # so that monkeypatch restores the absence
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
def uvicorn_calls(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    return calls


def test_users_unlock(run, make_ws, kit):
    ws = make_ws()
    hasher = kit.cheap_hasher()
    limits = LoginLimits(per_name=2)
    with Store.for_workspace(ws) as store:
        add_user(store, "eve", "enforcement", PW, hasher=hasher)
        for _ in range(2):
            with pytest.raises(AuthError):
                authenticate(
                    store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, hasher=hasher
                )
        with pytest.raises(LoginRateLimitError):
            authenticate(store, "eve", PW, "10.0.0.1", limits=limits, hasher=hasher)
    code, out, err = run("-w", ws.path, "users", "unlock", "eve")
    assert code == 0, err
    assert "Unlocked eve: 2 failed login(s) no longer count" in out
    with Store.for_workspace(ws) as store:
        assert authenticate(store, "eve", PW, "10.0.0.1", limits=limits, hasher=hasher).name
        with store.session() as s:
            actor = s.scalar(sa.select(AuditLog.actor).where(AuditLog.action == "user.unlock"))
    assert actor.startswith("cli")


def test_serve_trusts_no_proxy_by_default(run, make_ws, uvicorn_calls):
    code, _, err = run("-w", make_ws().path, "serve", "--port", "8123")
    assert code == 0, err
    ((app, kw),) = uvicorn_calls
    assert kw["proxy_headers"] is False
    assert app.state.web.forwarded_allow_ips == ()


def test_serve_forwarded_allow_ips(run, make_ws, uvicorn_calls):
    code, _, err = run(
        "-w", make_ws().path, "serve", "--forwarded-allow-ips", "10.0.0.5, 10.1.0.0/16"
    )
    assert code == 0, err
    ((app, kw),) = uvicorn_calls
    assert kw["proxy_headers"] is False
    assert app.state.web.forwarded_allow_ips == ("10.0.0.5", "10.1.0.0/16")


def test_serve_forwarded_allow_ips_reach_every_worker(run, make_ws, uvicorn_calls):
    from geoenergy.web.app import app_from_env

    code, _, err = run(
        "-w", make_ws().path, "serve", "--workers", "2", "--forwarded-allow-ips", "10.0.0.5"
    )
    assert code == 0, err
    ((target, kw),) = uvicorn_calls
    assert target == "geoenergy.web.app:app_from_env" and kw["proxy_headers"] is False
    assert json.loads(os.environ["GEOENERGY_WEB_OPTIONS"])["forwarded_allow_ips"] == "10.0.0.5"
    assert app_from_env().state.web.forwarded_allow_ips == ("10.0.0.5",)


def test_serve_refuses_a_proxy_name(run, make_ws, uvicorn_calls):
    code, _, err = run("-w", make_ws().path, "serve", "--forwarded-allow-ips", "proxy.local")
    assert code == 1 and "is not an IP address or network" in err
    assert uvicorn_calls == []
