"""The review app's factory: :func:`create_app`.

One FastAPI application serves the server-rendered pages (Jinja2,
autoescaped), the exports and the published maps, on the workspace store
(SpatiaLite or PostGIS alike). Route handlers are thin (``routes.py``); the
queries and the append-only action logic live in ``queue.py``, ``cases.py``,
``actions.py`` and ``exports.py`` and are tested without HTTP.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from geoenergy.web.auth import LoginLimits

__all__ = [
    "DEFAULT_TILE_ATTRIBUTION",
    "DEFAULT_TILE_URL",
    "WebConfig",
    "app_from_env",
    "check_forwarded_allow_ips",
    "create_app",
    "serve",
]

log = logging.getLogger("geoenergy.web")

#: An example basemap (OpenStreetMap). Not the default: without a configured tile
#: server the small maps draw on a plain background and the app makes no request
#: outside its own host.
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
#: Lifetime of a login. [s]
SESSION_MAX_AGE_S = 8 * 3600
#: Name of the session cookie.
SESSION_COOKIE = "geoenergy_session"

_HERE = Path(__file__).resolve().parent


@dataclass
class WebConfig:
    """Everything the request handlers need, kept on ``app.state.web``."""

    store: object
    ws: object | None
    tz: ZoneInfo
    published_dir: Path | None
    tile_url: str | None
    tile_attribution: str
    limits: LoginLimits
    forwarded_allow_ips: tuple[str, ...]
    hasher: object | None
    templates: object
    leaflet_dir: Path | None
    session_max_age_s: int
    #: Basemap origin allowed by the CSP, and whether HSTS is sent (for the
    #: headers of server-error pages, which bypass the middleware).
    tile_origin: str | None = None
    hsts: bool = False
    #: Vocabularies of classified rectification (geoenergy.toml [rectification]).
    vocab: object = None

    def today(self) -> dt.date:
        """Today's date in the workspace time zone."""
        return dt.datetime.now(self.tz).date()


def _leaflet_dir() -> Path | None:
    """Folder with leaflet.js, leaflet.css and images/, from the webmap npm assets."""
    try:
        from webmap.assets import ASSETS, node_modules

        root = node_modules() / ASSETS["leaflet"].package / Path(ASSETS["leaflet"].path).parent
    except Exception as exc:  # AssetsMissingError, or webmap's deps missing
        log.warning("Leaflet is not available, maps are off: %s", exc)
        return None
    return root if (root / "leaflet.js").is_file() else None


def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        # Always escape, whatever the file extension; data is never marked safe.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from geoenergy.web import templating

    templating.install(env)
    return env


