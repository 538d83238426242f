"""``geoenergy serve``: run the review web app on the workspace's store."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from geoenergy.cli._common import console, err_console, open_workspace, state
from geoenergy.errors import ConfigError

#: Idle keep-alive connections are closed after this long [s]: longer than an
#: officer's pause between clicks, so a browser rarely reuses a closing connection.
KEEP_ALIVE_S = 65


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (logins and rate limits work across them).")
    ] = 1,
    https: Annotated[
        bool,
        typer.Option(
            "--https",
            help="Served over HTTPS (directly or behind a TLS proxy): Secure cookie and HSTS.",
        ),
    ] = False,
    tile_url: Annotated[
        str,
        typer.Option(
            help="Basemap tile URL template with {z}/{x}/{y} for the small maps (e.g. an "
            "intranet tile server), or 'none' (default: no basemap, nothing leaves the network)."
        ),
    ] = "none",
    published: Annotated[
        Path | None,
        typer.Option(help="Published site to serve under /maps/ (default WORKSPACE/published)."),
    ] = None,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            "--forwarded-allow-ips",
            help="Reverse proxies (IP addresses or CIDR networks, comma-separated) whose "
            "X-Forwarded-For is believed; default none, so clients cannot choose the address "
            "the login limit counts.",
        ),
    ] = "",
):
    """Run the review web app on the workspace store."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(
            "`geoenergy serve` needs uvicorn and fastapi: pip install 'uvicorn>=0.30' "
            "'fastapi>=0.115'."
        ) from None
    from geoenergy.web.app import create_app

    if workers < 1:
        raise ConfigError(f"--workers {workers}: use 1 or more.")
    options = {
        "https_only": https,
        "tile_url": None if tile_url.lower() == "none" else tile_url,
        "published_dir": published,
        "forwarded_allow_ips": forwarded_allow_ips or None,
    }
    with open_workspace() as ws:
        # Build once in this process: configuration errors (schema not migrated,
        # secret readable by others) are reported before listening.
        app = create_app(ws, **options)
        if not _is_loopback(host) and not https:
            err_console.print(
                f"warning: serving plain HTTP on {escape(host)}; logins and addresses cross the "
                "network unencrypted. Put the app behind a TLS proxy and pass --https.",
                highlight=False,
            )
        console.print(f"GeoEnergy review app on http://{escape(host)}:{port} (Ctrl+C to stop).")
        if workers == 1:
            uvicorn.run(
                app,
                host=host,
                port=port,
                proxy_headers=False,  # the app trusts only --forwarded-allow-ips
                log_level="info",
                timeout_keep_alive=KEEP_ALIVE_S,
            )
            return
    # Each worker process opens the workspace itself (app_from_env); this one's store is closed.
    os.environ["GEOENERGY_WORKSPACE"] = str(ws.path)
    if state.db:
        os.environ["GEOENERGY_DB"] = state.db
    os.environ["GEOENERGY_WEB_OPTIONS"] = _encode_options(options)
    uvicorn.run(
        "geoenergy.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,  # the app trusts only --forwarded-allow-ips
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _encode_options(options: dict) -> str:
    import json

    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()})
