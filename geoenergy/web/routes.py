"""HTTP routes of the review app: thin handlers over the query and action modules.

Every page checks its permission (:data:`geoenergy.web.roles.PERMISSIONS`)
first: an anonymous request is redirected to the login page, a logged-in
user without the permission gets 403. Every POST checks the CSRF token.

=====================================  ====================  =========================
route                                  permission            what
=====================================  ====================  =========================
``GET /login``, ``POST /login``        (anyone)              log in (rate limited)
``POST /logout``                       (logged in)           log out, end the session
``GET /``                              (logged in)           home: queue or overview
``GET /queue``                         cases.view            the case queue
``GET /queue.csv``, ``/queue.xlsx``    queue.export          the queue for field teams
``GET /cases/{meter_id}``              cases.view            a case page
``POST /cases/{meter_id}``             cases.act             an action on the case
``GET /labels.csv``                    labels.export         inspection labels file
``GET /overview``                      aggregates.view       counts by district
``GET /maps/{path}``                   maps.* (by file)      the published site
``GET /healthz``, ``/favicon.ico``     (anyone)              liveness; empty icon
=====================================  ====================  =========================
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
from dataclasses import replace
from typing import Annotated
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, StreamingResponse

from geoenergy.errors import GeoEnergyError
from geoenergy.rectification import rectification_counts
from geoenergy.store import CUSTOMER_CLASSES, AuditLog, DetectionRun, User, record_audit
from geoenergy.web import actions as act
from geoenergy.web.auth import (
    AuthError,
    LoginRateLimitError,
    SessionUser,
    authenticate,
    session_epoch,
)
from geoenergy.web.cases import CaseNotFoundError, case_detail
from geoenergy.web.exports import (
    CLASSIFIED_COLUMNS,
    LABEL_COLUMNS,
    QUEUE_COLUMNS,
    csv_lines,
    label_rows,
    queue_columns,
    queue_export_row,
    xlsx_bytes,
)
from geoenergy.web.mapdata import (
    case_points,
    case_url,
    map_data,
    queue_points,
    score_legend,
)
from geoenergy.web.navigation import QueueContext, next_case, parse_context
from geoenergy.web.overview import MIN_COUNT, district_summary
from geoenergy.web.profiles import case_charts, load_profiles
from geoenergy.web.published import (
    MapForbiddenError,
    MapNotFoundError,
    present_page,
    resolve_published,
)
from geoenergy.web.queue import (
    PAGE_SIZES,
    SORT_LABELS,
    SORTS,
    STATUS_FILTERS,
    QueryError,
    flagged_list_summary,
    latest_run,
    list_runs,
    parse_int,
    parse_queue_query,
    queue_page,
    queue_rows,
    run_facets,
)
from geoenergy.web.roles import PERMISSIONS, can
from geoenergy.web.security import CsrfError, check_csrf, csrf_token, security_headers
from geoenergy.web.zone import zone_label

log = logging.getLogger("geoenergy.web")
router = APIRouter()

FormStr = Annotated[str | None, Form()]


# -- users and permissions ------------------------------------------------------------


class NotLoggedInError(Exception):
    """No valid session: redirect to the login page, then back to ``next_url``."""

    def __init__(self, next_url: str | None = None):
        self.next_url = next_url


class ForbiddenError(GeoEnergyError, PermissionError):
    """The user's role lacks the permission (HTTP 403)."""


def _web(request: Request):
    return request.app.state.web


