"""Fixtures of the review-app tests: a small hand-made city on SpatiaLite and PostGIS.

Six meters, two detection runs, one hotspot, readings for two meters, one
user per role, and a fake published site. Addresses, reasons and district
names carry XSS, SQL-injection and spreadsheet-formula payloads on purpose.

=====  ===============================  ==========  ======  ============  =====================
meter  address                          class       run 2   district      notes
=====  ===============================  ==========  ======  ============  =====================
M1     北京市朝阳区建国路1号              residential  0.95 #1  朝阳区        hourly readings, onset
M2     <script>...</script> (XSS)       commercial  0.90 #2  朝阳区        hourly readings
M3     '; DROP TABLE meters; -- (SQL)   industrial  0.80 #3  朝阳区        hotspot H1 with M1, M2
M4     北京市海淀区中关村4号              residential  0.60 #4  海淀区
M5     =HYPERLINK(...) (formula)        commercial  0.40 #5  <b>海淀</b>区
M6     北京市丰台区6号                    residential  0.10 #6  丰台区        scored, not flagged
=====  ===============================  ==========  ======  ============  =====================

Helpers reach the tests through the ``kit`` fixture (test modules are
imported with ``--import-mode=importlib`` and cannot import this conftest).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

XSS = '<script>alert("xss")</script>'
XSS_IMG = "<img src=x onerror=alert(1)>"
SQLI = "'; DROP TABLE meters; --"
FORMULA = '=HYPERLINK("http://evil.example","click")'
PASSWORD = "correct horse battery staple"

METERS = pd.DataFrame(
    {
        "meter_id": ["M1", "M2", "M3", "M4", "M5", "M6"],
        "address": [
            "北京市朝阳区建国路1号",
            XSS,
            SQLI,
            "北京市海淀区中关村4号",
            FORMULA,
            "北京市丰台区6号",
        ],
        "customer_class": [
            "residential",
            "commercial",
            "industrial",
            "residential",
            "commercial",
            "residential",
        ],
        "lon": [116.400, 116.401, 116.402, 116.300, 116.310, 116.280],
        "lat": [39.900, 39.901, 39.900, 39.980, 39.980, 39.850],
    }
)
#: run 2 (latest): meter -> (score, rank, flagged, district, reasons)
RUN2 = {
    "M1": (0.95, 1, True, "朝阳区", ["flat load day and night", "load 3.2x its peer group"]),
    "M2": (0.90, 2, True, "朝阳区", [XSS_IMG]),
    "M3": (0.80, 3, True, "朝阳区", [SQLI]),
    "M4": (0.60, 4, True, "海淀区", ["night load above day load"]),
    "M5": (0.40, 5, True, "<b>海淀</b>区", [FORMULA]),
    "M6": (0.10, 6, False, "丰台区", []),
}
#: run 1 (older): meter -> (score, rank, flagged)
RUN1 = {
    "M1": (0.70, 2, True),
    "M2": (0.75, 1, True),
    "M3": (0.20, 4, False),
    "M4": (0.50, 3, True),
    "M5": (0.10, 5, False),
    "M6": (0.05, 6, False),
}
ONSET = dt.date(2023, 11, 8)
USERS = {
    "ada": "admin",
    "eve": "enforcement",
    "ed": "enforcement",
    "ana": "analyst",
    "pat": "planner",
    "ola": "official",
}
ROLES = ("admin", "enforcement", "analyst", "planner", "official")
ROLE_USER = {
    "admin": "ada",
    "enforcement": "eve",
    "analyst": "ana",
    "planner": "pat",
    "official": "ola",
}


def cheap_hasher():
    """Argon2 with tiny parameters: tests log in hundreds of times."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _readings_csv(path: Path) -> Path:
    """Hourly readings of M1 (residential, then a flat 3 kW from ONSET) and M2, 2023-11-01..21."""
    times = pd.date_range("2023-11-01 00:00", "2023-11-21 23:00", freq="h")
    hour = times.hour.to_numpy()
    day_profile = 0.4 + 0.8 * np.exp(-(((hour - 19) / 3.0) ** 2))
    m1 = np.where(times.normalize() >= pd.Timestamp(ONSET), 3.0, day_profile)
    m2 = 1.0 + 0.5 * (hour >= 9) * (hour < 18)
    frames = [
        pd.DataFrame({"meter_id": m, "timestamp": times.strftime("%Y-%m-%d %H:%M"), "kwh": v})
        for m, v in (("M1", m1), ("M2", m2))
    ]
    pd.concat(frames).round(3).to_csv(path, index=False)
    return path


