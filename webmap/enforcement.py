"""The enforcement map: flagged meters by score, with explained popups.

For enforcement teams only: it shows addresses (personal data), so the
site publisher leaves it out unless asked (``include_enforcement=True``).

Built to stay small and fast at city scale (100,000 flagged meters): the
meters travel as compact column arrays (repeated texts such as district,
customer class and reasons are stored once and referenced by code), the
points are clustered in the browser with Supercluster (one fast index;
only the clusters and points in view are drawn, at every pan and zoom), and
each popup is built only when it is opened, with ``textContent`` so no text
from the data is ever parsed as HTML. Load-profile charts
(:func:`webmap.charts.load_profile_svg`) are embedded for the
``max_profiles`` best-ranked meters that have a profile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from webmap.basemap import Basemap
from webmap.charts import load_profile_svg
from webmap.colors import Classes
from webmap.features import FeatureLayer
from webmap.frame import LegendSection, WebMap, check_wgs84, finish, new_map, total_bounds
from webmap.markup import format_value, script_json

FLAG_COLUMNS = ("meter_id", "address", "customer_class", "district", "score", "rank", "reasons")
"""Columns ``flags`` must have (``onset_date`` is optional)."""

SCORE_BREAKS = (0.5, 0.7, 0.8, 0.9)
"""Default class breaks of the detector score [0..1] for marker colours."""

SUPERCLUSTER_CDN = "https://cdn.jsdelivr.net/npm/supercluster@8.0.1/dist/supercluster.min.js"
"""Where notebooks load Supercluster from; published sites use the npm copy."""

CLUSTER_AUTO_ABOVE = 300
"""With ``cluster="auto"``, markers are clustered when there are more than this many."""


class FlaggedMeters(JSCSSMixin, Layer):
    """Flagged meters as circle markers, clustered or not, with lazy popups.

    Parameters
    ----------
    flags : GeoDataFrame
        Points with :data:`FLAG_COLUMNS` (checked by :func:`enforcement_map`).
    classes : Classes
        Score classes and colours.
    svgs : dict of int to str
        Chart SVG by row position in ``flags``.
    review_url : str, optional
        Case URL template with ``{meter_id}``.
    cluster : bool
        Cluster the markers (Supercluster; at the highest zoom, a cluster of
        meters at one building opens a list of them).
    name, show
        Layer control name; whether shown on opening.
    """

    default_js: ClassVar[list[tuple[str, str]]] = [("supercluster", SUPERCLUSTER_CDN)]

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            // JSON.parse of a data block is several times faster than a script literal.
            var d = JSON.parse(document.getElementById({{ this.data_id|tojson }}).textContent);
            var map = {{ this._parent.get_name() }};
            function colorOf(s) {
                var i = 0;
                while (i < d.breaks.length && s >= d.breaks[i]) { i += 1; }
                return d.colors[i];
            }
            function cat(col, i) {
                if (!col) { return null; }
                var c = col.c[i];
                return c < 0 ? null : col.v[c];
            }
            var el = webmap.el;
            function popup(i) {
                var root = el("div", "wm-popup");
                root.appendChild(el("div", "wm-popup-title", d.addr[i]));
                var table = el("table", "wm-table");
                function row(label, value) {
                    if (value === null || value === undefined || value === "") { return; }
                    var tr = el("tr");
                    tr.appendChild(el("th", null, label));
                    tr.appendChild(el("td", null, value));
                    table.appendChild(tr);
                }
                row("Meter", d.id[i]);
                row("Customer class", cat(d.cls, i));
                row("District", cat(d.dist, i));
                row("Score", d.score[i] === null ? null : d.score[i].toFixed(2));
                row("Rank", d.rank[i] + " of " + d.n);
                row("Suspected since", cat(d.onset, i));
                root.appendChild(table);
                var why = cat(d.why, i);
                if (why) {
                    var ul = el("ul", "wm-reasons");
                    why.split(/\\n|;\\s+/).forEach(function (r) {
                        r = r.trim();
                        if (r) { ul.appendChild(el("li", null, r)); }
                    });
                    root.appendChild(ul);
                }
                if (d.svg[i]) {
                    // Built in Python (webmap.charts) from numbers only: no data text.
                    var chart = el("div", "wm-chart");
                    chart.innerHTML = d.svg[i];
                    root.appendChild(chart);
                }
                if (d.review) {
                    var a = el("a", null, "Open the case in the review app");
                    a.href = d.review.split("{meter_id}").join(encodeURIComponent(d.id[i]));
                    a.target = "_blank";
                    a.rel = "noopener";
                    root.appendChild(a);
                }
                return root;
            }
            function marker(i) {
                var m = L.circleMarker([lat(i), lon(i)], {
                    radius: 6, weight: 1, color: "#333", fillOpacity: 0.9,
                    fillColor: colorOf(d.score[i])
                });
                m.wmIndex = i;
                return m;
            }
            function lat(i) { return d.lat0 + d.lat[i] * 1e-5; }
            function lon(i) { return d.lon0 + d.lon[i] * 1e-5; }
            function openMeter(i) {
                L.popup({maxWidth: 340, minWidth: 300})
                    .setLatLng([lat(i), lon(i)])
                    .setContent(popup(i))
                    .openOn(map);
            }
            var group = L.featureGroup();
            group.wmCount = d.n;
            group.wmOpen = openMeter;
            // One popup handler for all markers (a bound popup per marker would
            // cost a Popup object each); the content is built on opening.
            group.on("click", function (e) {
                if (e.layer && e.layer.wmIndex !== undefined) { openMeter(e.layer.wmIndex); }
                if (e.layer && e.layer.wmCluster !== undefined) { openCluster(e.layer); }
            });
            if (!d.cluster) {
                for (var i = 0; i < d.n; i += 1) { group.addLayer(marker(i)); }
                return group;
            }
            // Supercluster indexes all points at once in flat typed arrays (fast,
            // little garbage); only the clusters and points in view are drawn.
            var points = new Array(d.n);
            for (var k = 0; k < d.n; k += 1) {
                points[k] = {type: "Feature", properties: {i: k},
                             geometry: {type: "Point", coordinates: [lon(k), lat(k)]}};
            }
            var index = new Supercluster({
                radius: 60,
                extent: 256,  // Leaflet's tile size: radius is in screen pixels
                minZoom: Math.max(0, Math.floor(map.getMinZoom())),
                maxZoom: Math.ceil(map.getMaxZoom()),
                map: function (p) { return {best: d.score[p.i]}; },
                reduce: function (acc, p) { if (p.best > acc.best) { acc.best = p.best; } }
            }).load(points);
            function clusterMarker(c) {
                var n = c.properties.point_count;
                var size = n < 100 ? 30 : (n < 1000 ? 36 : (n < 10000 ? 44 : 52));
                var m = L.marker([c.geometry.coordinates[1], c.geometry.coordinates[0]], {
                    icon: L.divIcon({
                        // Only numbers and our colours: no data text.
                        html: '<div class="wm-cluster" style="width:' + size + "px;height:" +
                              size + "px;line-height:" + (size - 4) + "px;font-size:" +
                              (n < 1000 ? 12 : 11) + "px;background:" +
                              colorOf(c.properties.best) + '">' + n + "</div>",
                        className: "wm-cluster-icon",
                        iconSize: L.point(size, size)
                    })
                });
                m.wmCluster = c.properties.cluster_id;
                m.wmCount = n;
                return m;
            }
            function openCluster(m) {
                var zoom = index.getClusterExpansionZoom(m.wmCluster);
                if (zoom <= map.getMaxZoom()) {
                    map.setView(m.getLatLng(), zoom);
                    return;
                }
                // Meters at one building: list them; a click opens one.
                var leaves = index.getLeaves(m.wmCluster, 200);
                var root = el("div", "wm-popup");
                root.appendChild(el("div", "wm-popup-title",
                    m.wmCount + " flagged meters at this location"));
                var ul = el("ul", "wm-reasons");
                leaves.sort(function (a, b) { return d.rank[a.properties.i] - d.rank[b.properties.i]; });
                leaves.forEach(function (leaf) {
                    var i = leaf.properties.i;
                    var a = el("a", null, "#" + d.rank[i] + " " + d.addr[i] + " (" +
                               d.score[i].toFixed(2) + ")");
                    a.href = "#";
                    a.addEventListener("click", function (ev) { ev.preventDefault(); openMeter(i); });
                    var li = el("li");
                    li.appendChild(a);
                    ul.appendChild(li);
                });
                root.appendChild(ul);
                L.popup({maxWidth: 360}).setLatLng(m.getLatLng()).setContent(root).openOn(map);
            }
            function draw() {
                var b = map.getBounds().pad(0.25);
                var items = index.getClusters(
                    [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], Math.round(map.getZoom()));
                group.clearLayers();
                items.forEach(function (c) {
                    group.addLayer(c.properties.cluster ? clusterMarker(c) : marker(c.properties.i));
                });
            }
            group.on("add", function () { map.on("moveend", draw); draw(); });
            group.on("remove", function () { map.off("moveend", draw); });
            return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        flags: gpd.GeoDataFrame,
        *,
        classes: Classes,
        svgs: Mapping[int, str],
        review_url: str | None,
        cluster: bool,
        name: str = "Flagged meters",
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "FlaggedMeters"
        self.n_features = len(flags)
        # Instance lists (localize() rewrites them per map); Supercluster only to cluster.
        self.default_js = list(self.default_js) if cluster else []
        lat, lon = flags.geometry.y.to_numpy(), flags.geometry.x.to_numpy()
        lat0 = round(float(lat.min()), 5) if len(lat) else 0.0
        lon0 = round(float(lon.min()), 5) if len(lon) else 0.0
        data = {
            "n": len(flags),
            "cluster": bool(cluster),
            "breaks": list(classes.breaks),
            "colors": list(classes.colors),
            # Offsets from the south-west corner in 1e-5 deg (about 1 m): ~5
            # digits instead of ~8 for a full coordinate.
            "lat0": lat0,
            "lon0": lon0,
            "lat": np.round((lat - lat0) * 1e5).astype(np.int64),
            "lon": np.round((lon - lon0) * 1e5).astype(np.int64),
            "score": np.round(flags["score"].to_numpy(dtype=float), 3),
            "rank": flags["rank"].to_numpy(),
            "id": flags["meter_id"].astype(str).to_numpy(),
            "addr": flags["address"].to_numpy(),
            "cls": _codes(flags["customer_class"]),
            "dist": _codes(flags["district"]),
            "why": _codes(flags["reasons"]),
            "onset": _codes(_date_text(flags["onset_date"])) if "onset_date" in flags else None,
            "svg": {str(k): v for k, v in svgs.items()},
            "review": review_url,
        }
        self.data_json = script_json(data)
        self.data_id = f"{self.get_name()}_data"

    def render(self, **kwargs):
        # The data travel in a JSON block in the body, before the map script.
        self.get_root().html.add_child(
            Element(
                f'<script type="application/json" id="{self.data_id}">{self.data_json}</script>'
            ),
            name=self.data_id,
        )
        super().render(**kwargs)


def _codes(s: pd.Series) -> dict:
    """Dictionary encoding ``{"v": uniques, "c": codes}`` (code -1 for missing)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return {"v": [str(u) for u in uniques], "c": codes}


