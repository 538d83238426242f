"""The published site: maps, summaries and downloads in one offline folder.

:func:`publish_site` writes an ``index.html`` that links the maps, shows a
short summary table per map, offers aggregated data as GeoJSON and CSV,
and states when it was generated and from which sources. Everything the
pages load (Leaflet, plugins, their images) is copied into ``assets/``;
a page that would still load anything from the internet makes publishing
fail (:class:`webmap.assets.OfflineAssetError`).

The enforcement map shows addresses. It is published only with
``include_enforcement=True``; otherwise it is neither written nor linked,
and a copy left by an earlier run is removed. Even then ``index.html``
does not list it: restricted maps are listed in a separate page
(:data:`RESTRICTED_INDEX`) and in the manifest, which the review app serves
to enforcement roles only. Times are shown with their time zone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import jinja2
import pandas as pd

from webmap.assets import OfflineAssetError, copy_assets, external_links, localize
from webmap.enforcement import enforcement_map
from webmap.frame import format_date
from webmap.officials import officials_map
from webmap.wasteheat import wasteheat_map

MANIFEST = ".webmap-site.json"
"""File listing what a publication wrote; marks a folder as a published site."""

RESTRICTED_INDEX = "enforcement-index"
"""Page listing every map, restricted ones included (``<name>.html``).

``index.html`` lists only the maps without personal data, so a reader
without access never sees a restricted map's card or a link to it; the
restricted cards are in this page and in the manifest (``"restricted_cards"``).
Its name starts with ``enforcement`` so the review app serves it to
enforcement roles only (:data:`geoenergy.web.published.MAP_RULES`).
"""

PERSONAL_COLUMNS = ("address", "meter_id", "customer_name", "phone", "contact")
"""Columns that identify a customer; downloads holding any of them are refused."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class MapKind:
    """A kind of map the site can publish.

    Parameters
    ----------
    builder : callable
        Builds the map from keyword arguments (see :class:`MapSpec`).
    title : str
        Title on the index page.
    audience : str
        Who the map is for.
    description : str
        One sentence on the index page.
    personal_data : bool
        True when the map shows addresses; then it is published only with
        ``include_enforcement=True``.
    """

    builder: Callable[..., folium.Map]
    title: str
    audience: str
    description: str
    personal_data: bool = False


MAP_KINDS: dict[str, MapKind] = {
    "officials": MapKind(
        officials_map,
        "Crypto-mining enforcement and PUE compliance",
        "Officials",
        "Flagged and confirmed mining by district and grid cell (small counts suppressed), "
        "and data centres against the PUE limit.",
    ),
    "wasteheat": MapKind(
        wasteheat_map,
        "Data-centre waste heat for district heating",
        "Heating planners",
        "Recoverable heat of data centres, the heating network, heat-demand density and "
        "candidate connections with their cost.",
    ),
    "enforcement": MapKind(
        enforcement_map,
        "Flagged meters (restricted: addresses)",
        "Enforcement teams",
        "Every flagged meter with its address, score, reasons and load profile.",
        personal_data=True,
    ),
}
"""Map kinds by name: builder, index-page title, audience and privacy; also the index order."""


@dataclass(frozen=True)
class MapSpec:
    """A map to build at publication time: its kind and the builder's arguments.

    Building late means a withheld enforcement map is never built at all.

    Parameters
    ----------
    kind : str
        A key of :data:`MAP_KINDS`.
    data : mapping
        Keyword arguments of the builder, e.g.
        ``{"districts": gdf, "hexagons": hex_gdf, "min_count": 5}``.
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in MAP_KINDS:
            raise ValueError(
                f"MapSpec kind={self.kind!r} is unknown; choose one of {list(MAP_KINDS)}."
            )
        if not isinstance(self.data, Mapping):
            raise TypeError(
                f"MapSpec data must be a mapping of builder arguments, got {type(self.data).__name__}."
            )

    @property
    def personal_data(self) -> bool:
        return MAP_KINDS[self.kind].personal_data

    def build(self) -> folium.Map:
        """Call the kind's builder with ``data``."""
        return MAP_KINDS[self.kind].builder(**self.data)