def flag_data_centre(ws, tmp: Path, address: str, reasons: list[str]) -> None:
    """Register DC1, a data centre at ``address``, and flag it in run 2 with ``reasons``."""
    from geoenergy.ingest import ingest_registry
    from geoenergy.store import Flag, Store

    reg = tmp / "dc.csv"
    pd.DataFrame(
        {
            "meter_id": ["DC1"],
            "address": [address],
            "customer_class": ["data_centre"],
            "lon": [116.40],
            "lat": [39.90],
        }
    ).to_csv(reg, index=False)
    assert ingest_registry(ws, reg).n_accepted == 1
    with Store.for_workspace(ws) as store, store.session() as s:
        s.add(
            Flag(
                run_id=2,
                meter_id="DC1",
                score=0.95,
                rank=7,
                reasons=reasons,
                flagged=True,
                district="朝阳区",
                onset_date=dt.date(2023, 11, 10),
            )
        )


def populate(ws, tmp: Path) -> None:
    """Ingest the registry and readings, write two runs with flags and a hotspot, add users."""
    from geoenergy.ingest import ingest_readings, ingest_registry
    from geoenergy.store import DetectionRun, Flag, Hotspot, Store, User
    from geoenergy.web.auth import hash_password

    tmp.mkdir(parents=True, exist_ok=True)
    reg = tmp / "registry.csv"
    METERS.to_csv(reg, index=False)
    assert ingest_registry(ws, reg).n_accepted == 6
    assert ingest_readings(ws, _readings_csv(tmp / "readings.csv")).n_rejected == 0
    t0 = dt.datetime(2023, 11, 22, 2, 0, tzinfo=dt.UTC)
    hasher = cheap_hasher()
    with Store.for_workspace(ws) as store, store.session() as s:
        r1 = DetectionRun(
            detector="robust",
            version="1.0",
            params={},
            started_at=t0 - dt.timedelta(days=7),
            finished_at=t0 - dt.timedelta(days=7),
            n_meters=6,
            n_flagged=3,
        )
        r2 = DetectionRun(
            detector="robust",
            version="1.1",
            params={},
            started_at=t0,
            finished_at=t0,
            n_meters=6,
            n_flagged=5,
        )
        s.add_all([r1, r2])
        s.flush()
        h = Hotspot(
            run_id=r2.id,
            label="朝阳-1",
            n_flagged=3,
            total_score=2.65,
            members=["M1", "M2", "M3"],
            geom="SRID=4326;POLYGON((116.399 39.899, 116.403 39.899, 116.403 39.902, "
            "116.399 39.902, 116.399 39.899))",
        )
        s.add(h)
        s.flush()
        for m, (score, rank, flagged) in RUN1.items():
            s.add(
                Flag(
                    run_id=r1.id,
                    meter_id=m,
                    score=score,
                    rank=rank,
                    reasons=["older run"],
                    flagged=flagged,
                )
            )
        for m, (score, rank, flagged, district, reasons) in RUN2.items():
            s.add(
                Flag(
                    run_id=r2.id,
                    meter_id=m,
                    score=score,
                    rank=rank,
                    reasons=reasons,
                    flagged=flagged,
                    district=district,
                    building_use="residential" if m != "M3" else "industrial",
                    onset_date=ONSET if m == "M1" else None,
                    hotspot_id=h.id if m in ("M1", "M2", "M3") else None,
                    features={"night_day_ratio": 0.98} if m == "M1" else None,
                )
            )
        for name, role in USERS.items():
            s.add(User(name=name, role=role, password_hash=hash_password(PASSWORD, hasher=hasher)))
        s.add(
            User(
                name="old",
                role="enforcement",
                active=False,
                password_hash=hash_password(PASSWORD, hasher=hasher),
            )
        )