def _date_text(s: pd.Series) -> pd.Series:
    """ISO dates as text; values that are not dates are kept as their text."""
    d = pd.to_datetime(s, errors="coerce")
    return d.dt.strftime("%Y-%m-%d").where(d.notna(), s.astype("string"))


def _check_enforcement_map(
    flags, profiles, hotspots, review_url, score_breaks, cluster, max_profiles, min_zoom
) -> None:
    if not isinstance(flags, gpd.GeoDataFrame):
        raise TypeError(
            f"flags must be a GeoDataFrame of points, got {type(flags).__name__}; build one "
            "with geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(lon, lat), "
            "crs=4326)."
        )
    missing = [c for c in FLAG_COLUMNS if c not in flags.columns]
    if missing:
        raise ValueError(
            f"flags lacks columns {missing}; it needs {list(FLAG_COLUMNS)} "
            "(and optionally onset_date)."
        )
    check_wgs84(flags, "flags")
    if len(flags):
        if flags.geometry.isna().any() or flags.geometry.is_empty.any():
            n = int((flags.geometry.isna() | flags.geometry.is_empty).sum())
            raise ValueError(f"flags has {n} rows without a location; drop or geocode them first.")
        kinds = set(flags.geom_type.unique())
        if kinds != {"Point"}:
            raise ValueError(f"flags must hold Point geometries, got {sorted(kinds)}.")
        score = pd.to_numeric(flags["score"], errors="coerce")
        if score.isna().any() or (score < 0).any() or (score > 1).any():
            raise ValueError(
                "flags.score must be numbers in 0..1, got "
                f"{flags['score'][score.isna() | (score < 0) | (score > 1)].head(3).tolist()}."
            )
        if flags["meter_id"].duplicated().any():
            dup = flags["meter_id"][flags["meter_id"].duplicated()].head(3).tolist()
            raise ValueError(f"flags.meter_id must be unique, got duplicates {dup}.")
    if profiles is not None and not isinstance(profiles, Mapping):
        raise TypeError(
            "profiles must be a dict meter_id -> {'hourly': Series, 'avg_day': 24 values}, "
            f"got {type(profiles).__name__}."
        )
    if hotspots is not None:
        if not isinstance(hotspots, gpd.GeoDataFrame):
            raise TypeError(f"hotspots must be a GeoDataFrame, got {type(hotspots).__name__}.")
        if "n_flagged" not in hotspots.columns:
            raise ValueError(
                f"hotspots lacks column 'n_flagged'; it has {list(hotspots.columns)}."
            )
        check_wgs84(hotspots, "hotspots")
    if review_url is not None:
        if not isinstance(review_url, str) or "{meter_id}" not in review_url:
            raise ValueError(
                f"review_url must be a URL template containing '{{meter_id}}', got "
                f"{review_url!r}; e.g. 'https://review.example/cases/{{meter_id}}'."
            )
        if not re.match(r"^(https?://|/|\./|\.\./)", review_url):
            raise ValueError(
                f"review_url must start with http://, https:// or a relative path, got "
                f"{review_url!r}."
            )
        if re.sub(r"\{meter_id\}", "", review_url).count("{"):
            raise ValueError(
                f"review_url may only use the placeholder {{meter_id}}, got {review_url!r}."
            )
    if list(score_breaks) != sorted(score_breaks) or not all(0 < b < 1 for b in score_breaks):
        raise ValueError(f"score_breaks must ascend within (0, 1), got {score_breaks}.")
    if cluster not in ("auto", True, False):
        raise ValueError(f"cluster must be 'auto', True or False, got {cluster!r}.")
    if not isinstance(max_profiles, int) or max_profiles < 0:
        raise ValueError(f"max_profiles must be an int >= 0, got {max_profiles!r}.")
    if not isinstance(min_zoom, int) or not 0 <= min_zoom <= 16:
        raise ValueError(f"min_zoom must be an int in 0..16, got {min_zoom!r}.")


