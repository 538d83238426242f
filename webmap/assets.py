"""Offline assets: the JavaScript and CSS a map needs, from the npm registry.

Folium links Leaflet and its plugins from CDNs. A published site must work
on an intranet with no internet, so :func:`localize` rewrites every element
of a map to point at local copies (``assets/<package>/<file>``) and
:func:`copy_assets` copies those files into the site. They come from
``webmap/assets/vendor`` in an installed wheel (the build hook
``hatch_build.py`` puts them there, with their licences), or from
``webmap/assets/node_modules`` in a checkout (``scripts/install-web.sh``
runs ``npm ci`` in ``webmap/assets``). Nothing is fetched at run time.

:data:`ASSETS` is the one registry: keyed by the names folium and its
plugins give their links (``default_js``/``default_css``), it says which npm
package and file replaces each, and which sibling files (images, fonts) the
file refers to. A link with a name not in the registry and not in
:data:`DROPPED` raises :class:`OfflineAssetError`: a map that would call the
internet is never published silently.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import folium

ASSETS_ENV = "WEBMAP_ASSETS_DIR"
"""Environment variable naming another ``node_modules`` folder to copy assets from."""

VENDOR_DIR = Path(__file__).resolve().parent / "assets" / "vendor"
"""Where a wheel carries the assets (laid out like ``node_modules``), see ``hatch_build.py``."""

CHECKOUT_DIR = Path(__file__).resolve().parent / "assets" / "node_modules"
"""Where ``npm ci`` installs the assets in a checkout (``scripts/install-web.sh``)."""


class OfflineAssetError(ValueError):
    """A map links a script, style or font that is not available offline."""


class AssetsMissingError(FileNotFoundError):
    """The assets are neither in the installed package nor in ``node_modules``."""


@dataclass(frozen=True)
class Asset:
    """One file of an npm package that replaces a CDN link.

    Parameters
    ----------
    package : str
        npm package name (as in ``webmap/assets/package.json``).
    path : str
        File inside the package, e.g. ``"dist/leaflet.js"``.
    extra : tuple of str
        Files or folders (relative to the package) that ``path`` refers to
        and that must be copied along, e.g. ``("dist/images",)``.
    """

    package: str
    path: str
    extra: tuple[str, ...] = ()

    @property
    def site_path(self) -> str:
        """Path of the copy inside the site's ``assets/`` folder."""
        return f"{self.package}/{self.path}"


