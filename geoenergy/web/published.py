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
from pathlib import Path, PurePosixPath

from geoenergy.errors import GeoEnergyError
from geoenergy.web.roles import can

__all__ = ["MAP_RULES", "MapForbiddenError", "MapNotFoundError", "resolve_published"]

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
    try:
        names = json.loads((root / SITE_MANIFEST).read_text(encoding="utf-8")).get("restricted")
    except (OSError, ValueError, AttributeError):
        return frozenset()
    if not isinstance(names, list):
        return frozenset()
    return frozenset(f"{n}.html".lower() for n in names if isinstance(n, str))


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