def current_user(request: Request) -> SessionUser | None:
    """The logged-in user, checked against the store on every request.

    A deactivated user, a logged-out session id, a new password or a changed
    role (:func:`~geoenergy.web.auth.session_epoch`) ends the session at once,
    even for a copy of the cookie taken before.
    """
    if hasattr(request.state, "user"):
        return request.state.user
    request.state.user = None
    sess = request.session
    name, sid, login_at = sess.get("user"), sess.get("sid"), sess.get("login_at")
    epoch = sess.get("epoch")
    if not (name and sid and login_at and epoch):
        return None
    web = _web(request)
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(login_at)
    if age > dt.timedelta(seconds=web.session_max_age_s):
        sess.clear()
        return None
    revoked = (
        sa.select(AuditLog.id)
        .where(
            AuditLog.entity == "session",
            AuditLog.entity_id == sid,
            AuditLog.action == "auth.logout",
        )
        .exists()
    )
    with web.store.session() as s:
        row = s.execute(
            sa.select(User.role, User.active, User.password_hash, revoked.label("revoked")).where(
                User.name == name
            )
        ).first()
    if (
        row is None
        or not row.active
        or row.revoked
        or not secrets.compare_digest(session_epoch(row.role, row.password_hash), str(epoch))
    ):
        sess.clear()
        return None
    request.state.user = SessionUser(name=name, role=row.role, epoch=epoch)
    return request.state.user


def require(request: Request, permission: str) -> SessionUser:
    """The logged-in user holding ``permission``; else redirect to login (NotLoggedInError) or 403."""
    user = current_user(request)
    if user is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise NotLoggedInError(path if request.method == "GET" else None)
    if not can(user.role, permission):
        raise ForbiddenError(
            f"your role ({user.role}) may not {PERMISSIONS[permission][1]}. Ask an "
            f"administrator if you need it."
        )
    return user


def _csrf(request: Request, token) -> None:
    check_csrf(
        request.session,
        token,
        origin=request.headers.get("origin"),
        host=request.headers.get("host"),
    )


def _safe_next(value: str | None) -> str:
    # Only local paths: "//evil.example" or "https://..." would make the login
    # page an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


# -- rendering ------------------------------------------------------------------------


def render(request: Request, template: str, status_code: int = 200, **ctx) -> HTMLResponse:
    """Render a template with the user, permissions, CSRF token and flash messages."""
    web = _web(request)
    user = current_user(request)
    role = user.role if user else None
    flashes = request.session.pop("flash", []) if "flash" in request.session else []
    html = web.templates.get_template(template).render(
        request=request,
        user=user,
        can=lambda p: can(role, p),
        csrf=csrf_token(request.session),
        flashes=flashes,
        tz=web.tz,
        tz_label=zone_label(web.tz),
        maps_available=web.leaflet_dir is not None,
        maps_home=_maps_home(web, role),
        **ctx,
    )
    return HTMLResponse(html, status_code=status_code)


def _maps_home(web, role) -> str:
    """Where "Published maps" leads: the page listing every map for roles that may
    open the restricted ones (when published), else the public index."""
    if role is not None and can(role, "maps.enforcement") and web.published_dir is not None:
        from geoenergy.web.published import restricted_index

        page = restricted_index(web.published_dir)
        if page:
            return "/maps/" + quote(page)
    return "/maps/"


def _flash(request: Request, message: str) -> None:
    request.session["flash"] = [*request.session.get("flash", []), message]


def _error(request: Request, status: int, title: str, message: str, headers=None):
    resp = render(request, "error.html", status, title=title, message=message)
    if headers:
        resp.headers.update(headers)
    return resp