def create_app(
    ws=None,
    *,
    store=None,
    secret_key: str | None = None,
    published_dir: str | Path | None = None,
    https_only: bool = False,
    same_site: str = "lax",
    tile_url: str | None = None,
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION,
    login_limits: LoginLimits | None = None,
    password_hasher=None,
    session_max_age_s: int = SESSION_MAX_AGE_S,
    forwarded_allow_ips: str | list[str] | tuple[str, ...] | None = None,
    warm: bool = True,
):
    """Create the review web application.

    Parameters
    ----------
    ws : geoenergy.config.Workspace, optional
        The workspace: its store, readings (for the load-profile charts), time
        zone, session secret (``<ws>/secret_key``) and published site
        (``<ws>/published``).
    store : geoenergy.store.Store, optional
        The store (default: the workspace's). Required without ``ws``.
    secret_key : str, optional
        Session-signing secret (default: the workspace's, created on first use).
        Without a workspace and without this, a random one is made and logins
        do not survive a restart or work across worker processes.
    published_dir : str or Path, optional
        The published site served under ``/maps/`` (default ``<ws>/published``).
    https_only : bool
        Mark the session cookie ``Secure`` and send HSTS. Set it whenever the
        app is served over HTTPS (directly or behind a TLS proxy).
    same_site : {"lax", "strict"}
        SameSite attribute of the session cookie.
    tile_url : str or None
        Basemap tile URL template of the small maps, ``{z}/{x}/{y}``; None for
        no basemap (the default; points and hotspots are still drawn).
    tile_attribution : str
        Attribution shown with the tiles.
    login_limits : LoginLimits, optional
        Failed-login throttling (default: 5 free failures per name and 20 per
        address within an hour, then waits of 30 s doubling up to 15 min).
    password_hasher : argon2.PasswordHasher, optional
        Hash parameters (default argon2-cffi's).
    session_max_age_s : int
        Lifetime of a login. [s]
    forwarded_allow_ips : str or list of str, optional
        Addresses or networks (CIDR) of the reverse proxies whose
        ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are believed,
        as a list or a comma-separated string, e.g. ``"10.0.0.5"`` or
        ``["10.0.0.0/24"]``; ``"*"`` trusts every client (only when the app
        is reachable through the proxy alone). Default: none, so a client
        cannot choose the address that the login throttle counts. Serve the
        app with the ASGI server's own proxy handling off (``geoenergy serve``
        does; ``uvicorn --no-proxy-headers``).
    warm : bool
        Prepare what the first pages would otherwise pay for (see
        :func:`warm_up`), so the first officer waits no longer than the rest.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    StoreError
        If the store's schema is not at the newest revision.
    ConfigError
        If the workspace's secret file is readable by others, or its
        ``[rectification]`` section is not usable.
    """
    _check_create_app(ws, store, same_site, tile_url, session_max_age_s)
    trusted_proxies = check_forwarded_allow_ips(forwarded_allow_ips)
    try:
        from fastapi import FastAPI
        from starlette.middleware.sessions import SessionMiddleware
        from starlette.staticfiles import StaticFiles
    except ImportError:  # pragma: no cover - declared dependencies
        raise ImportError(
            "the review app needs fastapi, uvicorn, jinja2, python-multipart, argon2-cffi, "
            "itsdangerous and openpyxl (dependencies of geoenergy): `pip install -e .`."
        ) from None
    from geoenergy.rectification import rectification_vocabulary
    from geoenergy.web import api, routes
    from geoenergy.web.security import SecurityHeaders, load_secret_key

    if store is None:
        store = ws.store
    store.check()
    if secret_key is None:
        if ws is not None:
            secret_key = load_secret_key(ws.path)
        else:
            warnings.warn(
                "create_app: no workspace and no secret_key; using a random session secret "
                "(logins end at restart and do not work across worker processes).",
                stacklevel=2,
            )
            secret_key = secrets.token_hex(32)
    if published_dir is None and ws is not None:
        published_dir = ws.path / "published"
    tz = ws.tz if ws is not None else ZoneInfo("Asia/Shanghai")
    cfg = WebConfig(
        store=store,
        ws=ws,
        tz=tz,
        published_dir=Path(published_dir) if published_dir is not None else None,
        tile_url=tile_url or None,
        tile_attribution=tile_attribution,
        limits=login_limits or LoginLimits(),
        forwarded_allow_ips=trusted_proxies,
        hasher=password_hasher,
        templates=_templates(),
        leaflet_dir=_leaflet_dir(),
        session_max_age_s=session_max_age_s,
        vocab=rectification_vocabulary(ws),
    )
    if warm:
        warm_up(cfg)
    app = FastAPI(
        title="GeoEnergy review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = cfg
    app.include_router(routes.router)
    app.include_router(api.router)
    routes.install_error_handlers(app)
    app.mount("/static/app", StaticFiles(directory=_HERE / "static"), name="static")
    if cfg.leaflet_dir is not None:
        app.mount("/static/leaflet", StaticFiles(directory=cfg.leaflet_dir), name="leaflet")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=session_max_age_s,
        same_site=same_site,
        https_only=https_only,
    )
    tile_origin = None
    if cfg.tile_url:
        parts = urlsplit(cfg.tile_url.replace("{s}", "a"))
        tile_origin = f"{parts.scheme}://{parts.netloc}"
        if "{s}" in cfg.tile_url:
            host = parts.netloc.split(".", 1)[-1]
            tile_origin = f"{parts.scheme}://*.{host}"
    cfg.tile_origin, cfg.hsts = tile_origin, https_only
    app.add_middleware(SecurityHeaders, tile_origin=tile_origin, hsts=https_only)
    if trusted_proxies:
        # Outermost, so the session, the headers and the routes all see the client
        # the trusted proxy names.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    return app


