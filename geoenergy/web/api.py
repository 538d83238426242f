"""The JSON API of the live monitoring: readings in, PUE and alerts out.

=============================  =====================================================
``POST /api/v1/readings``      a batch of readings (JSON or CSV), bearer token
``GET /api/v1/pue``            PUE of a data centre per hour, day or month
``GET /api/v1/surcharge``      calendar-year assessment and differential price
``GET /api/v1/alerts``         alerts, open first
=============================  =====================================================

Authentication is ``Authorization: Bearer TOKEN`` (``geoenergy tokens add``);
no cookies, so no CSRF token. The read endpoints also accept a logged-in
session of a role holding ``monitor.view`` (the monitoring page).

A batch holds at most :data:`~geoenergy.monitor.stream.MAX_BATCH_ROWS` rows
and ``max_body_bytes`` (larger: 413). Each token may send ``requests_per_s``
requests and ``rows_per_s`` rows per second on average, with bursts of
``burst_requests`` / ``burst_rows`` (token buckets); beyond, and when more
than ``max_waiting`` batches wait for the store, the answer is 429 with
``Retry-After`` [s], and nothing of that batch is stored. The settings are the
``[monitor.api]`` table of ``geoenergy.toml`` (:class:`ApiLimits`).

A batch is answered only after it is committed (durable). The batches
waiting at the same time are ingested together, one group at a time per
process (:class:`~geoenergy.monitor.stream.Ingestor`); a running
``geoenergy ingest readings`` makes the API answer 503 with ``Retry-After``
until it is done.

The handlers only parse, call :mod:`geoenergy.monitor` and present. A
background thread per app (:class:`_Evaluator`) runs the alert rules on the
data centres that received readings, and the silent-meter rule on all of them
every ``clock_tick_s``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass, fields

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from geoenergy.errors import ConfigError, GeoEnergyError, InputFileError
from geoenergy.web import monitoring

__all__ = ["ApiLimits", "router"]

log = logging.getLogger("geoenergy.web.api")
v1 = APIRouter(prefix="/api/v1")


@dataclass(frozen=True)
class ApiLimits:
    """Batch size and rate limits of the ingest API (``[monitor.api]`` in geoenergy.toml).

    Attributes
    ----------
    max_batch_rows : int
        Rows per batch (larger: 413).
    max_body_bytes : int
        Bytes per request body (larger: 413). [B]
    requests_per_s, burst_requests : float
        Sustained request rate per token [1/s] and its burst [requests].
    rows_per_s, burst_rows : float
        Sustained row rate per token [rows/s] and its burst [rows].
    max_waiting : int
        Batches waiting for the store before new ones get 429 (the ingest
        thread pool holds 40).
    clock_tick_s : float
        Period of the silent-meter check [s].
    rules_every_s : float
        Shortest period between two runs of the readings rules on the data
        centres that received readings [s] (the rules look at complete hours).
    """

    max_batch_rows: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    requests_per_s: float = 10.0
    burst_requests: float = 30.0
    rows_per_s: float = 2_000.0
    burst_rows: float = 30_000.0
    max_waiting: int = 32
    clock_tick_s: float = 60.0
    rules_every_s: float = 30.0

    @classmethod
    def from_ws(cls, ws) -> ApiLimits:
        extra = (getattr(getattr(ws, "settings", None), "extra", None) or {}).get("monitor") or {}
        data = dict(extra.get("api") or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"geoenergy.toml [monitor.api]: unknown keys {unknown}; allowed: {sorted(known)}."
            )
        return cls(**data)


class _Bucket:
    """A token bucket: ``rate`` per second up to ``burst``."""

    __slots__ = ("burst", "level", "rate", "t")

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.level, self.t = rate, burst, burst, time.monotonic()

    def take(self, n: float) -> float:
        """Take ``n``; 0 when granted, else the wait until it would be [s]."""
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.t) * self.rate)
        self.t = now
        if n <= self.level:
            self.level -= n
            return 0.0
        return (min(n, self.burst) - self.level) / self.rate


_LIVE: weakref.WeakSet = weakref.WeakSet()


class _Evaluator:
    """Runs the alert rules in the background: on data centres with new readings
    (``dirty``), and the silent-meter rule on all every ``clock_tick_s``; and
    the readings store's compaction every ``compaction.every_s`` (see
    :meth:`geoenergy.monitor.stream.Ingestor.compact`)."""

    def __init__(
        self, ws, store, tick_s: float, rules_every_s: float, ingestor=None, compaction=None
    ):
        self.ws, self.store, self.tick_s, self.rules_every_s = ws, store, tick_s, rules_every_s
        self.ingestor, self.compaction = ingestor, compaction
        self.last_compact = 0.0
        self.last_rules = 0.0
        self.dirty: set[str] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_clock = 0.0
        self.last_error: str | None = None

    def ensure_running(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.stop.clear()
                self.thread = threading.Thread(
                    target=self._run, name="geoenergy-monitor", daemon=True
                )
                self.thread.start()
                _LIVE.add(self)

    def mark(self, names) -> None:
        with self.lock:
            self.dirty.update(names)
        self.wake.set()

    def _run(self) -> None:
        from geoenergy.monitor.alerts import evaluate

        comp = self.compaction if self.ingestor is not None else None
        if comp is not None and not comp.enabled:
            comp = None
        period = min(self.tick_s, 5.0, comp.every_s if comp is not None else 5.0)
        while not self.stop.is_set():
            self.wake.wait(timeout=period)
            self.wake.clear()
            if self.stop.is_set():
                break
            names = set()
            if time.monotonic() - self.last_rules >= self.rules_every_s:
                with self.lock:
                    names, self.dirty = self.dirty, set()
            if comp is not None and time.monotonic() - self.last_compact >= comp.every_s:
                self.last_compact = time.monotonic()
                try:
                    self.ingestor.compact(comp)
                except ConfigError:
                    pass  # another process is writing the store: the next round retries
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("readings compaction failed")
            try:
                if names:
                    self.last_rules = time.monotonic()
                    evaluate(self.ws, names=names, store=self.store)
                if time.monotonic() - self.last_clock >= self.tick_s:
                    self.last_clock = time.monotonic()
                    evaluate(self.ws, store=self.store, clock_only=True)
            except Exception as exc:  # keep monitoring; the next round retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("alert evaluation failed")


def _stop_evaluators() -> None:
    for ev in list(_LIVE):
        ev.stop.set()
        ev.wake.set()


class _State:
    """Per-app state of the API: limits, rate buckets, the ingest lock, the evaluator."""

    def __init__(self, web):
        self.web = web
        self.limits = ApiLimits.from_ws(web.ws) if web.ws is not None else ApiLimits()
        self.buckets: dict[int, tuple[_Bucket, _Bucket]] = {}
        self.buckets_lock = threading.Lock()
        self.ingestor = None
        self.compaction = None
        if web.ws is not None:
            from geoenergy.monitor.stream import Compaction, Ingestor

            self.ingestor = Ingestor(web.ws, store=web.store)
            self.compaction = Compaction.from_ws(web.ws)
        self.meter_dc: dict[str, str] | None = None
        self.meter_dc_at = 0.0
        self.evaluator = (
            _Evaluator(
                web.ws,
                web.store,
                self.limits.clock_tick_s,
                self.limits.rules_every_s,
                ingestor=self.ingestor,
                compaction=self.compaction,
            )
            if web.ws is not None
            else None
        )

    def rate(self, token_id: int, rows: int) -> float:
        lim = self.limits
        with self.buckets_lock:
            b = self.buckets.get(token_id)
            if b is None:
                b = self.buckets[token_id] = (
                    _Bucket(lim.requests_per_s, lim.burst_requests),
                    _Bucket(lim.rows_per_s, lim.burst_rows),
                )
            if rows == 0:
                return b[0].take(1)
            return b[1].take(rows)

    def data_centres_of(self, meters) -> set[str]:
        from geoenergy.monitor.pue import data_centres

        if self.meter_dc is None or time.monotonic() - self.meter_dc_at > 60:
            m = {}
            for dc in data_centres(self.web.ws, store=self.web.store):
                m[dc.facility_meter] = m[dc.it_meter] = dc.name
            self.meter_dc, self.meter_dc_at = m, time.monotonic()
        return {self.meter_dc[x] for x in meters if x in self.meter_dc}


_STATE_LOCK = threading.Lock()


def _state(request: Request) -> _State:
    app = request.app
    st = getattr(app.state, "monitor_api", None)
    if st is None:
        with _STATE_LOCK:
            st = getattr(app.state, "monitor_api", None)
            if st is None:
                st = app.state.monitor_api = _State(app.state.web)
    if st.evaluator is not None:
        st.evaluator.ensure_running()
    return st


def _error(status: int, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _retry(seconds: float) -> dict:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization") or ""
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _token(request: Request):
    from geoenergy.monitor.tokens import authenticate

    return authenticate(request.app.state.web.store, _bearer(request))


_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="geoenergy"'}


@v1.post("/readings")
async def post_readings(request: Request):
    """Ingest a batch of readings for the token's meters; see the module docstring."""
    from geoenergy.monitor.stream import BatchError, parse_batch

    st = _state(request)
    web = request.app.state.web
    if web.ws is None:
        return _error(503, "this app has no workspace, so it cannot store readings.")
    token = await run_in_threadpool(_token, request)
    if token is None:
        return _error(
            401,
            "missing, unknown or revoked token; send 'Authorization: Bearer TOKEN' with a "
            "token from `geoenergy tokens add`.",
            _UNAUTHORIZED,
        )
    wait = st.rate(token.id, 0)
    if wait:
        return _error(429, "too many requests for this token; retry later.", _retry(wait))
    lim = st.limits
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > lim.max_body_bytes:
        return _error(413, f"the body is larger than {lim.max_body_bytes:,} bytes; split it.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > lim.max_body_bytes:
            return _error(413, f"the body is larger than {lim.max_body_bytes:,} bytes; split it.")
    try:
        rows = parse_batch(
            bytes(body), request.headers.get("content-type"), max_rows=lim.max_batch_rows
        )
    except BatchError as exc:
        return _error(exc.status, str(exc))
    wait = st.rate(token.id, len(rows))
    if wait:
        return _error(
            429,
            f"this token is over {lim.rows_per_s:,.0f} rows/s; nothing of this batch was "
            f"stored, send it again after Retry-After seconds.",
            _retry(wait),
        )
    if st.ingestor.waiting() >= lim.max_waiting:
        return _error(
            429, "the store is busy with other batches; nothing was stored, retry.", _retry(1)
        )
    try:
        result = await run_in_threadpool(st.ingestor.submit, rows, token.meters)
    except InputFileError as exc:
        return _error(422, str(exc))
    except ConfigError as exc:  # another ingestion holds the readings lock
        return _error(503, f"{exc} Nothing of this batch was stored; retry.", _retry(2))
    if result.accepted and st.evaluator is not None:
        try:
            names = st.data_centres_of({r["meter_id"] for r in rows if isinstance(r, dict)})
            st.evaluator.mark(names)
        except GeoEnergyError:
            log.exception("cannot map meters to data centres")
    return JSONResponse(result.as_dict())


def _reader(request: Request):
    """A token, or a session user allowed to see the monitoring; else an error response."""
    token = _token(request)
    if token is not None:
        return None
    from geoenergy.web.roles import can
    from geoenergy.web.routes import current_user

    user = current_user(request) if "session" in request.scope else None
    if user is not None and can(user.role, "monitor.view"):
        return None
    if user is not None:
        return _error(403, f"your role ({user.role}) may not see the monitoring.")
    return _error(401, "send 'Authorization: Bearer TOKEN'.", _UNAUTHORIZED)


def _find(web, name):
    from geoenergy.monitor.pue import data_centres

    dcs = data_centres(web.ws, store=web.store)
    for dc in dcs:
        if dc.name == name:
            return dc, None
    known = [d.name for d in dcs][:20]
    return None, _error(
        404,
        f"no monitored data centre named {name!r} (one with a facility meter_id and an "
        f"it_meter_id in the data_centres layer).",
        known=known,
    )


@v1.get("/pue")
def get_pue(
    request: Request,
    data_centre: str,
    resolution: str = "hour",
    start: str | None = None,
    end: str | None = None,
):
    """PUE of one data centre per hour, day or month (JSON)."""
    from geoenergy.monitor.pue import RESOLUTIONS, pue_report

    web = request.app.state.web
    denied = _reader(request)
    if denied is not None:
        return denied
    if resolution not in RESOLUTIONS:
        return _error(400, f"resolution={resolution!r}; use hour, day or month.")
    dc, err = _find(web, data_centre)
    if err is not None:
        return err
    try:
        rep = pue_report(web.ws, dc, resolution, start=start, end=end, store=web.store)
    except ConfigError as exc:  # the readings store stayed locked by a long ingestion
        return _error(503, f"{exc} Retry.", _retry(2))
    except ValueError as exc:
        return _error(400, str(exc))
    return JSONResponse(rep)


@v1.get("/surcharge")
def get_surcharge(request: Request, data_centre: str, year: int | None = None):
    """Calendar-year assessment and differential price; without ``year``, last year
    and the live estimate of this year."""
    import datetime as dt

    from geoenergy.monitor.pue import annual_assessment

    web = request.app.state.web
    denied = _reader(request)
    if denied is not None:
        return denied
    dc, err = _find(web, data_centre)
    if err is not None:
        return err
    this = dt.datetime.now(web.tz).year
    years = [year] if year is not None else [this - 1, this]
    try:
        out = [annual_assessment(web.ws, dc, y, store=web.store) for y in years]
    except ConfigError as exc:
        return _error(503, f"{exc} Retry.", _retry(2))
    return JSONResponse({"data_centre": dc.name, "status": dc.status, "years": out})


@v1.get("/alerts")
def get_alerts(request: Request, data_centre: str | None = None):
    """Alerts (open first), optionally of one data centre."""
    from fastapi.encoders import jsonable_encoder

    from geoenergy.monitor.alerts import alerts

    denied = _reader(request)
    if denied is not None:
        return denied
    rows = alerts(request.app.state.web.store, data_centre=data_centre)
    return JSONResponse(jsonable_encoder({"alerts": rows}))


#: What :mod:`geoenergy.web.app` includes: the JSON API and the monitoring page.
router = APIRouter(on_shutdown=[_stop_evaluators])
router.include_router(v1)
router.include_router(monitoring.router)