def published_site(root: Path) -> Path:
    """A small fake published site: index, officials' and waste-heat maps, enforcement map."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text("<html><body>site index</body></html>", encoding="utf-8")
    (root / "officials.html").write_text("<html><body>officials map</body></html>", "utf-8")
    (root / "wasteheat.html").write_text("<html><body>waste heat map</body></html>", "utf-8")
    (root / "enforcement.html").write_text(
        "<html><body>enforcement map 北京市朝阳区建国路1号</body></html>", "utf-8"
    )
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "app.js").write_text("console.log('map');", "utf-8")
    (root / ".secret").write_text("hidden", "utf-8")
    return root


# -- the workspace, once per backend and session, copied per test -------------------------

TEST_PG_URL = os.environ.get(
    "GEOENERGY_TEST_PG_URL",
    "postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test",
)


def _skip_or_fail(what: str, reason: str):
    """Skip locally, fail in CI (a broken install must not pass as a skip)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(f"{what} not available: {reason}")


@pytest.fixture(scope="session")
def _web_templates(tmp_path_factory, _pg_admin):
    """Populated template workspaces, built lazily per backend: {backend: (ws_dir, db_name)}."""
    built: dict[str, tuple[Path, str | None]] = {}
    admin, reason = _pg_admin

    def get(backend: str):
        if backend in built:
            return built[backend]
        from geoenergy.config import Workspace
        from geoenergy.store import upgrade

        root = tmp_path_factory.mktemp(f"web-{backend}")
        db_name = None
        if backend == "postgis":
            if admin is None:
                _skip_or_fail("PostGIS", reason)
            db_name = f"geoenergy_webtpl_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
            url = admin.url.set(database=db_name).render_as_string(hide_password=False)
            ws = Workspace.create(root / "ws", db_url=url, readings_buckets=4)
        else:
            ws = Workspace.create(root / "ws", readings_buckets=4)
        upgrade(ws.db_url)
        populate(ws, root / "files")
        built[backend] = (ws.path, db_name)
        return built[backend]

    yield get
    if admin is not None:
        for _, db_name in built.values():
            if db_name:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


BACKENDS = ["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)]


def _copy_ws(backend, templates, admin, dest: Path, cleanup: list):
    """A copy of the populated template workspace (and of its PostGIS database)."""
    from geoenergy.config import Workspace

    src, tpl = templates(backend)
    shutil.copytree(src, dest)
    if backend == "spatialite":
        return Workspace(dest)
    name = f"geoenergy_t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        # Engines made while populating the template may still hold pooled
        # connections; a template database must have none.
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{tpl}' AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    cleanup.append(name)
    return Workspace(
        dest, db_url=admin.url.set(database=name).render_as_string(hide_password=False)
    )


def _drop(admin, names: list) -> None:
    for name in names:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def web_ws(request, tmp_path, _web_templates, _pg_admin):
    """A populated workspace of its own (for tests that change it), SpatiaLite and PostGIS.

    Built once per backend and copied: the SpatiaLite file with the folder, the
    PostGIS database with ``CREATE DATABASE ... TEMPLATE``.
    """
    cleanup: list = []
    yield _copy_ws(request.param, _web_templates, _pg_admin[0], tmp_path / "ws", cleanup)
    _drop(_pg_admin[0], cleanup)


@pytest.fixture(scope="session", params=BACKENDS)
def shared_ws(request, tmp_path_factory, _web_templates, _pg_admin):
    """One populated workspace per backend for the whole session: only for tests that
    change nothing but login records and audit entries."""
    cleanup: list = []
    dest = tmp_path_factory.mktemp(f"shared-{request.param}") / "ws"
    yield _copy_ws(request.param, _web_templates, _pg_admin[0], dest, cleanup)
    _drop(_pg_admin[0], cleanup)


def _make_app(ws, site: Path):
    from geoenergy.store import Store
    from geoenergy.web import create_app

    store = Store.for_workspace(ws)
    app = create_app(
        ws,
        store=store,
        published_dir=published_site(site),
        tile_url=None,
        password_hasher=cheap_hasher(),
    )
    return app, store


@pytest.fixture
def web_app(web_ws, tmp_path):
    """The review app on ``web_ws`` with a fake published site, no basemap tiles."""
    app, store = _make_app(web_ws, tmp_path / "published")
    yield app
    store.dispose()


@pytest.fixture(scope="session")
def shared_app(shared_ws, tmp_path_factory):
    """The review app on ``shared_ws`` (read-only tests)."""
    app, store = _make_app(shared_ws, tmp_path_factory.mktemp("site") / "published")
    yield app
    store.dispose()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD, next_url: str | None = None):
    """Log ``client`` in; returns the POST response (303 on success)."""
    page = client.get("/login")
    data = {"name": name, "password": password, "csrf_token": csrf_of(page.text)}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data, follow_redirects=False)