def warm_up(cfg: WebConfig) -> None:
    """Do once, at start, what the first queue and case pages would otherwise pay for.

    The first case page after a start used to take seconds: importing xarray,
    dask and pyarrow, opening the readings store, compiling the templates and
    the SQL statements, opening database connections, counting the latest
    run's flags. This runs one queue page and one case page's queries and
    reads one meter's readings (the best-ranked flagged meter with readings)
    in process. A failure here is logged, never fatal: the pages then warm
    on first use.
    """
    import time

    t0 = time.perf_counter()
    try:
        import sqlalchemy as sa

        from geoenergy.store import Flag, Meter
        from geoenergy.web.cases import case_detail
        from geoenergy.web.profiles import case_charts, load_profiles
        from geoenergy.web.queue import QueueQuery, queue_page, run_facets
        from geoenergy.web.zone import zone_label

        for name in ("base.html", "queue.html", "case.html", "overview.html", "error.html"):
            cfg.templates.get_template(name)
        with cfg.store.session() as s:
            page = queue_page(s, QueueQuery(), with_addresses=True)
            if page["run_id"] is None:
                return
            run_facets(s, page["run_id"])
            meter_id = s.scalar(
                sa.select(Flag.meter_id)
                .join(Meter, Meter.meter_id == Flag.meter_id)
                .where(Flag.run_id == page["run_id"], Meter.n_readings > 0)
                .order_by(Flag.rank)
                .limit(1)
            ) or (page["rows"][0]["meter_id"] if page["rows"] else None)
            if meter_id is None:
                return
            detail = case_detail(s, meter_id, run_id=page["run_id"], with_addresses=True)
        meter = detail["meter"]
        if cfg.ws is not None and meter["n_readings"]:
            onset = detail["flag"]["onset_date"] if detail["flag"] else None
            profiles = load_profiles(
                cfg.ws, meter_id, interval_s=meter["interval_s"], onset=onset, store=cfg.store
            )
            case_charts(profiles, onset, zone_label(cfg.tz))
    except Exception as exc:  # never keep the app from starting
        log.warning("warming up the review app failed (pages warm on first use): %s", exc)
        return
    log.info("review app warmed up in %.1f s", time.perf_counter() - t0)


def check_forwarded_allow_ips(value) -> tuple[str, ...]:
    """Trusted proxy addresses from a list or a comma-separated string.

    Parameters
    ----------
    value : str, list of str or None
        IP addresses, CIDR networks or ``"*"``; None or ``""`` for none.

    Returns
    -------
    tuple of str
        The entries, stripped; empty when no proxy is trusted.

    Raises
    ------
    ValueError
        An entry that is neither an address, a network nor ``"*"``.
    """
    import ipaddress

    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise TypeError(
            f"forwarded_allow_ips must be a str or a list of str, got {type(value).__name__}."
        )
    out = []
    for item in value:
        item = str(item).strip()
        if not item:
            continue
        if item != "*":
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"forwarded_allow_ips: {item!r} is not an IP address or network; use "
                    f"e.g. '10.0.0.5', '10.0.0.0/24' or '*' (every client: only when the "
                    f"app is reachable through the proxy alone)."
                ) from None
        out.append(item)
    return tuple(out)


