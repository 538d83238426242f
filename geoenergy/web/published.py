"""Which files of the published site (``geoenergy publish``) a role may open.

The site is served under ``/maps/`` to logged-in users. The enforcement map
holds addresses: any file whose first path part starts with ``enforcement``
(``enforcement.html`` and its data or asset folders) needs
``maps.enforcement``; everything else is the aggregated maps and their
assets and needs ``maps.aggregate``. The rules are one registry,
:data:`MAP_RULES`, checked in order. In addition, a map the site's own
manifest (``.webmap-site.json``, written by :func:`webmap.site.publish_site`)
lists under ``"restricted"`` needs ``maps.enforcement`` whatever its name.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from geoenergy.errors import GeoEnergyError
from geoenergy.web.roles import can

__all__ = [
    "MAP_RULES",
    "MapForbiddenError",
    "MapNotFoundError",
    "present_page",
    "resolve_published",
    "restricted_index",
]

#: ``(glob on the first path part, permission needed)``, first match wins.
MAP_RULES: tuple[tuple[str, str], ...] = (
    ("enforcement*", "maps.enforcement"),
    ("*", "maps.aggregate"),
)


#: The site manifest of :mod:`webmap.site` (a hidden file: never served).
SITE_MANIFEST = ".webmap-site.json"


class MapNotFoundError(GeoEnergyError, LookupError):
    """No such file in the published site (HTTP 404)."""


class MapForbiddenError(GeoEnergyError, PermissionError):
    """The role may not open this file (HTTP 403)."""


def _restricted(root: Path) -> frozenset[str]:
    """First path parts the site's manifest marks as holding personal data."""
    names = _manifest(root).get("restricted")
    if not isinstance(names, list):
        return frozenset()
    return frozenset(f"{n}.html".lower() for n in names if isinstance(n, str))


def _manifest(root: Path) -> dict:
    try:
        data = json.loads((Path(root) / SITE_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def restricted_index(root: Path) -> str | None:
    """File name of the site's page listing every map, restricted ones included
    (``"restricted_index"`` of the manifest), if it exists; else None."""
    name = _manifest(root).get("restricted_index")
    if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
        return None
    return name if (Path(root) / name).is_file() else None


def permission_for(rel: str, restricted: frozenset[str] = frozenset()) -> str:
    """The permission site path ``rel`` requires (:data:`MAP_RULES`, and ``restricted``
    first path parts, lower case, which need ``maps.enforcement``)."""
    first = PurePosixPath(rel).parts[0] if rel else "index.html"
    if first.lower() in restricted:
        return "maps.enforcement"
    for pattern, permission in MAP_RULES:
        if fnmatch.fnmatchcase(first.lower(), pattern):
            return permission
    raise AssertionError("MAP_RULES ends with '*'")  # pragma: no cover


def resolve_published(root: Path | None, rel: str, role: str) -> Path:
    """The file of the published site at ``rel`` that ``role`` may open.

    Parameters
    ----------
    root : Path or None
        The site folder (``<workspace>/published`` by default); None = no site.
    rel : str
        Path below ``/maps/`` as requested ("" or a folder means its ``index.html``).
    role : str
        The user's role.

    Returns
    -------
    Path
        An existing file inside ``root``.

    Raises
    ------
    MapNotFoundError
        No site, a path outside the site (``..``, absolute, hidden parts,
        symbolic links leading out), or no such file.
    MapForbiddenError
        The file exists but the role lacks the permission of :data:`MAP_RULES`.
    """
    if root is None or not Path(root).is_dir():
        raise MapNotFoundError(
            "no maps are published yet; an administrator publishes them with `geoenergy publish`."
        )
    root = Path(root).resolve()
    if "\\" in rel or "\x00" in rel:
        raise MapNotFoundError(f"no published file {rel!r}.")
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", "/")]
    if any(p in (".", "..") or p.startswith(".") for p in parts) or rel.startswith("/"):
        raise MapNotFoundError(f"no published file {rel!r}.")
    target = root.joinpath(*parts) if parts else root
    try:
        target = target.resolve(strict=True)
    except (FileNotFoundError, OSError):
        raise MapNotFoundError(f"no published file {rel!r}.") from None
    if target.is_dir():
        target = target / "index.html"
        parts = [*parts, "index.html"]
    if not target.is_file() or not target.is_relative_to(root):
        raise MapNotFoundError(f"no published file {rel!r}.")
    # The permission follows the path as requested *and* as resolved, so a link
    # named like an aggregate map cannot expose the enforcement map.
    restricted = _restricted(root)
    needed = {
        permission_for("/".join(parts), restricted),
        permission_for(target.relative_to(root).as_posix(), restricted),
    }
    if not all(can(role, p) for p in needed):
        raise MapForbiddenError(
            f"your role ({role}) may not open {rel or 'this map'!r}: it shows addresses and is "
            f"for enforcement teams."
        )
    return target


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_CARD = re.compile(
    r'<section class="map" id="map-([^"]+)">.*?</section>\s*', re.DOTALL | re.IGNORECASE
)
_LINK = re.compile(r'<a\b[^>]*\bhref="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL | re.IGNORECASE)
#: Stylesheet of the app header on map pages.
MAPBAR_CSS = "/static/app/mapbar.css"


def _needs(root: Path, href: str, restricted: frozenset[str]) -> str | None:
    """The permission a relative link of the site needs, or None for other links."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    return permission_for(unquote(parts.path), restricted)


def present_page(html: str, *, role: str, root: Path, header: str) -> str:
    """A published HTML page as the app serves it to ``role``.

    The app's header (``header``, already escaped HTML, and its stylesheet)
    goes in at the top of the body, so every map page leads back into the
    app. For a role that may not open a restricted map, its card (a
    ``<section class="map" id="map-NAME">`` of the site's index) is removed
    and any other link to it keeps only its text: an official never sees a
    card or a link that ends in "Not allowed".
    """
    restricted = _restricted(Path(root))
    if not can(role, "maps.enforcement"):

        def card(m):
            name = m.group(1)
            needed = permission_for(f"{name}.html", restricted)
            return m.group(0) if can(role, needed) else ""

        def link(m):
            needed = _needs(Path(root), m.group(1), restricted)
            return m.group(0) if needed is None or can(role, needed) else m.group(2)

        html = _LINK.sub(link, _CARD.sub(card, html))
    css = f'<link rel="stylesheet" href="{MAPBAR_CSS}">'
    html, n = _HEAD_END.subn(lambda m: css + m.group(0), html, count=1)
    if not n:
        header = css + header
    html, n = _BODY.subn(lambda m: m.group(0) + header, html, count=1)
    return html if n else header + html