def install_error_handlers(app) -> None:
    """Turn the app's exceptions into pages with the right status code."""

    @app.exception_handler(NotLoggedInError)
    async def _login(request, exc):
        url = "/login"
        if exc.next_url and exc.next_url != "/":
            url += "?" + urlencode({"next": exc.next_url})
        return RedirectResponse(url, status_code=303)

    # Plain functions: Starlette runs them in the thread pool, so the page's
    # database lookups (the user, for the menu) never block the event loop.
    def page(status, title):
        def handler(request, exc):
            return _error(request, status, title, str(exc))

        return handler

    app.add_exception_handler(ForbiddenError, page(403, "Not allowed"))
    app.add_exception_handler(MapForbiddenError, page(403, "Not allowed"))
    app.add_exception_handler(CsrfError, page(403, "Form expired"))
    app.add_exception_handler(CaseNotFoundError, page(404, "Not found"))
    app.add_exception_handler(MapNotFoundError, page(404, "Not found"))
    app.add_exception_handler(QueryError, page(400, "Bad request"))

    @app.exception_handler(StarletteHTTPException)
    def _http(request, exc):
        titles = {404: "Not found", 405: "Method not allowed"}
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return _error(
            request, exc.status_code, titles.get(exc.status_code, "Error"), message, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    def _invalid(request, exc):
        fields = sorted({str(e.get("loc", ("?",))[-1]) for e in exc.errors()})
        return _error(
            request, 400, "Bad request", f"the request has unusable fields: {', '.join(fields)}."
        )

    # Starlette runs this one outside every middleware (it also logs the error):
    # it must not touch the store, which may be what failed, and adds the
    # security headers itself.
    app.add_exception_handler(Exception, server_error)


def server_error(request: Request, exc: Exception) -> HTMLResponse:
    """The page of an unexpected error (HTTP 500): the same error page, with the headers."""
    web = _web(request)
    try:
        html = web.templates.get_template("error.html").render(
            request=request,
            user=None,
            can=lambda p: False,
            csrf="",
            flashes=[],
            tz=web.tz,
            tz_label=zone_label(web.tz),
            maps_available=False,
            maps_home="/maps/",
            title="Server error",
            message="Something went wrong on the server; it has been logged. Try again in a "
            "moment, and tell an administrator the time if it happens again.",
        )
    except Exception:  # a broken template must not hide the original error
        html = "<!doctype html><title>Server error</title><h1>Server error</h1>"
    # The server drops the connection after an unhandled error: say so, so that a
    # browser does not send its next request down a closing connection.
    resp = HTMLResponse(html, status_code=500, headers={"connection": "close"})
    for key, value in security_headers(
        request.url.path, tile_origin=web.tile_origin, hsts=web.hsts
    ):
        resp.headers[key.decode()] = value.decode()
    return resp


# -- login ----------------------------------------------------------------------------


@router.get("/healthz", include_in_schema=False)
def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    # Browsers ask for it on every page that does not name one (the published
    # maps); an empty answer keeps their consoles free of 404s.
    return Response(status_code=204)


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    if current_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None, name="")


@router.post("/login")
def login(
    request: Request,
    name: FormStr = None,
    password: FormStr = None,
    csrf_token: FormStr = None,
    next: FormStr = None,
):
    _csrf(request, csrf_token)
    web = _web(request)
    addr = request.client.host if request.client else "unknown"
    try:
        user = authenticate(
            web.store, name or "", password or "", addr, limits=web.limits, hasher=web.hasher
        )
    except LoginRateLimitError as exc:
        resp = render(
            request, "login.html", 429, next=_safe_next(next), error=str(exc), name=name or ""
        )
        resp.headers["Retry-After"] = str(exc.retry_after_s)
        return resp
    except AuthError as exc:
        return render(
            request, "login.html", 401, next=_safe_next(next), error=str(exc), name=name or ""
        )
    # A new session on login: a session id planted before login is worthless.
    request.session.clear()
    sid = secrets.token_urlsafe(24)
    request.session.update(
        user=user.name,
        sid=sid,
        login_at=dt.datetime.now(dt.UTC).isoformat(),
        epoch=user.epoch,
        csrf=secrets.token_urlsafe(32),
    )
    with web.store.session() as s:
        record_audit(
            s,
            actor=user.name,
            action="auth.login",
            entity="session",
            entity_id=sid,
            after={"remote_addr": addr[:64]},
        )
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: FormStr = None):
    _csrf(request, csrf_token)
    sid, name = request.session.get("sid"), request.session.get("user")
    if sid and name:
        with _web(request).store.session() as s:
            record_audit(s, actor=name, action="auth.logout", entity="session", entity_id=sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request):
    user = current_user(request)
    if user is None:
        raise NotLoggedInError()
    target = "/queue" if can(user.role, "cases.view") else "/overview"
    return RedirectResponse(target, status_code=303)


# -- queue ----------------------------------------------------------------------------


#: How long the list of assignable users is reused. [s] (An action re-checks the
#: assignee in the store, so a user deactivated meanwhile cannot be assigned.)
ASSIGNEES_TTL_S = 10.0
_ASSIGNEES: dict[str, tuple[float, list[str]]] = {}


