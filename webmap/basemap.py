"""The basemap: a configurable tile server, or none.

Published maps run on an intranet, so there is no default internet tile
server: the basemap is an intranet tile server (:class:`Basemap` with its URL
template), Tianditu with a key (:meth:`Basemap.tianditu`), or ``None`` (all
data layers on a plain background).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import folium

from webmap.markup import escape

_TEMPLATE_KEYS = ("{z}", "{x}", "{y}")


@dataclass(frozen=True)
class Basemap:
    """A tile layer (XYZ URL template) with its attribution.

    Parameters
    ----------
    url : str
        Tile URL template with ``{z}``, ``{x}``, ``{y}`` (and ``{s}`` when
        ``subdomains`` is set), e.g. ``"https://tiles.intranet/{z}/{x}/{y}.png"``.
    attribution : str
        Plain text (escaped; not HTML), e.g. ``"© 天地图"``.
    attribution_url : str, optional
        Where the attribution links to (http or https).
    name : str
        Name in the layer control.
    max_zoom : int
        Highest zoom the server has tiles for.
    subdomains : str
        Letters/digits substituted for ``{s}``.
    labels_url : str, optional
        A second, transparent tile layer drawn on top (place-name labels).
    """

    url: str
    attribution: str
    attribution_url: str | None = None
    name: str = "Basemap"
    max_zoom: int = 18
    subdomains: str = "abc"
    labels_url: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        _check_basemap(self)

    @classmethod
    def tianditu(cls, key: str, kind: str = "vec") -> Basemap:
        """Tianditu (天地图, the national map service) web-Mercator tiles.

        Tianditu uses CGCS2000, which agrees with WGS84 to well under a
        metre, so WGS84 data needs no GCJ-02 shift on it (unlike AMap or
        Baidu tiles).

        Parameters
        ----------
        key : str
            The Tianditu browser key (``tk``).
        kind : {"vec", "img", "ter"}
            Vector map, imagery or terrain; the matching label layer is added.

        References
        ----------
        .. [1] National Platform for Common GeoSpatial Information Services,
           "天地图 API: 地图服务" (WMTS tile service, layers vec/cva, img/cia, ter/cta).
        """
        labels = {"vec": "cva", "img": "cia", "ter": "cta"}
        if kind not in labels:
            raise ValueError(
                f"kind={kind!r} is not a Tianditu layer; choose one of {list(labels)}."
            )
        if not isinstance(key, str) or not re.fullmatch(r"[0-9A-Za-z]+", key):
            raise ValueError(
                "key must be the Tianditu browser key (letters and digits), "
                f"got {key!r}; get one from the Tianditu console."
            )

        def wmts(layer: str) -> str:
            return (
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
            )

        return cls(
            url=wmts(kind),
            attribution="© 天地图 Tianditu",
            attribution_url="https://www.tianditu.gov.cn/",
            name="天地图 Tianditu",
            max_zoom=18,
            subdomains="01234567",
            labels_url=wmts(labels[kind]),
        )

    @property
    def urls(self) -> tuple[str, ...]:
        """The tile URL templates (base and labels); allowed in the offline check."""
        return tuple(u for u in (self.url, self.labels_url) if u)

    def attribution_html(self) -> str:
        """The attribution as HTML: escaped text, linked when ``attribution_url`` is set."""
        text = escape(self.attribution)
        if self.attribution_url:
            return f'<a href="{escape(self.attribution_url)}">{text}</a>'
        return text

    def add_to(self, m: folium.Map) -> folium.TileLayer:
        """Add the tile layer(s) to ``m``; returns the base layer."""
        kw = {"max_zoom": self.max_zoom, "subdomains": self.subdomains, **self.extra}
        base = folium.TileLayer(
            tiles=self.url, attr=self.attribution_html(), name=self.name, overlay=False, **kw
        )
        base.add_to(m)
        if self.labels_url:
            folium.TileLayer(
                tiles=self.labels_url,
                attr=self.attribution_html(),
                name=f"{self.name} labels",
                overlay=True,
                control=False,
                **kw,
            ).add_to(m)
        return base


def _check_basemap(b: Basemap) -> None:
    for label, url in (("url", b.url), ("labels_url", b.labels_url)):
        if url is None and label == "labels_url":
            continue
        if not isinstance(url, str):
            raise TypeError(f"Basemap {label} must be a str, got {type(url).__name__}.")
        missing = [k for k in _TEMPLATE_KEYS if k not in url]
        if missing or not re.match(r"^(https?:)?//|^/|^[\w.-]+/", url):
            raise ValueError(
                f"Basemap {label}={url!r} is not a tile URL template: it needs "
                f"{', '.join(_TEMPLATE_KEYS)} and an http(s) or relative URL, e.g. "
                "'https://tiles.intranet/{z}/{x}/{y}.png'."
            )
        if "{s}" in url and not b.subdomains:
            raise ValueError(f"Basemap {label} uses {{s}} but subdomains is empty.")
    if not isinstance(b.attribution, str) or not b.attribution.strip():
        raise ValueError(
            "Basemap attribution must be non-empty text naming the tile provider, "
            f"got {b.attribution!r}; tile licences require it."
        )
    if b.attribution_url is not None and not re.match(r"^https?://", str(b.attribution_url)):
        raise ValueError(
            f"Basemap attribution_url must be an http(s) URL, got {b.attribution_url!r}."
        )
