"""Trusted proxies are a setting: X-Forwarded-For is believed only from them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geoenergy.store import LoginAttempt, Store
from geoenergy.web.app import check_forwarded_allow_ips


def _app(ws, site, kit, **kw):
    from geoenergy.web import create_app

    store = Store.for_workspace(ws)
    return create_app(
        ws, store=store, published_dir=site, password_hasher=kit.cheap_hasher(), **kw
    ), store


def _login_addresses(ws, app, kit, forwarded: str) -> list[str]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        page = c.get("/login")
        c.post(
            "/login",
            data={"name": "eve", "password": "wrong wrong!", "csrf_token": kit.csrf_of(page.text)},
            headers={"X-Forwarded-For": forwarded},
        )
    with Store.for_workspace(ws) as store, store.session() as s:
        return list(s.scalars(sa.select(LoginAttempt.remote_addr).order_by(LoginAttempt.id)))


def test_forwarded_for_is_ignored_by_default(web_ws, kit, tmp_path):
    app, store = _app(web_ws, tmp_path, kit)
    try:
        assert _login_addresses(web_ws, app, kit, "203.0.113.9") == ["testclient"]
    finally:
        store.dispose()


def test_forwarded_for_is_believed_from_a_trusted_proxy(web_ws, kit, tmp_path):
    # The test client's address is the name "testclient": only "*" matches it.
    app, store = _app(web_ws, tmp_path, kit, forwarded_allow_ips="*")
    try:
        assert _login_addresses(web_ws, app, kit, "203.0.113.9") == ["203.0.113.9"]
    finally:
        store.dispose()


def test_an_untrusted_proxy_s_header_is_ignored(web_ws, kit, tmp_path):
    app, store = _app(web_ws, tmp_path, kit, forwarded_allow_ips=["10.0.0.0/8"])
    try:
        assert _login_addresses(web_ws, app, kit, "203.0.113.9") == ["testclient"]
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("10.0.0.5", ("10.0.0.5",)),
        ("10.0.0.5, 10.1.0.0/16", ("10.0.0.5", "10.1.0.0/16")),
        (["::1", "*"], ("::1", "*")),
    ],
)
def test_check_forwarded_allow_ips(value, expected):
    assert check_forwarded_allow_ips(value) == expected


def test_bad_proxy_address_is_refused_with_the_fix(web_ws, kit, tmp_path):
    with pytest.raises(ValueError, match=r"'proxy\.local' is not an IP address or network"):
        _app(web_ws, tmp_path, kit, forwarded_allow_ips="proxy.local")


def test_serve_turns_uvicorn_s_own_proxy_handling_off(web_ws, monkeypatch):
    import uvicorn

    from geoenergy.web import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    serve(web_ws, port=8123)
    serve(web_ws, port=8123, forwarded_allow_ips="10.0.0.5")
    assert [kw["proxy_headers"] for _, kw in calls] == [False, False]
    assert calls[0][0].state.web.forwarded_allow_ips == ()
    assert calls[1][0].state.web.forwarded_allow_ips == ("10.0.0.5",)


def test_serve_hands_the_setting_to_every_worker(web_ws, monkeypatch):
    import json

    import uvicorn

    from geoenergy.web import serve

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    for var in ("GEOENERGY_WORKSPACE", "GEOENERGY_DB", "GEOENERGY_WEB_OPTIONS"):
        # setenv first, so that monkeypatch restores the variable (or its absence)
        # after serve() has set it.
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    serve(web_ws, workers=2, forwarded_allow_ips="10.0.0.5")
    import os

    ((app, kw),) = calls
    assert app == "geoenergy.web.app:app_from_env" and kw["proxy_headers"] is False
    options = json.loads(os.environ["GEOENERGY_WEB_OPTIONS"])
    assert options["forwarded_allow_ips"] == ["10.0.0.5"]
    from geoenergy.web.app import app_from_env

    assert app_from_env().state.web.forwarded_allow_ips == ("10.0.0.5",)
