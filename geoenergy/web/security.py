"""Session secret, CSRF tokens and HTTP security headers.

- The session cookie is signed (itsdangerous, via Starlette's
  ``SessionMiddleware``) with a secret kept in the workspace
  (``<workspace>/secret_key``, created with mode 0600 and shared by every
  worker process).
- Every POST form carries the session's CSRF token; :func:`check_csrf`
  compares it in constant time and also refuses a foreign ``Origin``.
- :class:`SecurityHeaders` adds a Content-Security-Policy without inline
  scripts or styles, ``X-Content-Type-Options``, ``X-Frame-Options`` /
  ``frame-ancestors``, ``Referrer-Policy`` and ``Cache-Control: no-store`` on
  pages with personal data.

References
----------
.. [1] OWASP Cross-Site Request Forgery Prevention Cheat Sheet
   (synchronizer token pattern, Origin verification).
.. [2] OWASP HTTP Security Response Headers Cheat Sheet.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit

from geoenergy.errors import ConfigError, GeoEnergyError

__all__ = [
    "SECRET_KEY_FILE",
    "CsrfError",
    "SecurityHeaders",
    "check_csrf",
    "csrf_token",
    "load_secret_key",
    "security_headers",
]

#: Name of the session-signing secret in the workspace folder.
SECRET_KEY_FILE = "secret_key"
#: Bytes of randomness of the secret and of tokens (256 bits).
TOKEN_BYTES = 32


class CsrfError(GeoEnergyError, PermissionError):
    """A POST without the session's CSRF token, with a wrong one, or from another site."""


def load_secret_key(ws_path: Path) -> str:
    """The workspace's session secret, created on first use with mode 0600.

    Parameters
    ----------
    ws_path : Path
        The workspace folder.

    Returns
    -------
    str
        64 hex characters.

    Raises
    ------
    ConfigError
        If the file is readable by group or others (fix: ``chmod 600``), or empty.
    """
    path = Path(ws_path) / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(TOKEN_BYTES))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} is readable by other users (mode {stat.filemode(mode)}); anyone who reads "
            f"it can forge logins. Fix: `chmod 600 {path}`."
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(
            f"{path} holds no usable secret ({len(key)} characters); delete it and restart "
            f"the app to create a new one (everyone will have to log in again)."
        )
    return key


def csrf_token(session: dict) -> str:
    """The session's CSRF token, created when missing."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session["csrf"] = token
    return token


def check_csrf(session: dict, submitted, *, origin: str | None, host: str | None) -> None:
    """Refuse a POST unless it carries the session's token and comes from this site.

    Parameters
    ----------
    session : dict
        The request's session.
    submitted : str or None
        The form's ``csrf_token`` field.
    origin : str or None
        The request's ``Origin`` header (browsers send it on POST).
    host : str or None
        The request's ``Host`` header.

    Raises
    ------
    CsrfError
        Missing or wrong token, or an ``Origin`` of another host.
    """
    expected = session.get("csrf")
    if not expected or not isinstance(submitted, str) or not submitted:
        raise CsrfError(
            "the form has no valid security token (CSRF); reload the page and submit again."
        )
    if not hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace")):
        raise CsrfError(
            "the form's security token (CSRF) does not match your session; reload the page "
            "and submit again."
        )
    if origin and origin != "null" and host and urlsplit(origin).netloc != host:
        raise CsrfError(f"the form was sent from another site ({origin}); it was refused.")


def content_security_policy(*, tile_origin: str | None, relaxed: bool = False) -> str:
    """The Content-Security-Policy header value.

    Parameters
    ----------
    tile_origin : str or None
        Origin of the basemap tiles (e.g. ``https://tile.openstreetmap.org``).
    relaxed : bool
        For the published folium maps, which need inline scripts and styles
        and load tiles from whatever server they were published with (an
        intranet one may be plain http); never for the app's own pages.
    """
    img = "'self' data:" + (f" {tile_origin}" if tile_origin else "")
    if relaxed:
        return (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'"
        )
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; "
        f"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors 'none'"
    )


def security_headers(
    path: str, *, tile_origin: str | None = None, hsts: bool = False
) -> list[tuple[bytes, bytes]]:
    """The security headers of a response to ``path`` (raw ASGI header pairs).

    One list for every response, pages, errors and files alike: the
    :class:`SecurityHeaders` middleware adds it, and the handler of server
    errors (which Starlette runs outside the middleware) adds it itself.
    """
    is_map = path.startswith("/maps/")
    out = [
        (
            b"content-security-policy",
            content_security_policy(tile_origin=tile_origin, relaxed=is_map).encode(),
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"SAMEORIGIN" if is_map else b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if not path.startswith("/static/"):
        # Pages and exports hold personal data: no shared or disk caches.
        out.append((b"cache-control", b"no-store"))
    if hsts:
        out.append((b"strict-transport-security", b"max-age=31536000"))
    return out


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response.

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    tile_origin : str or None
        Allowed origin of basemap tile images.
    hsts : bool
        Send ``Strict-Transport-Security`` (only when served over HTTPS).
    """

    def __init__(self, app, *, tile_origin: str | None = None, hsts: bool = False):
        self.app = app
        self.tile_origin = tile_origin
        self.hsts = hsts
        self._cache: dict[tuple[bool, bool], list] = {}

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        key = (path.startswith("/maps/"), path.startswith("/static/"))
        if key not in self._cache:
            probe = "/maps/" if key[0] else "/static/" if key[1] else "/"
            self._cache[key] = security_headers(
                probe, tile_origin=self.tile_origin, hsts=self.hsts
            )
        return self._cache[key]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        add = self._headers(scope.get("path", ""))

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in add if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
