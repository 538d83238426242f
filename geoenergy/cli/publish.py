"""``geoenergy publish``: the static, offline web site of a workspace's results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoenergy.cli._common import console, open_workspace
from geoenergy.errors import ConfigError


def publish(
    out: Annotated[
        Path | None, typer.Option(help="Site folder to write (default WORKSPACE/published).")
    ] = None,
    include_addresses: Annotated[
        bool,
        typer.Option(
            "--include-addresses",
            help="Also publish the enforcement map with addresses (personal data): only for "
            "a site that stays within the enforcement teams.",
        ),
    ] = False,
    run: Annotated[
        int | None, typer.Option(help="Detection run to show (default latest).")
    ] = None,
    min_count: Annotated[
        int, typer.Option(help="Suppress areas with fewer meters, flags or confirmations.")
    ] = 5,
    tiles: Annotated[
        str | None,
        typer.Option(
            help="Basemap tile URL template, e.g. an intranet server's .../{z}/{x}/{y}.png."
        ),
    ] = None,
    tiles_attribution: Annotated[
        str, typer.Option(help="Attribution of the --tiles server.")
    ] = "",
    tianditu_key: Annotated[
        str | None, typer.Option(help="Use Tianditu (天地图) tiles with this key.")
    ] = None,
    review_url: Annotated[
        str | None,
        typer.Option(
            help="Review-app case URL template for the enforcement map, with {meter_id}."
        ),
    ] = None,
):
    """Write the officials' and waste-heat maps (and optionally the enforcement map) as a site.

    The site loads nothing from the internet: Leaflet and its plugins are
    copied into it. Without --tiles or --tianditu-key the maps draw their data
    on a plain background.
    """
    from geoenergy.publish import publish_workspace
    from webmap import Basemap

    if tiles and tianditu_key:
        raise ConfigError("use either --tiles or --tianditu-key, not both.")
    if tiles is not None and not tiles_attribution:
        raise ConfigError("--tiles needs --tiles-attribution (the map data's copyright holder).")
    basemap = None
    if tianditu_key:
        basemap = Basemap.tianditu(tianditu_key)
    elif tiles:
        basemap = Basemap(tiles, tiles_attribution)
    with open_workspace() as ws:
        res = publish_workspace(
            ws,
            out or ws.path / "published",
            store=ws.store,
            run_id=run,
            include_addresses=include_addresses,
            min_count=min_count,
            basemap=basemap,
            review_url=review_url,
        )
    console.print(f"Published {', '.join(res.maps)} to {res.site.out_dir}.")
    if res.site.withheld:
        console.print(f"Withheld (personal data): {', '.join(res.site.withheld)}.")
    console.print(f"Open {res.index}")