def _client_factory(app):
    from fastapi.testclient import TestClient

    clients = []

    def make(role: str | None = None, name: str | None = None):
        c = TestClient(app, base_url="http://testserver")
        clients.append(c)
        user = name or (ROLE_USER[role] if role else None)
        if user:
            r = login(c, user)
            assert r.status_code == 303, r.text
        return c

    return make, clients


@pytest.fixture
def client_for(web_app):
    """``client_for(role_or_None)``: a TestClient on a fresh app, logged in as the role's user."""
    make, clients = _client_factory(web_app)
    yield make
    for c in clients:
        c.close()


@pytest.fixture
def ro_client_for(shared_app):
    """Like ``client_for`` on the shared app: for tests that change no case."""
    make, clients = _client_factory(shared_app)
    yield make
    for c in clients:
        c.close()


@pytest.fixture
def kit():
    """Helpers and constants for the tests."""
    return SimpleNamespace(
        XSS=XSS,
        XSS_IMG=XSS_IMG,
        SQLI=SQLI,
        FORMULA=FORMULA,
        PASSWORD=PASSWORD,
        METERS=METERS,
        RUN2=RUN2,
        ONSET=ONSET,
        USERS=USERS,
        ROLES=ROLES,
        ROLE_USER=ROLE_USER,
        csrf_of=csrf_of,
        skip_or_fail=_skip_or_fail,
        login=login,
        cheap_hasher=cheap_hasher,
        published_site=published_site,
        flag_data_centre=flag_data_centre,
    )


# -- a live server for the browser tests ---------------------------------------------------


class LiveServer:
    """uvicorn in a background thread on a free localhost port."""

    def __init__(self, app):
        import socket

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(web_app):
    with LiveServer(web_app) as server:
        yield server


@pytest.fixture
def serve_app():
    """``with serve_app(app) as server:`` runs another app on a free localhost port."""
    return LiveServer


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def _browser(_playwright):
    """One headless Chromium for the session (skips locally, fails under CI=true if missing)."""
    if not Path(CHROMIUM).exists():
        _skip_or_fail("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    pw, reason = _playwright
    if pw is None:
        _skip_or_fail("Playwright", reason)
    try:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
    except Exception as exc:
        _skip_or_fail("Chromium", f"cannot launch {CHROMIUM}: {exc}")
    yield browser
    browser.close()


@pytest.fixture
def browser_page(_browser):
    """A fresh browser context and page; fails the test on any JavaScript error or dialog."""
    context = _browser.new_context(accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on(
        "console",
        lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    pg.js_errors = errors
    yield pg
    context.close()
    assert not errors, errors