@dataclass
class PublishedSite:
    """What :func:`publish_site` wrote.

    Attributes
    ----------
    out_dir : Path
    index : Path
        The page to open.
    maps : dict of str to Path
        Map pages by name.
    downloads : dict of str to list of Path
        CSV (and GeoJSON) files by download name.
    assets : list of Path
        Copied script/style/image files.
    withheld : list of str
        Names of maps left out because they hold personal data.
    """

    out_dir: Path
    index: Path
    maps: dict[str, Path]
    downloads: dict[str, list[Path]]
    assets: list[Path]
    withheld: list[str]


def _personal(name: str, m) -> bool:
    if isinstance(m, MapSpec):
        return m.personal_data
    return bool(getattr(m, "personal_data", False)) or name == "enforcement"


def _check_publish_site(out_dir, maps, summaries, downloads, data_sources) -> Path:
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir must be a path, got {type(out_dir).__name__}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir={str(out)!r} exists and is not a folder; choose a folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise ValueError(
            f"out_dir={str(out)!r} is not empty and holds no earlier publication ({MANIFEST}); "
            "choose an empty or new folder so nothing of yours is overwritten."
        )
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError(
            f"maps must be a non-empty dict name -> folium.Map or MapSpec, got {maps!r:.80}."
        )
    for label, names in (("maps", maps), ("downloads", downloads or {})):
        for name in names:
            if (
                not isinstance(name, str)
                or not _NAME.match(name)
                or name in ("index", RESTRICTED_INDEX)
            ):
                raise ValueError(
                    f"{label} name {name!r} is not allowed; use lower-case letters, digits, "
                    f"'-' and '_' (it becomes a file name), and not 'index' or "
                    f"{RESTRICTED_INDEX!r}."
                )
    for name, m in maps.items():
        if not isinstance(m, folium.Map | MapSpec):
            raise TypeError(
                f"maps[{name!r}] must be a folium.Map or a webmap.MapSpec, got {type(m).__name__}."
            )
    for name in summaries or {}:
        if name not in maps:
            raise ValueError(f"summaries[{name!r}] names no map; maps are {list(maps)}.")
    for name, frame in (downloads or {}).items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"downloads[{name!r}] must be a DataFrame or GeoDataFrame, got "
                f"{type(frame).__name__}."
            )
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
            raise ValueError(
                f"downloads[{name!r}] has no CRS; set it (e.g. frame.set_crs(4326)) so the "
                "GeoJSON can be written in EPSG:4326."
            )
        personal = [c for c in frame.columns if str(c).lower() in PERSONAL_COLUMNS]
        if personal:
            raise ValueError(
                f"downloads[{name!r}] has columns {personal} that identify customers; "
                "downloads are aggregates: drop those columns or aggregate first."
            )
    if isinstance(data_sources, str):
        raise TypeError("data_sources must be a list of texts, not one str; wrap it: [text].")
    return out


