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
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from webmap.basemap import Basemap
from webmap.charts import load_profile_svg
from webmap.colors import Classes, text_color
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
            function classOf(s) {
                var i = 0;
                while (i < d.breaks.length && s >= d.breaks[i]) { i += 1; }
                return i;
            }
            function colorOf(s) { return d.colors[classOf(s)]; }
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
            function width(w) { return Math.max(200, Math.min(w, map.getSize().x - 120)); }
            function openMeter(i, at) {
                L.popup({maxWidth: width(340), minWidth: width(300)})
                    .setLatLng(at || [lat(i), lon(i)])
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
            // Meters of one building, fanned out around their cluster at the highest zoom.
            var spider = L.featureGroup();
            spider.on("click", function (e) {
                if (e.layer && e.layer.wmIndex !== undefined) {
                    openMeter(e.layer.wmIndex, e.layer.getLatLng());
                }
            });
            group.wmSpider = spider;
            // Find a meter by id (exact first) or by a part of its id or address, in
            // rank order; zoom to it and open its popup. Returns its index or -1.
            group.wmFind = function (q) {
                q = String(q || "").trim().toLowerCase();
                if (!q) { return -1; }
                var hit = -1, i;
                for (i = 0; i < d.n && hit < 0; i += 1) {
                    if (String(d.id[i]).toLowerCase() === q) { hit = i; }
                }
                for (i = 0; i < d.n && hit < 0; i += 1) {
                    if (String(d.id[i]).toLowerCase().indexOf(q) >= 0 ||
                        String(d.addr[i] || "").toLowerCase().indexOf(q) >= 0) { hit = i; }
                }
                if (hit >= 0) {
                    map.closePopup();
                    map.setView([lat(hit), lon(hit)], map.getMaxZoom(), {animate: false});
                    openMeter(hit);
                }
                return hit;
            };
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
                // Per cluster: the highest and the summed score, and the bounds of its meters.
                map: function (p) {
                    var x = lon(p.i), y = lat(p.i);
                    return {best: d.score[p.i], sum: d.score[p.i], x0: x, x1: x, y0: y, y1: y};
                },
                reduce: function (acc, p) {
                    if (p.best > acc.best) { acc.best = p.best; }
                    acc.sum += p.sum;
                    acc.x0 = Math.min(acc.x0, p.x0); acc.x1 = Math.max(acc.x1, p.x1);
                    acc.y0 = Math.min(acc.y0, p.y0); acc.y1 = Math.max(acc.y1, p.y1);
                }
            }).load(points);
            function clusterMarker(c) {
                var p = c.properties, n = p.point_count;
                var size = n < 100 ? 30 : (n < 1000 ? 36 : (n < 10000 ? 44 : 52));
                // Coloured by the mean score (by the highest, nearly every cluster of a
                // city is the top class); the text colour reads on it (>= 4.5:1).
                var k = classOf(p.sum / n);
                var m = L.marker([c.geometry.coordinates[1], c.geometry.coordinates[0]], {
                    icon: L.divIcon({
                        // Only numbers and our colours: no data text.
                        html: '<div class="wm-cluster" style="width:' + size + "px;height:" +
                              size + "px;line-height:" + (size - 4) + "px;font-size:" +
                              (n < 1000 ? 12 : 11) + "px;background:" + d.colors[k] +
                              ";color:" + d.text[k] + '" title="' + n +
                              " flagged meters, mean score " + (p.sum / n).toFixed(2) +
                              ", highest " + p.best.toFixed(2) + '">' + n + "</div>",
                        className: "wm-cluster-icon",
                        iconSize: L.point(size, size)
                    }),
                    title: n + " flagged meters",
                    alt: n + " flagged meters"
                });
                m.wmCluster = p.cluster_id;
                m.wmCount = n;
                m.wmBounds = L.latLngBounds([p.y0, p.x0], [p.y1, p.x1]);
                return m;
            }
            function spiderfy(m, leaves) {
                spider.clearLayers();
                var c = map.latLngToLayerPoint(m.getLatLng()), n = leaves.length;
                var r = Math.max(36, 16 * n / Math.PI);  // about 32 px of circle per meter
                leaves.forEach(function (leaf, k) {
                    var a = 2 * Math.PI * k / n - Math.PI / 2;
                    var at = map.layerPointToLatLng(
                        L.point(c.x + r * Math.cos(a), c.y + r * Math.sin(a)));
                    spider.addLayer(L.polyline([m.getLatLng(), at],
                        {color: "#333", weight: 1.5, opacity: 0.7, interactive: false}));
                    spider.addLayer(marker(leaf.properties.i).setLatLng(at));
                });
                spider.addTo(map);
                return r;
            }
            map.on("zoomstart", function () { spider.clearLayers(); });
            function openCluster(m) {
                var zoom = index.getClusterExpansionZoom(m.wmCluster);
                if (zoom <= map.getMaxZoom()) {
                    // Zoom to the cluster's meters (at least to where it splits).
                    var fit = map.getBoundsZoom(m.wmBounds, false, L.point(60, 60));
                    if (fit >= zoom) {
                        map.fitBounds(m.wmBounds, {padding: [30, 30]});
                    } else {
                        map.setView(m.wmBounds.getCenter(), zoom);
                    }
                    return;
                }
                // Meters at one building: fan them out and list them; a click opens one.
                var leaves = index.getLeaves(m.wmCluster, 200);
                var r = spiderfy(m, leaves.slice(0, 60));
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
                L.popup({maxWidth: width(360), offset: L.point(0, 7 - r)})
                    .setLatLng(m.getLatLng()).setContent(root).openOn(map);
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
            group.on("remove", function () { map.off("moveend", draw); spider.remove(); });
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
            "text": [text_color(c) for c in classes.colors],
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
    flags, profiles, hotspots, review_url, score_breaks, cluster, max_profiles, min_zoom, districts
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
    if districts is not None:
        if not isinstance(districts, gpd.GeoDataFrame):
            raise TypeError(f"districts must be a GeoDataFrame, got {type(districts).__name__}.")
        check_wgs84(districts, "districts")
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
    districts: gpd.GeoDataFrame | None = None,
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
        Drawn as outlines with a ring of fixed size on top of the meters, so
        a hotspot is visible and clickable at every zoom.
    districts : GeoDataFrame, optional
        District polygons (EPSG:4326) drawn as outlines under the meters,
        for orientation.
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
        flags,
        profiles,
        hotspots,
        review_url,
        score_breaks,
        cluster,
        max_profiles,
        min_zoom,
        districts,
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
    if districts is not None and len(districts):
        outlines = _district_outlines(districts)
        m.add_child(outlines)
        legend.append(
            LegendSection(
                "Districts", items=[("#555", "district boundary", "line:1.5")], layer=outlines
            )
        )
    if hotspots is not None and len(hotspots):
        hot = _hotspot_layer(hotspots)
        m.add_child(hot)
        m.add_child(_HotspotRings(hot, hotspots))
        legend.append(
            LegendSection(
                "Hotspots",
                items=[("#7b3294", "area with many flagged meters (click the ring)", "ring")],
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
    m.add_child(_MeterSearch(layer))
    legend.insert(
        0,
        LegendSection(
            "Detector score",
            classes=classes,
            shape="dot",
            note=(
                "Clusters: the number of meters, coloured by their mean score; "
                "a click zooms to them."
                if use_cluster
                else None
            ),
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


def _district_outlines(districts: gpd.GeoDataFrame) -> FeatureLayer:
    style = {"color": "#555", "weight": 1.5, "opacity": 0.8, "fill": False}
    return FeatureLayer(
        districts.geometry.reset_index(drop=True),
        styles=[style],
        style_index=[0] * len(districts),
        popup=False,
        tooltip_fields=None,
        interactive=False,  # orientation only: never in the way of a meter's click
        name="District outlines",
        pane=("wm-districts", 150),
    )


class _MeterSearch(MacroElement):
    """A search box on the map: a meter id or part of an address opens that meter.

    The search runs in the page over the data the map already holds (no
    request); the first match in rank order is shown, an exact meter id
    first. The answer ("not found" or the match's rank) is announced to
    screen readers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer_name }};
            var Search = L.Control.extend({
                // Bottom left: the top-left controls set how far popups pan clear of
                // them (webmap.padding), and a wide box there pushed popups off a phone.
                options: {position: "bottomleft"},
                onAdd: function () {
                    var box = L.DomUtil.create("form", "wm-search leaflet-bar");
                    box.setAttribute("role", "search");
                    box.style.background = "#fff";
                    box.style.padding = "2px";
                    var input = L.DomUtil.create("input", "wm-search-input", box);
                    input.type = "search";
                    input.name = "q";
                    input.maxLength = 100;
                    input.placeholder = "meter id or address";
                    input.setAttribute("aria-label", "Find a flagged meter by id or address");
                    input.style.width = "11em";
                    input.style.border = "0";
                    input.style.font = "inherit";
                    var note = L.DomUtil.create("span", "wm-search-note", box);
                    note.setAttribute("aria-live", "polite");
                    note.style.marginLeft = "4px";
                    L.DomEvent.disableClickPropagation(box);
                    L.DomEvent.disableScrollPropagation(box);
                    L.DomEvent.on(box, "submit", function (e) {
                        L.DomEvent.preventDefault(e);
                        var i = layer.wmFind(input.value);
                        note.textContent = i < 0 ? "not found" : "";
                    });
                    return box;
                }
            });
            new Search().addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer):
        super().__init__()
        self._name = "MeterSearch"
        self.layer = layer

    def render(self, **kwargs):
        self.layer_name = self.layer.get_name()
        super().render(**kwargs)


class _HotspotRings(MacroElement):
    """A ring of fixed size per hotspot, above the meters; a click opens the hotspot.

    A hotspot is a few hundred metres across, a few pixels at city zoom,
    under the meters it contains. The ring is an SVG circle whose stroke
    alone takes clicks (its inside lets them through to the meters), in a
    pane above the markers; it follows the hotspot layer on and off.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, hot = {{ this.layer }};
            var at = {{ this.points_json }};
            if (!map.getPane("wm-rings")) { map.createPane("wm-rings").style.zIndex = 620; }
            var rings = L.layerGroup();
            hot.getLayers().forEach(function (area, k) {
                var name = (area.feature.properties.h || "Hotspot");
                var ring = L.marker(at[k], {
                    pane: "wm-rings", keyboard: true, title: name,
                    icon: L.divIcon({
                        className: "wm-hotspot-icon", iconSize: L.point(38, 38),
                        html: '<svg width="38" height="38" viewBox="0 0 38 38">' +
                              '<circle cx="19" cy="19" r="15" fill="none" stroke="#7b3294" ' +
                              'stroke-width="4"/><circle cx="19" cy="19" r="15" fill="none" ' +
                              'stroke="transparent" stroke-width="10"/></svg>'
                    })
                });
                ring.on("add", function () {
                    var el = ring.getElement();
                    el.setAttribute("role", "button");
                    el.setAttribute("aria-label", "Hotspot: " + name);
                });
                ring.on("click", function () { area.openPopup(at[k]); });
                rings.addLayer(ring);
            });
            function sync() {
                if (map.hasLayer(hot)) { rings.addTo(map); } else { rings.remove(); }
            }
            map.on("overlayadd overlayremove", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: FeatureLayer, hotspots: gpd.GeoDataFrame):
        super().__init__()
        self._name = "HotspotRings"
        self.hot = layer
        pts = hotspots.geometry.reset_index(drop=True).representative_point()
        self.points_json = script_json([[round(p.y, 6), round(p.x, 6)] for p in pts])

    def render(self, **kwargs):
        self.layer = self.hot.get_name()
        super().render(**kwargs)


def _hotspot_layer(hotspots: gpd.GeoDataFrame) -> FeatureLayer:
    fields = ["Flagged meters"] + (["Total score"] if "total_score" in hotspots else [])
    n = pd.to_numeric(hotspots["n_flagged"], errors="coerce")
    values = [[format_value(v)] for v in n]
    if "total_score" in hotspots:
        for row, v in zip(values, hotspots["total_score"], strict=True):
            row.append(format_value(v, 1))
    names = hotspots["name"] if "name" in hotspots else pd.Series(["Hotspot"] * len(hotspots))
    style = {"color": "#7b3294", "weight": 3, "fillColor": "#c2a5cf", "fillOpacity": 0.25}
    return FeatureLayer(
        hotspots.geometry,
        styles=[style],
        style_index=[0] * len(hotspots),
        titles=names.tolist(),
        fields=fields,
        values=values,
        tooltip_fields=[0],
        name="Hotspots",
        # Only the outline takes clicks: the meters inside stay clickable.
        class_name="wm-hotspot-area",
    )