def _assignees(session) -> list[str]:
    """Active users who may be assigned a case (cached per process for a few seconds)."""
    import time

    key = str(session.get_bind().url)
    hit = _ASSIGNEES.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < ASSIGNEES_TTL_S:
        return hit[1]
    roles = PERMISSIONS["cases.assignee"][0]
    names = list(
        session.scalars(
            sa.select(User.name)
            .where(User.active.is_(True), User.role.in_(roles))
            .order_by(User.name)
        )
    )
    _ASSIGNEES[key] = (now, names)
    return names


@router.get("/queue")
def queue(request: Request):
    user = require(request, "cases.view")
    web = _web(request)
    q = parse_queue_query(request.query_params)
    with_addresses = can(user.role, "cases.addresses")
    with web.store.session() as s:
        page = queue_page(s, q, with_addresses=with_addresses)
        runs = list_runs(s)
        flagging = flagged_list_summary(s, page["run_id"])
        facets = run_facets(s, page["run_id"]) if page["run_id"] else {}
        assignees = _assignees(s)
    # Each case link carries the queue as it is now and the case's place in it
    # (all rows of a page share the same queue, so it is encoded once).
    here = QueueContext(replace(q, run_id=page["run_id"], page=page["page"]), explicit=True)
    first = (page["page"] - 1) * q.page_size
    back = here.case_params(first)["back"]
    links = [
        case_url(r["meter_id"], page["run_id"], {"back": back, "at": str(first + i)})
        for i, r in enumerate(page["rows"])
    ]
    points = queue_points(page["rows"], page["run_id"], links) if with_addresses else []
    return render(
        request,
        "queue.html",
        q=q,
        page=page,
        links=links,
        runs=runs,
        flagging=flagging,
        facets=facets,
        assignees=assignees,
        statuses=STATUS_FILTERS,
        sorts=SORTS,
        sort_labels=SORT_LABELS,
        page_sizes=PAGE_SIZES,
        classes=CUSTOMER_CLASSES,
        with_addresses=with_addresses,
        map_data=map_data(web, points) if points else None,
        legend=score_legend(points),
    )


def _export_query(web, request: Request):
    """The export's query, with the run fixed: a missing run is a 400 before any byte
    is sent, and a run finishing meanwhile cannot change what the export holds."""
    q = parse_queue_query(request.query_params)
    with web.store.session() as s:
        run_id = q.run_id or latest_run(s)
        if run_id is None:
            raise QueryError("there is no detection run to export yet; run `geoenergy detect`.")
        if q.run_id is not None and s.get(DetectionRun, q.run_id) is None:
            raise QueryError(f"there is no detection run {q.run_id}; pick one from the queue.")
    return replace(q, run_id=run_id)


def _export_rows(web, q, with_addresses):
    columns = queue_columns(with_addresses)
    with web.store.session() as s:
        for row in queue_rows(s, q, with_addresses=with_addresses):
            yield queue_export_row(row, columns)


def _audit_export(web, user, kind: str, q, n_rows=None) -> int:
    with web.store.session() as s:
        record_audit(
            s,
            actor=user.name,
            action=f"export.{kind}",
            entity="detection_runs",
            entity_id=q.run_id,
            after={"filters": q.filters(), "rows": n_rows},
        )
    return q.run_id


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/queue.csv")
def queue_csv(request: Request):
    user = require(request, "queue.export")
    web = _web(request)
    q = _export_query(web, request)
    columns = queue_columns(True)
    header = [QUEUE_COLUMNS[c][0] for c in columns]
    rows = _export_rows(web, q, True)
    # Run the query now: if it fails, the answer is an error page, not a 200
    # that breaks off mid-stream.
    first = next(rows, None)
    run_id = _audit_export(web, user, "queue_csv", q)

    def body():
        # A byte-order mark so Excel reads the Chinese addresses as UTF-8.
        yield "\ufeff"
        yield from csv_lines(header, itertools.chain([] if first is None else [first], rows))

    name = f"queue-run{run_id}-{web.today().isoformat()}.csv"
    return StreamingResponse(
        body(), media_type="text/csv; charset=utf-8", headers=_attachment(name)
    )