def publish_site(
    out_dir: str | os.PathLike,
    maps: Mapping[str, folium.Map | MapSpec],
    *,
    summaries: Mapping[str, Mapping[str, Any] | pd.DataFrame] | None = None,
    downloads: Mapping[str, pd.DataFrame] | None = None,
    generated_at: dt.datetime | None = None,
    data_sources: Sequence[str | tuple[str, str]] = (),
    include_enforcement: bool = False,
    title: str = "GeoEnergy: published maps",
) -> PublishedSite:
    """Write a self-contained static site of maps, summaries and downloads.

    Parameters
    ----------
    out_dir : path
        Folder to write; created when missing. It must be empty or hold an
        earlier publication, which is replaced as a whole (files of the old
        one that the new one does not write, such as an enforcement map, are
        removed).
    maps : dict
        ``name -> folium.Map`` (e.g. from :func:`webmap.officials_map`) or
        :class:`MapSpec`; each is written to ``<name>.html``. Maps holding
        personal data (the enforcement map) are withheld unless
        ``include_enforcement``.
    summaries : dict, optional
        ``name -> {label: value}`` (or a DataFrame) shown under each map's
        link; default the map's own summary (``WebMap.summary``).
    downloads : dict, optional
        ``name -> DataFrame or GeoDataFrame`` of aggregated data; written as
        ``downloads/<name>.csv`` (UTF-8 with BOM, so spreadsheet programs
        read Chinese text; GeoDataFrames get ``lon``/``lat`` of a point
        inside each geometry) and, for GeoDataFrames,
        ``downloads/<name>.geojson`` (EPSG:4326).
    generated_at : datetime, optional
        Generation time shown on the index (default: now, local zone).
    data_sources : sequence
        Texts, or ``(name, detail)`` pairs, listed on the index.
    include_enforcement : bool
        Publish maps with personal data. Only for a site that stays
        within the enforcement teams.
    title : str
        Title of the index page.

    Returns
    -------
    PublishedSite
    """
    out = _check_publish_site(out_dir, maps, summaries, downloads, data_sources)
    generated_at = generated_at or dt.datetime.now().astimezone()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        result = _write_site(
            tmp,
            maps,
            summaries or {},
            downloads or {},
            generated_at,
            data_sources,
            include_enforcement,
            title,
        )
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _moved(result, tmp, out)


def _moved(site: PublishedSite, old: Path, new: Path) -> PublishedSite:
    def mv(p: Path) -> Path:
        return new / p.relative_to(old)

    return PublishedSite(
        out_dir=new,
        index=mv(site.index),
        maps={k: mv(v) for k, v in site.maps.items()},
        downloads={k: [mv(p) for p in v] for k, v in site.downloads.items()},
        assets=[mv(p) for p in site.assets],
        withheld=site.withheld,
    )