ASSETS: dict[str, Asset] = {
    # folium.Map
    "leaflet": Asset("leaflet", "dist/leaflet.js"),
    "leaflet_css": Asset("leaflet", "dist/leaflet.css", ("dist/images",)),
    "jquery": Asset("jquery", "dist/jquery.min.js"),
    "bootstrap": Asset("bootstrap", "dist/js/bootstrap.bundle.min.js"),
    "bootstrap_css": Asset("bootstrap", "dist/css/bootstrap.min.css"),
    "awesome_markers": Asset("leaflet.awesome-markers", "dist/leaflet.awesome-markers.js"),
    "awesome_markers_css": Asset(
        "leaflet.awesome-markers", "dist/leaflet.awesome-markers.css", ("dist/images",)
    ),
    "awesome_markers_font_css": Asset(
        "@fortawesome/fontawesome-free", "css/all.min.css", ("webfonts",)
    ),
    # folium.plugins.MarkerCluster / FastMarkerCluster
    "markerclusterjs": Asset("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    "markerclustercss": Asset("leaflet.markercluster", "dist/MarkerCluster.css"),
    "markerclusterdefaultcss": Asset("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    # webmap.enforcement.FlaggedMeters (clustering of many points)
    "supercluster": Asset("supercluster", "dist/supercluster.min.js"),
    # folium.plugins.Fullscreen
    "Control.Fullscreen.js": Asset("leaflet.fullscreen", "Control.FullScreen.js"),
    "Control.FullScreen.css": Asset(
        "leaflet.fullscreen", "Control.FullScreen.css", ("icon-fullscreen.svg",)
    ),
    # folium.plugins.MeasureControl
    "leaflet_measure_js": Asset("leaflet-measure", "dist/leaflet-measure.js"),
    "leaflet_measure_css": Asset("leaflet-measure", "dist/leaflet-measure.css", ("dist/images",)),
}
"""Local replacement of each folium link name."""

DROPPED: dict[str, str] = {
    "glyphicons_css": "Bootstrap 3 glyphicons, only for folium.Icon(prefix='glyphicon')",
    "awesome_rotate_css": "rotation of folium.Icon(angle=...), not used by these maps",
}
"""Folium link names that are left out of offline maps, and why."""

_LICENCE = re.compile(r"(^|[-_.])licen[cs]e([-_.]|$)|^copying([-_.]|$)", re.IGNORECASE)
"""Names of licence files (``LICENSE``, ``LICENSE.md``, ``MIT-LICENCE.txt``, ...)."""

_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def node_modules() -> Path:
    """The folder the assets are copied from, laid out like ``node_modules``.

    ``$WEBMAP_ASSETS_DIR`` when set; else :data:`VENDOR_DIR` (an installed
    wheel); else :data:`CHECKOUT_DIR` (a checkout, filled by
    ``scripts/install-web.sh``).

    Raises
    ------
    AssetsMissingError
        When the folder, or Leaflet in it, is missing.
    """
    leaflet = Path("leaflet") / "dist" / "leaflet.js"
    env = os.environ.get(ASSETS_ENV)
    if env:
        if not (Path(env) / leaflet).is_file():
            raise AssetsMissingError(
                f"${ASSETS_ENV} is {env}, which holds no {leaflet.as_posix()}; point it at a "
                "node_modules folder with the web-map assets, or unset it."
            )
        return Path(env)
    for root in (VENDOR_DIR, CHECKOUT_DIR):
        if (root / leaflet).is_file():
            return root
    raise AssetsMissingError(
        f"The web-map assets are not installed: neither {VENDOR_DIR} (an installed wheel) nor "
        f"{CHECKOUT_DIR} (a checkout) holds {leaflet.as_posix()}. In a checkout run "
        "`scripts/install-web.sh` (it runs `npm ci` in webmap/assets); an installed wheel "
        "was built without them: rebuild it in a checkout where they are installed. Or set "
        f"${ASSETS_ENV} to a node_modules folder that holds them."
    )


def _elements(element) -> Iterable:
    yield element
    for child in list(element._children.values()):
        yield from _elements(child)


def localize(m: folium.Map, prefix: str = "assets") -> set[str]:
    """Point every script and style link of ``m`` at local copies under ``prefix``.

    Sets ``default_js``/``default_css`` on each element instance (never on
    the folium classes, so other maps in the process are untouched).

    Parameters
    ----------
    m : folium.Map
        A map; its whole element tree is rewritten in place.
    prefix : str
        Relative URL of the site's assets folder as seen from the map's HTML.

    Returns
    -------
    set of str
        Names (keys of :data:`ASSETS`) the map now needs; pass them to
        :func:`copy_assets`.

    Raises
    ------
    OfflineAssetError
        When an element links a name that has no local copy.
    """
    _check_localize(m, prefix)
    needed: set[str] = set()
    for el in _elements(m.get_root()):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in DROPPED:
                    continue
                if name not in ASSETS:
                    raise OfflineAssetError(
                        f"{type(el).__name__} links {name!r} ({url}), which has no offline "
                        f"copy; add it to webmap.assets.ASSETS and webmap/assets/package.json, "
                        "or do not use this element in a published map."
                    )
                needed.add(name)
                local.append((name, f"{prefix.rstrip('/')}/{ASSETS[name].site_path}"))
            setattr(el, attr, local)
    # A map rendered before (e.g. shown in a notebook) keeps the CDN links it
    # added to the page header; same-named links are replaced on the next
    # render, dropped ones must be removed here.
    header = m.get_root().header
    for name in DROPPED:
        header._children.pop(name, None)
    return needed


def _check_localize(m, prefix) -> None:
    if not isinstance(m, folium.Map):
        raise TypeError(f"m must be a folium.Map, got {type(m).__name__}.")
    if not isinstance(prefix, str) or _EXTERNAL.match(prefix) or prefix.startswith("/"):
        raise ValueError(
            f"prefix must be a relative URL such as 'assets', got {prefix!r}; an absolute "
            "or remote prefix would make the site depend on where it is served from."
        )


def copy_assets(names: Iterable[str], dest: str | os.PathLike) -> list[Path]:
    """Copy the files of the named assets (and their images/fonts) under ``dest``.

    Parameters
    ----------
    names : iterable of str
        Keys of :data:`ASSETS`, as returned by :func:`localize`.
    dest : path
        The site's assets folder; created when missing.

    Returns
    -------
    list of Path
        The files written, each package's licence file(s) included.
    """
    names = list(names)
    unknown = sorted(set(names) - set(ASSETS))
    if unknown:
        raise ValueError(f"names {unknown} are not assets; choose from {sorted(ASSETS)}.")
    src_root = node_modules()
    dest = Path(dest)
    written: list[Path] = []
    for name in sorted(set(names)):
        asset = ASSETS[name]
        pkg = src_root / asset.package
        for rel in (asset.path, *asset.extra):
            src, out = pkg / rel, dest / asset.package / rel
            if src.is_dir():
                shutil.copytree(src, out, dirs_exist_ok=True)
                written += [p for p in out.rglob("*") if p.is_file()]
            elif src.is_file():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, out)
                written.append(out)
            else:
                raise AssetsMissingError(
                    f"{src} is missing from the installed assets; in a checkout run "
                    "`scripts/install-web.sh` again (npm ci in webmap/assets), or reinstall "
                    "a complete wheel."
                )
    # Each package's licence goes along with its files (BSD and MIT ask for the notice).
    for package in sorted({ASSETS[name].package for name in names}):
        for src in sorted((src_root / package).glob("*")):
            if src.is_file() and _LICENCE.search(src.name):
                out = dest / package / src.name
                shutil.copyfile(src, out)
                written.append(out)
    return written


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href", "srcset", "poster", "data") and value:
                self.links.append((tag, key, value))


def external_links(html: str, allow: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """The ``(tag, attribute, url)`` of every link in ``html`` that leaves the site.

    A link leaves the site when it has a scheme other than ``data:`` or a
    scheme-relative ``//host``. Plain ``<a href>`` links (attribution and
    source links a person may click) are not loaded by the page and are
    not reported; URLs starting with one of ``allow`` (a configured tile
    server) are not reported either.

    Parameters
    ----------
    html : str
        A whole HTML page.
    allow : iterable of str
        URL prefixes that may be loaded.

    Returns
    -------
    list of (str, str, str)
    """
    parser = _LinkParser()
    parser.feed(html)
    allow = tuple(a for a in allow if a)
    out = []
    for tag, key, url in parser.links:
        if tag == "a" and key == "href":
            continue
        if url.strip().lower().startswith("data:"):
            continue
        if (_EXTERNAL.match(url) or url.strip().lower().startswith("javascript:")) and not (
            allow and url.startswith(allow)
        ):
            out.append((tag, key, url))
    return out