@router.get("/queue.xlsx")
def queue_xlsx(request: Request):
    user = require(request, "queue.export")
    web = _web(request)
    q = _export_query(web, request)
    columns = queue_columns(True)
    rows = list(_export_rows(web, q, True))
    run_id = _audit_export(web, user, "queue_xlsx", q, len(rows))
    data = xlsx_bytes([QUEUE_COLUMNS[c][0] for c in columns], rows, title=f"run {run_id}")
    name = f"queue-run{run_id}-{web.today().isoformat()}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(name),
    )


@router.get("/labels.csv")
def labels_csv(request: Request, source: str | None = None, classified: str | None = None):
    user = require(request, "labels.export")
    web = _web(request)
    if source not in (None, "", "review", "file"):
        raise QueryError(f"source={source!r}; use 'review', 'file' or leave it out for all.")
    if classified not in (None, "", "0", "1"):
        raise QueryError(f"classified={classified!r}; use 1 (with kind of site and measure).")
    with_classes = classified == "1"
    with web.store.session() as s:
        rows = label_rows(s, source=source or None, classified=with_classes)
        record_audit(
            s,
            actor=user.name,
            action="export.labels",
            entity="inspection_labels",
            entity_id=source or "all",
            after={"rows": len(rows)},
        )
    header = [*LABEL_COLUMNS, *CLASSIFIED_COLUMNS] if with_classes else list(LABEL_COLUMNS)
    text = "".join(csv_lines(header, rows))
    name = f"labels-{web.today().isoformat()}.csv"
    return Response(text, media_type="text/csv; charset=utf-8", headers=_attachment(name))


# -- cases ----------------------------------------------------------------------------


def _run_param(value) -> int | None:
    return parse_int(value, "run")


_FORM_FIELDS = ("action", "assignee", "date", "outcome", "note", "site_kind", "measure")


def _case_page(
    request, user, meter_id, run_id, status_code=200, *, form=None, error=None, audit=False
):
    web = _web(request)
    with_addresses = can(user.role, "cases.addresses")
    ctx = parse_context(request.query_params, run_id)
    with web.store.session() as s:
        detail = case_detail(s, meter_id, run_id=run_id, with_addresses=with_addresses)
        assignees = _assignees(s) if can(user.role, "cases.act") else []
        rank = detail["flag"]["rank"] if detail["flag"] else None
        after = next_case(
            s, ctx, meter_id, detail["run_id"], with_addresses=with_addresses, rank=rank
        )
        if audit:
            # The login page says access is logged: every case opened is. Written
            # last in the page's transaction, so a write lock (SQLite) is held only
            # for the commit, and one transaction per page instead of two.
            record_audit(
                s,
                actor=user.name,
                action="case.view",
                entity="meters",
                entity_id=meter_id,
                after={"run": run_id, "addresses": with_addresses},
            )
    meter, flag = detail["meter"], detail["flag"]
    onset = flag["onset_date"] if flag else None
    profiles = None
    if meter["n_readings"]:
        profiles = load_profiles(
            web.ws, meter_id, interval_s=meter["interval_s"], onset=onset, store=web.store
        )
    mapped = None
    if with_addresses:
        centre = {"id": meter["meter_id"], "lon": meter["lon"], "lat": meter["lat"]}
        hotspot = detail["hotspot"]["geometry"] if detail["hotspot"] else None
        mapped = map_data(web, case_points(detail), hotspot=hotspot, centre=centre)
    # The forms post back to this page with the queue context, and land on the
    # actions (a 303 without a fragment keeps the request's #actions).
    self_url = case_url(meter_id, run_id, ctx.case_params(ctx.at))
    next_url = None
    if after is not None:
        next_url = case_url(after[0], detail["run_id"], ctx.case_params(after[1]))
    zone = zone_label(web.tz)
    return render(
        request,
        "case.html",
        status_code,
        d=detail,
        charts=case_charts(profiles, onset, zone),
        has_readings=profiles is not None,
        map_data=mapped,
        legend=score_legend(mapped["points"]) if mapped else [],
        with_addresses=with_addresses,
        assignees=assignees,
        actions=act.ACTIONS,
        outcomes=act.OUTCOME_WORDS,
        vocab=web.vocab,
        closed=detail["state"].status in act.CLOSED_STATUSES,
        today=web.today(),
        form={k: None for k in _FORM_FIELDS} | (form or {}),
        error=error,
        queue_url=ctx.queue_url(),
        self_url=self_url,
        next_url=next_url,
        next_id=after[0] if after else None,
    )