def _write_site(
    out: Path, maps, summaries, downloads, generated_at, data_sources, include_enforcement, title
) -> PublishedSite:
    entries, written, needed, withheld = [], {}, set(), []
    order = {k: i for i, k in enumerate(MAP_KINDS)}

    def sort_key(item):
        name, m = item
        kind = m.kind if isinstance(m, MapSpec) else getattr(m, "kind", None)
        return order.get(kind, len(order)), name

    for name, spec in sorted(maps.items(), key=sort_key):
        if _personal(name, spec) and not include_enforcement:
            withheld.append(name)
            continue
        m = spec.build() if isinstance(spec, MapSpec) else spec
        needed |= localize(m, prefix="assets")
        html = m.get_root().render()
        tiles = tuple(getattr(m, "tile_urls", ()))
        leaks = external_links(html, allow=tiles)
        if leaks:
            raise OfflineAssetError(
                f"map {name!r} still loads {leaks[:3]} from outside the site; remove that "
                "element or add its files to webmap.assets.ASSETS."
            )
        path = out / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        written[name] = path
        kind = getattr(m, "kind", None) or (spec.kind if isinstance(spec, MapSpec) else None)
        info = MAP_KINDS.get(kind)
        entries.append(
            {
                "name": name,
                "href": path.name,
                "title": getattr(m, "map_title", None) or (info.title if info else name),
                "audience": info.audience if info else "",
                "description": info.description if info else "",
                "restricted": _personal(name, spec),
                "data_date": format_date(getattr(m, "data_date", None)),
                "summary": _summary_table(summaries.get(name, getattr(m, "summary", None))),
                "size_kb": round(path.stat().st_size / 1024),
            }
        )
    assets = copy_assets(needed, out / "assets") if needed else []
    files = {
        name: _write_download(out / "downloads", name, frame) for name, frame in downloads.items()
    }
    public = [e for e in entries if not e["restricted"]]
    restricted = [e for e in entries if e["restricted"]]
    context = dict(
        title=title,
        downloads=[
            {
                "name": name,
                "rows": len(downloads[name]),
                "files": [
                    {
                        "href": f"downloads/{p.name}",
                        "label": p.suffix[1:].upper(),
                        "size_kb": max(1, round(p.stat().st_size / 1024)),
                    }
                    for p in paths
                ],
            }
            for name, paths in files.items()
        ],
        generated_at=_format_time(generated_at),
        data_sources=[_source(s) for s in data_sources],
        withheld=len(withheld) + len(restricted),
    )
    index = out / "index.html"
    index.write_text(
        _render_index(maps=public, restricted_page=False, **context), encoding="utf-8"
    )
    if restricted:
        # The page to open for enforcement teams: every map, restricted ones marked.
        index = out / f"{RESTRICTED_INDEX}.html"
        index.write_text(
            _render_index(maps=entries, restricted_page=True, **{**context, "withheld": 0}),
            encoding="utf-8",
        )
    manifest = {
        "generated_at": generated_at.isoformat(),
        "maps": sorted(written),
        "withheld": withheld,
        # Pages with personal data, whatever their name: a server in front of the site
        # (the review app) serves them to enforcement roles only.
        "restricted": sorted(e["name"] for e in restricted),
        # Their cards, which index.html leaves out, and the page that lists them.
        "restricted_cards": restricted,
        "restricted_index": f"{RESTRICTED_INDEX}.html" if restricted else None,
        "downloads": sorted(files),
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return PublishedSite(out, index, written, files, assets, withheld)


def _summary_table(summary) -> dict | None:
    """Header and rows of a summary (a mapping or a DataFrame) as text."""
    if summary is None:
        return None
    if isinstance(summary, pd.DataFrame):
        return {
            "header": [str(c) for c in summary.columns],
            "rows": [[_cell(v) for v in row] for row in summary.itertuples(index=False)],
        }
    if isinstance(summary, Mapping):
        return {"header": None, "rows": [[str(k), _cell(v)] for k, v in summary.items()]}
    raise TypeError(
        f"a summary must be a dict label -> value or a DataFrame, got {type(summary).__name__}."
    )


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "\u2013"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _source(s) -> dict:
    if isinstance(s, tuple) and len(s) == 2:
        return {"name": str(s[0]), "detail": str(s[1])}
    return {"name": str(s), "detail": ""}


def _format_time(t) -> str:
    """``"2024-04-01 08:30 Asia/Shanghai (UTC+08:00)"``: a time with its zone, named."""
    if isinstance(t, dt.datetime):
        zone = _zone_label(t)
        return f"{t:%Y-%m-%d %H:%M} {zone}".strip()
    return format_date(t)


def _zone_label(t) -> str:
    """The zone of ``t``: its IANA name (when it has one) and UTC offset; "" when naive."""
    if not isinstance(t, dt.datetime) or t.tzinfo is None or t.utcoffset() is None:
        return ""
    off = t.utcoffset()
    sign = "-" if off < dt.timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    utc = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    key = getattr(t.tzinfo, "key", None)
    return f"{key} ({utc})" if key else utc


def _plain_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text and other objects as text, so CSV and GeoJSON agree."""
    df = df.copy()
    for c in df.columns:
        if c == getattr(df, "_geometry_column_name", None):
            continue
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%S%z").where(df[c].notna())
    return df


def _write_download(folder: Path, name: str, frame: pd.DataFrame) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if isinstance(frame, gpd.GeoDataFrame):
        gdf = _plain_columns(frame.to_crs(4326))
        geo = folder / f"{name}.geojson"
        geo.write_text(gdf.to_json(drop_id=True, na="null"), encoding="utf-8")
        pts = gdf.geometry.representative_point()
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        table["lon"], table["lat"] = pts.x.round(6), pts.y.round(6)
        paths.append(geo)
    else:
        table = _plain_columns(frame)
    csv = folder / f"{name}.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig")
    paths.insert(0, csv)
    return paths


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def _render_index(**context) -> str:
    return _ENV.get_template("index.html.j2").render(**context)
