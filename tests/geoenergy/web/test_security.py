"""Security of the review app over HTTP: CSRF, cookies, sessions, rate limits, headers,
and injection payloads in every text field (stored verbatim, shown escaped)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from geoenergy.store import LoginAttempt, Review, Store, User

PAYLOADS = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    "\"'><svg onload=alert(1)>",
    "'; DROP TABLE reviews; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM audit_log WHERE ('1'='1",
    "{{ 7*7 }} {% raw %}",
    "=cmd|' /C calc'!A0",
]


def _case_form(client, kit, meter="M4"):
    page = client.get(f"/cases/{meter}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return kit.csrf_of(page), version


# -- CSRF -----------------------------------------------------------------------------


def _post_routes(client, kit):
    """(path, form) of every POST route, filled in correctly except for the token."""
    return [
        ("/login", {"name": "eve", "password": kit.PASSWORD}),
        ("/logout", {}),
        ("/cases/M4", {"action": "note", "version": "0", "note": "hello"}),
    ]


@pytest.mark.parametrize("token", [None, "", "wrong-token", "x" * 43])
def test_every_post_without_the_right_csrf_token_is_refused(client_for, kit, web_ws, token):
    client = client_for("enforcement")
    client.get("/cases/M4")  # the session has a token; the form does not send it
    for path, form in _post_routes(client, kit):
        data = dict(form)
        if token is not None:
            data["csrf_token"] = token
        r = client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        assert "security token (CSRF)" in r.text
    # Nothing happened: still logged in, no review written.
    assert client.get("/queue").status_code == 200
    with Store.for_workspace(web_ws) as store, store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


def test_every_post_route_is_csrf_checked():
    """No POST route escapes the check: the list above names them all."""
    from geoenergy.web.routes import router

    posts = {r.path for r in router.routes if "POST" in r.methods}
    assert posts == {"/login", "/logout", "/cases/{meter_id:path}"}


def test_token_of_another_session_is_refused(client_for, kit):
    eve, ed = client_for("enforcement"), client_for(name="ed")
    token_of_ed = kit.csrf_of(ed.get("/cases/M4").text)
    eve.get("/cases/M4")
    r = eve.post(
        "/cases/M4",
        data={"csrf_token": token_of_ed, "action": "note", "version": "0", "note": "x"},
    )
    assert r.status_code == 403


def test_post_from_another_origin_is_refused(client_for, kit):
    client = client_for("enforcement")
    token, version = _case_form(client, kit)
    r = client.post(
        "/cases/M4",
        data={"csrf_token": token, "action": "note", "version": version, "note": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "another site" in r.text
    r = client.post(
        "/cases/M4",
        data={"csrf_token": token, "action": "note", "version": version, "note": "x"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303


# -- cookies and sessions -------------------------------------------------------------------


def test_session_cookie_is_httponly_samesite_and_not_secure_over_http(ro_client_for, kit):
    client = ro_client_for(None)
    r = kit.login(client, "eve")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("geoenergy_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    assert "correct horse" not in cookie  # never the password


def test_https_only_marks_the_cookie_secure_and_sends_hsts(web_ws, kit, tmp_path):
    from fastapi.testclient import TestClient

    from geoenergy.store import Store
    from geoenergy.web import create_app

    store = Store.for_workspace(web_ws)
    app = create_app(
        web_ws,
        store=store,
        https_only=True,
        same_site="strict",
        password_hasher=kit.cheap_hasher(),
    )
    with TestClient(app, base_url="https://testserver") as client:
        r = kit.login(client, "eve")
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "samesite=strict" in cookie
        assert "max-age=31536000" in client.get("/queue").headers["strict-transport-security"]
    store.dispose()


def test_logout_clears_the_session_and_a_copied_cookie_stops_working(client_for, kit):
    client = client_for("enforcement")
    stolen = client.cookies.get("geoenergy_session")
    token = kit.csrf_of(client.get("/queue").text)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "1970" in r.headers["set-cookie"]  # the browser drops the cookie
    assert client.get("/queue", follow_redirects=False).status_code == 303
    # A copy of the cookie taken before logout is refused too (the session id is revoked).
    other = client_for(None)
    other.cookies.set("geoenergy_session", stolen)
    r = other.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_tampered_cookie_is_ignored(ro_client_for):
    client = ro_client_for("enforcement")
    value = client.cookies.get("geoenergy_session")
    client.cookies.set("geoenergy_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_deactivated_user_is_logged_out_at_once(client_for, kit, web_ws):
    from geoenergy.web import deactivate_user

    client = client_for(name="ed")
    assert client.get("/queue").status_code == 200
    with Store.for_workspace(web_ws) as store:
        deactivate_user(store, "ed")
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert kit.login(client_for(None), "ed").status_code == 401


def test_role_change_takes_effect_at_once(client_for, kit, web_ws):
    client = client_for(name="ed")
    assert client.get("/queue").status_code == 200
    with Store.for_workspace(web_ws) as store, store.session() as s:
        s.execute(sa.update(User).where(User.name == "ed").values(role="official"))
    # The session ends with the role it was opened with (issue 19) ...
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # ... and a new login has the new role.
    assert kit.login(client, "ed").status_code == 303
    assert client.get("/queue").status_code == 403


def test_session_fixation_a_pre_login_session_is_replaced(ro_client_for, kit):
    client = ro_client_for(None)
    client.get("/login")
    before = client.cookies.get("geoenergy_session")
    kit.login(client, "eve")
    assert client.cookies.get("geoenergy_session") != before


# -- login and rate limiting ------------------------------------------------------------------


def test_wrong_password_and_unknown_user_get_the_same_answer(ro_client_for, kit):
    a = kit.login(ro_client_for(None), "eve", password="not the password!")
    b = kit.login(ro_client_for(None), "nobody-at-all", password="not the password!")
    assert a.status_code == b.status_code == 401
    assert "wrong user name or password" in a.text and "wrong user name or password" in b.text


def test_failed_logins_are_rate_limited_per_name_across_processes(
    client_for, kit, web_app, web_ws
):
    from fastapi.testclient import TestClient

    from geoenergy.store import Store
    from geoenergy.web import create_app

    for _ in range(5):
        assert kit.login(client_for(None), "eve", password="guess guess guess").status_code == 401
    r = kit.login(client_for(None), "eve")  # even the right password
    assert r.status_code == 429
    assert "too many failed logins" in r.text and int(r.headers["retry-after"]) > 0
    # Another app instance (another worker process) on the same store agrees.
    store = Store.for_workspace(web_ws)
    other = create_app(web_ws, store=store, password_hasher=kit.cheap_hasher())
    with TestClient(other) as c2:
        assert kit.login(c2, "eve").status_code == 429
        assert kit.login(c2, "ed").status_code == 303  # other names are not affected
    store.dispose()
    with Store.for_workspace(web_ws) as store, store.session() as s:
        attempts = s.execute(
            sa.select(LoginAttempt.name, LoginAttempt.success).order_by(LoginAttempt.id)
        ).all()
    assert [tuple(a) for a in attempts[:5]] == [("eve", False)] * 5


def test_password_is_never_stored_or_logged_in_clear(client_for, kit, web_ws, caplog):
    kit.login(client_for(None), "eve", password="a wrong but secret password")
    kit.login(client_for(None), "eve")
    with Store.for_workspace(web_ws) as store, store.session() as s:
        hashes = s.scalars(sa.select(User.password_hash)).all()
        dump = repr(s.execute(sa.text("SELECT * FROM audit_log")).all())
        dump += repr(s.execute(sa.text("SELECT * FROM login_attempts")).all())
    assert all(h.startswith("$argon2id$") for h in hashes)
    for secret in (kit.PASSWORD, "a wrong but secret password"):
        assert secret not in dump
        assert secret not in caplog.text


# -- headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/queue", "/cases/M1", "/queue.csv", "/overview"])
def test_security_headers(ro_client_for, path):
    r = ro_client_for("enforcement").get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_or_style(ro_client_for):
    client = ro_client_for("enforcement")
    for path in ("/login", "/queue", "/cases/M1", "/overview"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html, path
        attributes = _attributes(html)
        assert not [a for a in attributes if a.startswith("on")], path  # no event handlers
        assert "style" not in attributes, path


def _attributes(html: str) -> set[str]:
    from html.parser import HTMLParser

    names: set[str] = set()

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            names.update(k for k, _ in attrs)

    P().feed(html)
    return names


# -- injection payloads in every text field ------------------------------------------------


def _no_raw(html: str, payload: str) -> None:
    if any(c in payload for c in "<>\"'&"):
        assert payload not in html, f"{payload!r} appears unescaped"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_notes_is_stored_verbatim_and_shown_escaped(client_for, kit, web_ws, payload):
    from markupsafe import escape

    client = client_for("enforcement")
    for version, (action, extra) in enumerate(
        (
            ("note", {}),
            ("assign", {"assignee": "ed"}),
            ("schedule", {"date": dt.date.today().isoformat()}),
            ("outcome", {"outcome": "not_mining", "date": "2023-11-20"}),
        )
    ):
        token, _ = _case_form(client, kit)
        r = client.post(
            "/cases/M4",
            data={
                "csrf_token": token,
                "action": action,
                "version": str(version),
                "note": payload,
                **extra,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
    html = client.get("/cases/M4").text
    assert html.count(str(escape(payload))) == 4
    _no_raw(html, payload)
    with Store.for_workspace(web_ws) as store, store.session() as s:
        notes = s.scalars(sa.select(Review.note).where(Review.meter_id == "M4")).all()
        assert notes == [payload] * 4
        # The injection did nothing: every table is still there and full.
        assert s.scalar(sa.text("SELECT count(*) FROM meters")) == 6
        assert s.scalar(sa.text("SELECT count(*) FROM audit_log")) >= 4


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_as_user_name_is_escaped_everywhere(client_for, kit, web_ws, payload):
    from markupsafe import escape

    from geoenergy.web import add_user

    with Store.for_workspace(web_ws) as store:
        add_user(store, payload, "enforcement", kit.PASSWORD, hasher=kit.cheap_hasher())
    client = client_for(name=payload)  # logs in with the payload as name
    token, version = _case_form(client, kit, "M5")
    r = client.post(
        "/cases/M5",
        data={"csrf_token": token, "action": "assign", "version": version, "assignee": payload},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for path in ("/cases/M5", "/queue", "/queue?assignee=" + payload):
        html = client.get(path, params=None).text
        assert str(escape(payload)) in html
        _no_raw(html, payload)
    with Store.for_workspace(web_ws) as store, store.session() as s:
        review = s.scalars(sa.select(Review).where(Review.meter_id == "M5")).one()
    assert review.assignee == payload and review.created_by == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_filters_and_login_is_escaped_and_harmless(ro_client_for, kit, payload):
    from markupsafe import escape

    client = ro_client_for("enforcement")
    for name in ("district", "assignee"):
        r = client.get("/queue", params={name: payload})
        assert r.status_code == 200
        assert "No case matches these filters." in r.text  # not "all rows"
        assert str(escape(payload)) in r.text
        _no_raw(r.text, payload)
    r = kit.login(ro_client_for(None), payload, password="whatever it is")
    assert r.status_code == 401
    assert str(escape(payload)) in r.text
    _no_raw(r.text, payload)
    r = client.get("/cases/" + payload)
    assert r.status_code == 404
    _no_raw(r.text, payload)


def test_registry_and_detector_text_is_escaped(ro_client_for, kit):
    client = ro_client_for("enforcement")
    queue = client.get("/queue").text
    case2 = client.get("/cases/M2").text
    case3 = client.get("/cases/M3").text
    for html, payloads in (
        (queue, [kit.XSS, kit.XSS_IMG, "<b>海淀</b>区"]),
        (case2, [kit.XSS, kit.XSS_IMG]),
        (case3, [kit.SQLI]),
    ):
        for p in payloads:
            _no_raw(html, p)
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in case2
    # The map data is JSON inside a single-quoted attribute: quotes and < are escaped.
    m = re.search(r"data-map='([^']*)'", queue)
    assert m and "<" not in m.group(1) and "'" not in m.group(1)


def test_control_characters_are_refused_not_stored(client_for, kit, web_ws):
    client = client_for("enforcement")
    token, version = _case_form(client, kit)
    r = client.post(
        "/cases/M4",
        data={"csrf_token": token, "action": "note", "version": version, "note": "a\x00b"},
    )
    assert r.status_code == 400 and "control characters" in r.text
    r = client.get("/queue", params={"district": "a\x00b"})
    assert r.status_code == 400