@router.get("/cases/{meter_id:path}")
def case(request: Request, meter_id: str, run: str | None = None):
    user = require(request, "cases.view")
    run_id = _run_param(run)
    return _case_page(request, user, meter_id, run_id, audit=True)


@router.post("/cases/{meter_id:path}")
def case_action(
    request: Request,
    meter_id: str,
    csrf_token: FormStr = None,
    action: FormStr = None,
    version: FormStr = None,
    run: FormStr = None,
    assignee: FormStr = None,
    date: FormStr = None,
    outcome: FormStr = None,
    note: FormStr = None,
    site_kind: FormStr = None,
    measure: FormStr = None,
):
    user = require(request, "cases.act")
    _csrf(request, csrf_token)
    web = _web(request)
    form = {
        "action": action,
        "assignee": assignee,
        "date": date,
        "outcome": outcome,
        "note": note,
        "site_kind": site_kind,
        "measure": measure,
    }
    run_id = _run_param(run)
    ctx = parse_context(request.query_params, run_id)
    try:
        try:
            seen = parse_int(version or "x", "version", lo=0)
        except QueryError:
            raise act.ActionError(
                f"the form's case version {version!r} is not a number; reload the case."
            ) from None
        review = act.record_action(
            web.store,
            meter_id=meter_id,
            action=action or "",
            version=seen,
            actor=user.name,
            today=web.today(),
            run_id=run_id,
            assignee=assignee,
            date=date,
            outcome=outcome,
            note=note,
            site_kind=site_kind,
            measure=measure,
            vocabulary=web.vocab,
            tz=web.tz,
        )
    except act.ConflictError as exc:
        return _case_page(request, user, meter_id, run_id, 409, form=form, error=str(exc))
    except act.ActionError as exc:
        return _case_page(request, user, meter_id, run_id, 400, form=form, error=str(exc))
    _flash(
        request,
        f"Saved: {act.ACTIONS[review.action].label.lower()} (version {review.version + 1}).",
    )
    # Back to the case with its queue context; the browser keeps the form's #actions.
    return RedirectResponse(case_url(meter_id, run_id, ctx.case_params(ctx.at)), status_code=303)


# -- aggregates and maps --------------------------------------------------------------


@router.get("/overview")
def overview(request: Request, run: str | None = None):
    require(request, "aggregates.view")
    web = _web(request)
    vocab = web.vocab
    with web.store.session() as s:
        summary = district_summary(s, _run_param(run))
        rectified = None
        if summary["run_id"] is not None:
            rectified = rectification_counts(
                s, run_id=summary["run_id"], vocabulary=vocab, min_count=MIN_COUNT
            )
    maps_published = web.published_dir is not None and web.published_dir.is_dir()
    return render(
        request,
        "overview.html",
        summary=summary,
        rectified=rectified,
        maps_published=maps_published,
    )


@router.get("/maps")
def maps_root(request: Request):
    require(request, "maps.aggregate")
    return RedirectResponse("/maps/", status_code=303)


@router.get("/maps/{path:path}")
def maps(request: Request, path: str):
    user = require(request, "maps.aggregate")
    web = _web(request)
    target = resolve_published(web.published_dir, path, user.role)
    if target.suffix.lower() not in (".html", ".htm"):
        return FileResponse(target)
    # Pages get the app's header (the way back) and lose what the role may not open.
    header = web.templates.get_template("mapbar.html").render(
        user=user,
        can=lambda p: can(user.role, p),
        csrf=csrf_token(request.session),
        maps_home=_maps_home(web, user.role),
    )
    html = present_page(
        target.read_text(encoding="utf-8", errors="replace"),
        role=user.role,
        root=web.published_dir,
        header=header,
    )
    return HTMLResponse(html)
