"""Every route for every role: exactly what the role may, else 403 or a redirect to login."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from geoenergy.store import AuditLog, Review, Store
from geoenergy.web.roles import PERMISSIONS

ROLES = ("admin", "enforcement", "analyst", "planner", "official")

#: (method, path, permission). Together with PUBLIC this must cover every route.
ROUTES = [
    ("GET", "/queue", "cases.view"),
    ("GET", "/queue?district=朝阳区&sort=score&desc=1", "cases.view"),
    ("GET", "/queue.csv", "queue.export"),
    ("GET", "/queue.xlsx", "queue.export"),
    ("GET", "/cases/M1", "cases.view"),
    ("GET", "/cases/M2?run=1", "cases.view"),
    ("GET", "/labels.csv", "labels.export"),
    ("GET", "/overview", "aggregates.view"),
    ("GET", "/maps/", "maps.aggregate"),
    ("GET", "/maps/officials.html", "maps.aggregate"),
    ("GET", "/maps/wasteheat.html", "maps.aggregate"),
    ("GET", "/maps/assets/app.js", "maps.aggregate"),
    ("GET", "/maps/enforcement.html", "maps.enforcement"),
]
#: Routes anyone may call (the login page, logout, liveness, the home redirect).
PUBLIC = {"/login", "/logout", "/healthz", "/favicon.ico", "/", "/maps"}


def _post_note(client, kit, meter="M4", note="checked the meter box"):
    page = client.get(f"/cases/{meter}")
    assert page.status_code == 200
    return client.post(
        f"/cases/{meter}",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "note",
            "version": "0",
            "note": note,
        },
        follow_redirects=False,
    )


def test_matrix_covers_every_route():
    """A new route cannot be added without an entry in ROUTES or PUBLIC."""
    from geoenergy.web.routes import router

    covered = {p.split("?")[0] for _, p, _ in ROUTES} | {"/cases/M1"}
    templates = {"/cases/{meter_id:path}": "/cases/M1", "/maps/{path:path}": "/maps/"}
    assert len(router.routes) >= 10
    for route in router.routes:
        path = templates.get(route.path, route.path)
        assert path in covered or path in PUBLIC, f"route {route.path} is not tested"
    assert {p for _, _, p in ROUTES} <= set(PERMISSIONS)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_pages(ro_client_for, role):
    from geoenergy.web.roles import can

    client = ro_client_for(role)
    for _, path, permission in ROUTES:
        r = client.get(path, follow_redirects=False)
        expected = 200 if can(role, permission) else 403
        assert r.status_code == expected, (role, path, r.status_code, r.text[:300])


def test_only_enforcement_and_admin_may_act(client_for, kit, web_ws):
    from geoenergy.web.roles import can

    for role in ROLES:
        client = client_for(role)
        if can(role, "cases.view"):
            page = client.get("/cases/M4").text
            token = kit.csrf_of(page)
            version = re.search(r'name="version" value="(\d+)"', page)
            version = version.group(1) if version else "0"
        else:
            # Cannot even open the form: post with the session's token from another page.
            token, version = kit.csrf_of(client.get("/overview").text), "0"
        r = client.post(
            "/cases/M4",
            data={"csrf_token": token, "action": "note", "version": version, "note": role},
            follow_redirects=False,
        )
        assert r.status_code == (303 if can(role, "cases.act") else 403), (role, r.text[:300])
    with Store.for_workspace(web_ws) as store, store.session() as s:
        notes = s.scalars(sa.select(Review.note).order_by(Review.version)).all()
    assert notes == ["admin", "enforcement"]


@pytest.mark.parametrize(("method", "path", "permission"), [*ROUTES, ("POST", "/cases/M4", "")])
def test_anonymous_is_sent_to_login(ro_client_for, method, path, permission):
    client = ro_client_for(None)
    if method == "GET":
        r = client.get(path, follow_redirects=False)
    else:
        r = client.post(path, data={"action": "note"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    if method == "GET":
        # ... and comes back to the page after logging in.
        assert "next=" in r.headers["location"]


def test_anonymous_home_and_health(ro_client_for):
    client = ro_client_for(None)
    assert client.get("/healthz").text == "ok"
    assert client.get("/favicon.ico").status_code == 204
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("admin", "/queue"),
        ("enforcement", "/queue"),
        ("analyst", "/queue"),
        ("planner", "/overview"),
        ("official", "/overview"),
    ],
)
def test_home_by_role(ro_client_for, role, home):
    r = ro_client_for(role).get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == home


def test_login_returns_to_the_page_asked_for(ro_client_for, kit):
    client = ro_client_for(None)
    r = client.get("/cases/M1?run=1", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Fcases%2FM1%3Frun%3D1"
    r = kit.login(client, "eve", next_url="/cases/M1?run=1")
    assert r.status_code == 303 and r.headers["location"] == "/cases/M1?run=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_is_not_an_open_redirect(ro_client_for, kit, target):
    r = kit.login(ro_client_for(None), "eve", next_url=target)
    assert r.status_code == 303 and r.headers["location"] == "/"


# -- what each role sees --------------------------------------------------------------

ADDRESS = "北京市朝阳区建国路1号"


@pytest.mark.parametrize("role", ["admin", "enforcement"])
def test_enforcement_and_admin_see_addresses_and_the_map(ro_client_for, role):
    client = ro_client_for(role)
    queue = client.get("/queue").text
    assert ADDRESS in queue and 'id="queue-map"' in queue
    case = client.get("/cases/M1").text
    assert ADDRESS in case and 'id="case-map"' in case
    assert 'id="form-outcome"' in case


def test_analysts_see_cases_without_addresses_or_locations(ro_client_for):
    client = ro_client_for("analyst")
    queue = client.get("/queue").text
    case = client.get("/cases/M1").text
    for html in (queue, case):
        assert ADDRESS not in html
        assert "data-map" not in html
        assert "39.9" not in html  # no coordinates either
    assert "M1" in queue and "flat load day and night" in case
    assert 'id="form-outcome"' not in case  # analysts do not act
    assert "/labels.csv" in queue and "/queue.csv" not in queue


@pytest.mark.parametrize("role", ["planner", "official"])
def test_planners_and_officials_see_aggregates_only(ro_client_for, role):
    client = ro_client_for(role)
    html = client.get("/overview").text
    assert "朝阳区" in html
    for meter in ("M1", "M2", "M3"):
        assert f">{meter}<" not in html
    assert ADDRESS not in html
    assert "/queue" not in html  # no link to what they may not open
    assert client.get("/maps/officials.html").status_code == 200
    assert client.get("/maps/enforcement.html").status_code == 403


def test_overview_suppresses_small_counts(ro_client_for):
    html = ro_client_for("official").get("/overview").text
    # Each district has 1-3 flagged meters in the fixture: all below 5.
    assert "&lt; 5" in html
    assert ">3<" not in html


# -- the queue ------------------------------------------------------------------------


def _meters_in(html: str) -> list[str]:
    import re

    return re.findall(r'class="case-link" href="/cases/([^"?]+)\?', html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["M1", "M2", "M3", "M4", "M5"]),
        ("?district=朝阳区", ["M1", "M2", "M3"]),
        ("?class=commercial", ["M2", "M5"]),
        ("?score_min=0.5&score_max=0.9", ["M2", "M3", "M4"]),
        ("?hotspot=1", ["M1", "M2", "M3"]),
        ("?status=new", ["M1", "M2", "M3", "M4", "M5"]),
        ("?status=assigned", []),
        ("?sort=score", ["M5", "M4", "M3", "M2", "M1"]),
        ("?sort=meter&desc=1", ["M5", "M4", "M3", "M2", "M1"]),
        ("?run=1", ["M2", "M1", "M4"]),
        ("?page_size=25&page=9", ["M1", "M2", "M3", "M4", "M5"]),  # clamped to the last page
    ],
)
def test_queue_filters_and_sorts(ro_client_for, query, expected):
    r = ro_client_for("analyst").get("/queue" + query)
    assert r.status_code == 200
    assert _meters_in(r.text) == expected


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?score_min=2", "outside the score range"),
        ("?score_min=0.9&score_max=0.1", "swap them"),
        ("?class=castle", "not a customer class"),
        ("?status=lost", "not a status"),
        ("?sort=address", "not a sort key"),
        ("?page=zero", "not a whole number"),
        ("?page_size=7", "page_size=7"),
        ("?run=99", "no detection run 99"),
    ],
)
def test_queue_rejects_bad_parameters_with_a_clear_message(ro_client_for, query, words):
    r = ro_client_for("analyst").get("/queue" + query)
    assert r.status_code == 400
    assert words in r.text


def test_queue_filter_by_status_and_assignee_after_actions(client_for, kit):
    client = client_for("enforcement")
    page = client.get("/cases/M3")
    r = client.post(
        "/cases/M3",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "assign",
            "version": "0",
            "assignee": "ed",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _meters_in(client.get("/queue?status=assigned").text) == ["M3"]
    assert _meters_in(client.get("/queue?assignee=ed").text) == ["M3"]
    assert _meters_in(client.get("/queue?assignee=-").text) == ["M1", "M2", "M4", "M5"]
    assert _meters_in(client.get("/queue?status=open").text) == ["M1", "M2", "M3", "M4", "M5"]


# -- case page, actions, exports ---------------------------------------------------------


def test_case_page_shows_history_reasons_and_charts(ro_client_for, kit):
    html = ro_client_for("enforcement").get("/cases/M1").text
    assert "flat load day and night" in html
    assert html.count("<svg") == 3  # hourly, average day, daily
    assert "onset 2023-11-08" in html  # the onset marked on the daily chart
    assert "before onset" in html and "since onset" in html
    assert ">#1<" in html and ">#2<" in html  # score history across both runs
    assert "朝阳-1" in html  # the hotspot


def test_case_page_of_a_meter_without_readings(ro_client_for):
    html = ro_client_for("enforcement").get("/cases/M4").text
    assert "No readings for this meter" in html


def test_unknown_case_is_404(ro_client_for, kit):
    client = ro_client_for("enforcement")
    assert client.get("/cases/NOPE").status_code == 404
    token = kit.csrf_of(client.get("/queue").text)
    r = client.post(
        "/cases/NOPE",
        data={"csrf_token": token, "action": "note", "version": "0", "note": "x"},
    )
    assert r.status_code == 404


def test_record_outcome_shows_in_history_audit_and_labels(client_for, kit, web_ws):
    client = client_for("enforcement")
    page = client.get("/cases/M1")
    r = client.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "outcome",
            "version": "0",
            "run": "2",
            "outcome": "mining",
            "date": "2023-11-25",
            "note": "six rigs in the basement",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/cases/M1?run=2"
    html = client.get(r.headers["location"]).text
    assert "Saved: record outcome (version 1)" in html
    assert "six rigs in the basement" in html and "confirmed mining" in html
    assert 'id="case-status">confirmed<' in html
    labels = client.get("/labels.csv").text
    assert labels.splitlines() == ["meter_id,label,inspected_on", "M1,mining,2023-11-25"]
    with Store.for_workspace(web_ws) as store, store.session() as s:
        review = s.scalars(sa.select(Review)).one()
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.action == "review.outcome")).one()
    assert (review.created_by, review.version, review.outcome) == ("eve", 0, "mining")
    assert audit.actor == "eve" and audit.entity_id == "M1"
    assert audit.before["status"] == "new" and audit.after["status"] == "confirmed"
    assert audit.after["review_id"] == review.id and audit.after["flag_id"] == review.flag_id


def test_no_access_is_not_a_label(client_for, kit):
    client = client_for("enforcement")
    page = client.get("/cases/M2")
    client.post(
        "/cases/M2",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "outcome",
            "version": "0",
            "outcome": "no_access",
            "date": "2023-11-25",
        },
    )
    assert client.get("/labels.csv").text.splitlines() == ["meter_id,label,inspected_on"]
    assert 'id="case-status">no_access<' in client.get("/cases/M2").text


def test_invalid_action_is_400_and_keeps_the_input(ro_client_for, kit):
    client = ro_client_for("enforcement")
    page = client.get("/cases/M1")
    r = client.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "outcome",
            "version": "0",
            "outcome": "mining",
            "date": "2999-01-01",
            "note": "my long careful note",
        },
    )
    assert r.status_code == 400
    assert "is in the future" in r.text
    assert "my long careful note" in r.text  # nothing typed is lost


def test_concurrent_actions_conflict_and_nothing_is_lost(client_for, kit, web_ws):
    eve, ada = client_for("enforcement"), client_for("admin")
    page_eve, page_ada = eve.get("/cases/M1"), ada.get("/cases/M1")  # both see version 0
    r1 = eve.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page_eve.text),
            "action": "assign",
            "version": "0",
            "assignee": "ed",
        },
        follow_redirects=False,
    )
    assert r1.status_code == 303
    r2 = ada.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page_ada.text),
            "action": "note",
            "version": "0",
            "note": "ada's note, typed in parallel",
        },
    )
    assert r2.status_code == 409
    assert "someone else acted on case M1" in r2.text and "reload" in r2.text
    assert "ada&#39;s note, typed in parallel" in r2.text  # shown back to resubmit
    with Store.for_workspace(web_ws) as store, store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Review)) == 1
    # After reloading, the note goes through as version 1.
    page = ada.get("/cases/M1")
    r3 = ada.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "note",
            "version": "1",
            "note": "ada's note, typed in parallel",
        },
        follow_redirects=False,
    )
    assert r3.status_code == 303


def test_queue_exports_for_field_teams(ro_client_for, kit):
    from openpyxl import load_workbook

    client = ro_client_for("enforcement")
    r = client.get("/queue.csv?district=朝阳区")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["rank", "score", "meter_id", "address"]
    assert [row[2] for row in rows[1:]] == ["M1", "M2", "M3"]
    assert rows[2][3] == kit.XSS  # verbatim (a CSV is not HTML)
    r = client.get("/queue.xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][2] == "meter_id" and [v[2] for v in values[1:]] == [
        "M1",
        "M2",
        "M3",
        "M4",
        "M5",
    ]


def test_labels_export_is_accepted_by_the_labels_ingester(client_for, kit, tmp_path, make_ws):
    """The loop back to training: an exported labels file ingests without a rejected row."""
    from geoenergy.ingest import ingest_labels, ingest_registry

    client = client_for("enforcement")
    for meter, outcome in (("M1", "mining"), ("M4", "not_mining")):
        page = client.get(f"/cases/{meter}")
        client.post(
            f"/cases/{meter}",
            data={
                "csrf_token": kit.csrf_of(page.text),
                "action": "outcome",
                "version": "0",
                "outcome": outcome,
                "date": "2023-11-24",
            },
        )
    path = tmp_path / "labels.csv"
    path.write_bytes(client_for("analyst").get("/labels.csv?source=review").content)
    ws = make_ws("train")
    reg = tmp_path / "registry.csv"
    kit.METERS.to_csv(reg, index=False)
    ingest_registry(ws, reg)
    report = ingest_labels(ws, path)
    assert (report.n_accepted, report.n_rejected) == (2, 0)


def test_exports_are_audited(client_for, web_ws):
    client = client_for("enforcement")
    client.get("/queue.csv?district=海淀区")
    client.get("/labels.csv")
    with Store.for_workspace(web_ws) as store, store.session() as s:
        rows = s.execute(
            sa.select(AuditLog.actor, AuditLog.action, AuditLog.after).where(
                AuditLog.action.like("export.%")
            )
        ).all()
    assert {(a, b) for a, b, _ in rows} == {("eve", "export.queue_csv"), ("eve", "export.labels")}
    assert next(c for _, b, c in rows if b == "export.queue_csv")["filters"] == {
        "district": "海淀区"
    }