def _check_create_app(ws, store, same_site, tile_url, session_max_age_s) -> None:
    if ws is None and store is None:
        raise TypeError(
            "create_app needs a workspace or a store: create_app(ws) or create_app(store=Store(url))."
        )
    if same_site not in ("lax", "strict"):
        raise ValueError(
            f"same_site={same_site!r}; use 'lax' (default) or 'strict'. 'none' would send the "
            f"session cookie with cross-site requests."
        )
    if tile_url is not None and not (
        isinstance(tile_url, str)
        and (
            tile_url == "" or (tile_url.startswith(("https://", "http://")) and "{z}" in tile_url)
        )
    ):
        raise ValueError(
            f"tile_url={tile_url!r}; use an http(s) URL template with {{z}}/{{x}}/{{y}}, e.g. "
            f"{DEFAULT_TILE_URL!r}, or None for no basemap."
        )
    if not isinstance(session_max_age_s, int) or session_max_age_s < 60:
        raise ValueError(
            f"session_max_age_s={session_max_age_s!r}; use a whole number of seconds >= 60."
        )


def app_from_env():
    """App factory for multi-worker servers (``uvicorn --factory``).

    Reads the workspace from ``GEOENERGY_WORKSPACE`` (and ``GEOENERGY_DB``),
    and :func:`create_app` keyword options as JSON from
    ``GEOENERGY_WEB_OPTIONS``; ``geoenergy serve --workers N`` sets them.
    """
    import json
    import os

    from geoenergy.config import Workspace
    from geoenergy.errors import ConfigError

    path = os.environ.get("GEOENERGY_WORKSPACE")
    if not path:
        raise ConfigError(
            "GEOENERGY_WORKSPACE is not set; start the app with `geoenergy serve` or set it "
            "to the workspace folder."
        )
    options = json.loads(os.environ.get("GEOENERGY_WEB_OPTIONS") or "{}")
    allowed = {"https_only", "tile_url", "published_dir", "same_site", "forwarded_allow_ips"}
    unknown = set(options) - allowed
    if unknown:
        raise ConfigError(
            f"GEOENERGY_WEB_OPTIONS has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}."
        )
    return create_app(Workspace(path), **options)


#: Idle keep-alive connections are closed after this long: longer than an
#: officer's pause between clicks, so a browser rarely reuses a closing connection. [s]
KEEP_ALIVE_S = 65


def serve(
    ws,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    forwarded_allow_ips: str | list[str] | tuple[str, ...] | None = None,
    https_only: bool = False,
    tile_url: str | None = None,
    published_dir: str | Path | None = None,
    log_level: str = "info",
) -> None:
    """Run the review app with uvicorn until interrupted.

    The app is built once here first, so a configuration error (schema not
    migrated, secret readable by others, a bad proxy address) is reported
    before listening. uvicorn's own proxy-header handling is always off (its
    default trusts ``X-Forwarded-For`` from 127.0.0.1, which lets any local
    client choose the address the login throttle counts); the app believes
    the headers only from ``forwarded_allow_ips``.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The workspace.
    host : str
        Address to listen on.
    port : int
        TCP port.
    workers : int
        Worker processes; more than 1 starts them from :func:`app_from_env`.
    forwarded_allow_ips : str or list of str, optional
        Trusted reverse proxies (see :func:`create_app`); default none.
    https_only, tile_url, published_dir
        As for :func:`create_app`.
    log_level : str
        uvicorn's log level.
    """
    import json
    import os

    import uvicorn

    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r}; use 1 or more.")
    options = {
        "https_only": https_only,
        "tile_url": tile_url,
        "published_dir": str(published_dir) if published_dir is not None else None,
        "forwarded_allow_ips": list(check_forwarded_allow_ips(forwarded_allow_ips)),
    }
    app = create_app(ws, **options)
    common = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "log_level": log_level,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }
    if workers == 1:
        uvicorn.run(app, **common)
        return
    os.environ["GEOENERGY_WORKSPACE"] = str(ws.path)
    os.environ["GEOENERGY_DB"] = ws.db_url
    os.environ["GEOENERGY_WEB_OPTIONS"] = json.dumps(options)
    uvicorn.run("geoenergy.web.app:app_from_env", factory=True, workers=workers, **common)