def enforcement_map(
    flags: gpd.GeoDataFrame,
    *,
    profiles: Mapping[str, Mapping] | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    review_url: str | None = None,
    title: str = "Suspected crypto-mining: flagged meters",
    data_date=None,
    attribution: str | None = None,
    basemap: Basemap | None = None,
    score_breaks: Sequence[float] = SCORE_BREAKS,
    cluster: bool | str = "auto",
    max_profiles: int = 500,
    min_zoom: int = 8,
) -> WebMap:
    """The enforcement teams' map of flagged meters.

    Parameters
    ----------
    flags : GeoDataFrame
        Points in EPSG:4326, one per flagged meter, with ``meter_id``,
        ``address``, ``customer_class``, ``district``, ``score`` (detector
        score, 0..1, higher = more suspicious), ``rank`` (1 = most
        suspicious), ``reasons`` (text; sentences separated by ``"; "`` or
        newlines are listed one per line) and optionally ``onset_date``.
    profiles : dict, optional
        ``meter_id -> {"hourly": Series, "avg_day": 24 values}``: energy per
        hour [kWh] of the last weeks (local-time index) and the average day
        [kW]; drawn as a chart in the popup (see
        :func:`webmap.charts.load_profile_svg`).
    hotspots : GeoDataFrame, optional
        Polygons with ``n_flagged`` and optionally ``name``, ``total_score``.
    review_url : str, optional
        Review-app case URL template, e.g.
        ``"https://review.example/cases/{meter_id}"``; adds a link per popup.
    title, data_date, attribution, basemap
        See :func:`webmap.frame.new_map`.
    score_breaks : sequence of float
        Class breaks of the score for marker colours.
    cluster : {"auto", True, False}
        Cluster markers; "auto" clusters above :data:`CLUSTER_AUTO_ABOVE`.
    max_profiles : int
        Charts are embedded for at most this many best-ranked meters
        (each costs about 5 kB of HTML).
    min_zoom : int
        Smallest zoom the map allows (8 shows a whole city of about 500 km);
        clustering work grows with the number of zoom levels.

    Returns
    -------
    WebMap
        ``personal_data`` is True: publish it only to enforcement teams.
    """
    _check_enforcement_map(
        flags, profiles, hotspots, review_url, score_breaks, cluster, max_profiles, min_zoom
    )
    m = new_map(
        kind="enforcement",
        title=title,
        data_date=data_date,
        attribution=attribution,
        basemap=basemap,
        subtitle="Restricted: contains addresses. For enforcement teams only.",
        personal_data=True,
    )
    m.options["min_zoom"] = min_zoom
    classes = Classes.from_ramp(score_breaks, "YlOrRd", digits=2)
    legend = []
    if hotspots is not None and len(hotspots):
        hot = _hotspot_layer(hotspots)
        m.add_child(hot)
        legend.append(
            LegendSection(
                "Hotspots",
                items=[("#7b3294", "Area with many flagged meters", "box")],
                layer=hot,
            )
        )
    flags = flags.reset_index(drop=True)
    svgs = {}
    if profiles and max_profiles:
        order = np.argsort(pd.to_numeric(flags["rank"], errors="coerce").to_numpy(), kind="stable")
        for pos in order:
            if len(svgs) >= max_profiles:
                break
            prof = profiles.get(flags.at[pos, "meter_id"])
            if prof:
                svgs[int(pos)] = load_profile_svg(prof.get("hourly"), prof.get("avg_day"))
    use_cluster = len(flags) > CLUSTER_AUTO_ABOVE if cluster == "auto" else bool(cluster)
    layer = FlaggedMeters(
        flags, classes=classes, svgs=svgs, review_url=review_url, cluster=use_cluster
    )
    m.add_child(layer)
    legend.insert(
        0,
        LegendSection(
            "Detector score",
            classes=classes,
            shape="dot",
            note="Clusters show the count and the highest score inside." if use_cluster else None,
            layer=layer,
        ),
    )
    m.summary = {
        "Flagged meters": format_value(len(flags)),
        "Highest score": format_value(flags["score"].max() if len(flags) else None, 2),
        "Districts with flags": format_value(flags["district"].nunique()),
        "Hotspots": format_value(0 if hotspots is None else len(hotspots)),
    }
    return finish(m, bounds=total_bounds([flags, hotspots]), legend=legend)


def _hotspot_layer(hotspots: gpd.GeoDataFrame) -> FeatureLayer:
    fields = ["Flagged meters"] + (["Total score"] if "total_score" in hotspots else [])
    n = pd.to_numeric(hotspots["n_flagged"], errors="coerce")
    values = [[format_value(v)] for v in n]
    if "total_score" in hotspots:
        for row, v in zip(values, hotspots["total_score"], strict=True):
            row.append(format_value(v, 1))
    names = hotspots["name"] if "name" in hotspots else pd.Series(["Hotspot"] * len(hotspots))
    style = {"color": "#7b3294", "weight": 2, "fillColor": "#c2a5cf", "fillOpacity": 0.25}
    return FeatureLayer(
        hotspots.geometry,
        styles=[style],
        style_index=[0] * len(hotspots),
        titles=names.tolist(),
        fields=fields,
        values=values,
        tooltip_fields=[0],
        name="Hotspots",
    )
