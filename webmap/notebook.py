"""Maps in a notebook that work offline: one self-contained page in an iframe.

Folium shows a map in Jupyter by loading Leaflet, jQuery, Bootstrap and the
fonts from CDNs, inside a frame built by an ``onload`` script: offline the map
is blank, and a notebook opened from a file shows nothing until it is marked
"trusted". Here the page is rendered with the same local files the published
site copies (:mod:`webmap.assets`: the installed wheel's ``vendor`` folder or
a checkout's ``node_modules``), every script and style is written into the
page, and the images and fonts they refer to become ``data:`` URIs. The page
goes into an ``<iframe srcdoc=...>``: plain HTML, with no script of the
notebook's own, that never calls the network.

- :func:`inline_html`: the self-contained page of a map, as a string;
- :func:`save_html`: that page as a file (open it in any browser, offline);
- :func:`show`: the page as an ``IPython.display.HTML`` iframe.

A map whose page would still load something from outside (a script, style,
image or font not in :data:`webmap.assets.ASSETS`) raises
:class:`webmap.assets.OfflineAssetError`. A configured basemap's tiles are
the one exception: they come from the tile server the map was given.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
import warnings
from pathlib import Path

import folium

from webmap.assets import ASSETS, OfflineAssetError, external_links, localize, node_modules

__all__ = ["INLINE_FORMATS", "inline_html", "save_html", "show"]

INLINE_FORMATS = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".cur": "image/x-icon",
    ".woff2": "font/woff2",
}
"""Files a stylesheet refers to that are written into the page as ``data:`` URIs.

Older font formats (``.ttf``, ``.eot``, ``.woff``) are left out: every browser
that runs these maps reads the ``.woff2`` listed first, and inlining both would
double the page. Their ``url()`` becomes an empty ``data:`` URI."""

_PREFIX = "webmap-inline-assets"
_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def _check_map(m) -> None:
    if not isinstance(m, folium.Map):
        raise TypeError(
            f"m must be a folium.Map (e.g. from webmap.wasteheat_map), got {type(m).__name__}."
        )


def _data_uri(path: Path) -> str:
    mime = INLINE_FORMATS.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(text: str, folder: Path) -> str:
    """A stylesheet with its local ``url()`` references as ``data:`` URIs.

    A font is written once, at its first ``@font-face``; later aliases of the
    same file (Font Awesome's version-4 names) get an empty URI, which would
    otherwise triple the page.
    """
    seen_fonts: set[Path] = set()

    def swap(match):
        url = match.group(2).strip()
        if url.startswith(("data:", "#")) or ":" in url.split("/")[0]:
            return match.group(0)  # data URIs, fragments (VML behaviour), schemes: left alone
        target = (folder / url.split("?")[0].split("#")[0]).resolve()
        if target.suffix.lower() not in INLINE_FORMATS or not target.is_file():
            return "url(data:,)"
        if INLINE_FORMATS[target.suffix.lower()].startswith("font/"):
            if target in seen_fonts:
                return "url(data:,)"
            seen_fonts.add(target)
        return f'url("{_data_uri(target)}")'

    return _URL.sub(swap, text)


def inline_html(m: folium.Map) -> str:
    """The map as one HTML page with every script, style, image and font inside it.

    Parameters
    ----------
    m : folium.Map
        Any map of this package (or a plain folium map with the elements
        :data:`webmap.assets.ASSETS` covers). Its links are rewritten in
        place, as :func:`webmap.assets.localize` does for the published site.

    Returns
    -------
    str
        A complete page that loads nothing from outside except the tiles of
        a configured basemap.

    Raises
    ------
    webmap.assets.OfflineAssetError
        When an element needs a file that has no local copy.
    webmap.assets.AssetsMissingError
        When the assets are not installed (see :func:`webmap.assets.node_modules`).
    """
    _check_map(m)
    needed = localize(m, prefix=_PREFIX)
    page = m.get_root().render()
    root = node_modules()
    for name in sorted(needed):
        asset = ASSETS[name]
        src = root / asset.package / asset.path
        url = re.escape(f"{_PREFIX}/{asset.site_path}")
        text = src.read_text(encoding="utf-8")
        if asset.path.endswith(".css"):
            body = _inline_css(text, src.parent).replace("</style", "<\\/style")
            tag = re.compile(rf"<link[^>]*href=[\"']{url}[\"'][^>]*>")
            page = tag.sub(lambda _, b=body: f"<style>\n{b}\n</style>", page)
        else:
            body = text.replace("</script", "<\\/script")
            tag = re.compile(rf"<script[^>]*src=[\"']{url}[\"'][^>]*>\s*</script>")
            page = tag.sub(lambda _, b=body: f"<script>\n{b}\n</script>", page)
    left = external_links(page) + [
        link for link in _local_links(page) if link[2].startswith(_PREFIX)
    ]
    if left:
        raise OfflineAssetError(
            f"the map still links {left[:3]}; add the file to webmap.assets.ASSETS (and "
            "webmap/assets/package.json) or leave that element out of the map."
        )
    return page


def _local_links(page: str) -> list[tuple[str, str, str]]:
    return [
        ("script" if k == "src" else "link", k, v)
        for k, v in re.findall(r"<(?:script|link)[^>]*\b(src|href)=[\"']([^\"']*)[\"']", page)
    ]


def save_html(m: folium.Map, path) -> Path:
    """Write :func:`inline_html` of a map to ``path`` (a file that opens offline anywhere).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inline_html(m), encoding="utf-8")
    return path


def show(m: folium.Map, *, height: int = 520):
    """Display a map in a notebook from the package's own files, offline.

    Parameters
    ----------
    m : folium.Map
    height : int, default 520
        Height of the frame. [px]

    Returns
    -------
    IPython.display.HTML
        An ``<iframe srcdoc=...>`` holding :func:`inline_html`; the last
        expression of a cell, or pass it to ``display``.
    """
    try:
        from IPython.display import HTML
    except ImportError as exc:  # notebooks only
        raise ImportError(
            "webmap.notebook.show needs IPython (a Jupyter kernel): pip install ipython; "
            "or write the map with save_html(m, 'map.html')."
        ) from exc
    if isinstance(height, bool) or not isinstance(height, int) or height < 100:
        raise ValueError(f"height must be an int of at least 100 [px], got {height!r}.")
    page = html.escape(inline_html(m), quote=True)
    frame = (
        f'<iframe srcdoc="{page}" style="width:100%;height:{height}px;border:1px solid #ccc" '
        'sandbox="allow-scripts allow-popups" title="map" loading="lazy"></iframe>'
    )
    with warnings.catch_warnings():
        # IPython suggests its IFrame, which loads a URL; this frame carries the page itself.
        warnings.filterwarnings("ignore", message="Consider using IPython.display.IFrame")
        return HTML(frame)
