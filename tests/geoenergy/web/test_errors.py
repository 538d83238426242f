"""Bounded parameters, one error page with the security headers, exports that fail
before they start, and audited case views (issue 19)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geoenergy.store import AuditLog, Store
from geoenergy.web.queue import MAX_ID, QueryError, parse_int

TOO_BIG = str(2**63)  # the issue's: beyond a 64-bit integer


@pytest.mark.parametrize(
    "path",
    [
        f"/queue?run={TOO_BIG}",
        f"/queue?hotspot={TOO_BIG}",
        f"/queue?page={TOO_BIG}",
        f"/queue?page_size={TOO_BIG}",
        f"/queue?run=-{TOO_BIG}",
        "/queue?run=99999999999999999999999",
        f"/queue?run={MAX_ID + 1}",  # beyond PostgreSQL's integer
        f"/queue?hotspot={MAX_ID + 1}",
        f"/cases/M1?run={TOO_BIG}",
        f"/overview?run={TOO_BIG}",
        f"/queue.csv?run={TOO_BIG}",
        f"/queue.xlsx?hotspot={TOO_BIG}",
        "/queue?run=1e3",
        "/queue?run=%EF%BC%91",  # a full-width digit one: int() would take it
    ],
)
def test_numbers_out_of_range_answer_400_with_the_headers(ro_client_for, path):
    r = ro_client_for("admin").get(path)
    assert r.status_code == 400, (path, r.status_code)
    assert "Bad request" in r.text and "text/html" in r.headers["content-type"]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [f"/queue?run={MAX_ID}", f"/queue?hotspot={MAX_ID}"])
def test_the_largest_id_is_a_usable_number(ro_client_for, path):
    r = ro_client_for("admin").get(path)
    assert r.status_code in (200, 400) and "Internal" not in r.text


def test_parse_int():
    assert parse_int("", "run") is None and parse_int("7", "run") == 7
    assert parse_int(str(MAX_ID), "run") == MAX_ID
    with pytest.raises(
        QueryError, match=r"run=9223372036854775808 is out of range; use 1 to 2147"
    ):
        parse_int(TOO_BIG, "run")
    with pytest.raises(QueryError, match="is not a whole number"):
        parse_int("١٢", "run")  # Arabic-Indic digits


def test_version_out_of_range_is_a_400_not_a_500(client_for, kit):
    client = client_for("enforcement")
    token = kit.csrf_of(client.get("/cases/M1").text)
    r = client.post(
        "/cases/M1",
        data={"csrf_token": token, "action": "note", "note": "x", "version": TOO_BIG},
    )
    assert r.status_code == 400 and "reload the case" in r.text


def _boom_app(web_app):
    from fastapi.testclient import TestClient

    def boom():
        raise RuntimeError("a bug")

    web_app.add_api_route("/boom", boom)
    return TestClient(web_app, raise_server_exceptions=False)


def test_server_errors_get_the_error_page_and_the_security_headers(web_app):
    with _boom_app(web_app) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert "Server error" in r.text and "a bug" not in r.text
    assert r.headers["connection"] == "close"  # the server drops it after an error
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for header in ("x-content-type-options", "x-frame-options", "referrer-policy"):
        assert header in r.headers
    assert r.headers["cache-control"] == "no-store"


def test_a_validation_error_is_the_400_page_not_json(web_app):
    """FastAPI answers a badly typed parameter with a JSON 422; here it is the error page."""
    from fastapi.testclient import TestClient

    def typed(n: int):
        return {"n": n}

    web_app.add_api_route("/typed", typed)
    with TestClient(web_app) as client:
        r = client.get("/typed?n=abc")
    assert r.status_code == 400 and "Bad request" in r.text and "unusable fields: n" in r.text
    assert "content-security-policy" in r.headers


@pytest.mark.parametrize("path", ["/no/such/page", "/queue.csv/x"])
def test_404_is_the_same_page_with_the_headers(ro_client_for, path):
    r = ro_client_for("admin").get(path)
    assert r.status_code == 404 and "Not found" in r.text
    assert "content-security-policy" in r.headers


def test_405_is_the_same_page(ro_client_for):
    r = ro_client_for("admin").put("/queue")
    assert r.status_code == 405 and "Method not allowed" in r.text
    assert "content-security-policy" in r.headers


# -- exports --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/queue.csv?run=99", "/queue.xlsx?run=99"])
def test_export_of_a_missing_run_is_400(ro_client_for, path):
    r = ro_client_for("enforcement").get(path)
    assert r.status_code == 400 and "no detection run 99" in r.text
    assert "content-disposition" not in r.headers


def test_queue_csv_fails_before_it_starts(web_app, kit, monkeypatch):
    """A query that fails gives an error page, not a 200 that breaks off mid-stream."""
    import geoenergy.web.routes as routes

    def failing(*args, **kw):
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection lost"))
        yield  # pragma: no cover

    monkeypatch.setattr(routes, "queue_rows", failing)
    with _boom_app(web_app) as client:
        assert kit.login(client, "eve").status_code == 303
        r = client.get("/queue.csv")
    assert r.status_code == 500 and "content-disposition" not in r.headers
    assert "content-security-policy" in r.headers


def test_queue_csv_of_an_existing_run_streams_every_row(ro_client_for):
    text = ro_client_for("enforcement").get("/queue.csv?run=1").content.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 1 + 3  # header and run 1's flagged meters


# -- audit ----------------------------------------------------------------------------


def test_opening_a_case_is_audited(client_for, web_ws):
    client = client_for("analyst")
    assert client.get("/cases/M1?run=2").status_code == 200
    assert client.get("/cases/NOPE").status_code == 404
    with Store.for_workspace(web_ws) as store, store.session() as s:
        rows = s.execute(
            sa.select(AuditLog.actor, AuditLog.entity, AuditLog.entity_id, AuditLog.after).where(
                AuditLog.action == "case.view"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("ana", "meters", "M1", {"run": 2, "addresses": False})]
