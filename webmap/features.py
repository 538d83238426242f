"""A compact GeoJSON layer with per-feature style, popup and tooltip.

:class:`FeatureLayer` embeds a GeoDataFrame's geometry (coordinates rounded
to 1e-6 deg, about 0.1 m) with a small shared style table. Popups and
tooltips are tables built in the browser from the layer's field labels and
each feature's display values, with ``textContent``: no text from the data
is ever parsed as HTML, and each feature carries only its values (a few
dozen bytes), not a copy of the table markup. It is a folium ``Layer``, so
it appears in the layer control.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from folium.map import Layer
from folium.template import Template

from webmap.markup import is_missing, script_json

COORD_DECIMALS = 6
"""Decimals kept of lon/lat [deg]; 1e-6 deg is about 0.1 m."""


def geometry_json(geoms: gpd.GeoSeries) -> list[str]:
    """GeoJSON text of each geometry, coordinates rounded to :data:`COORD_DECIMALS`.

    The text holds only numbers and GeoJSON keywords, so it is safe inside
    a ``<script>``.
    """
    arr = np.asarray(geoms.values, dtype=object)
    rounded = shapely.transform(arr, lambda xy: np.round(xy, COORD_DECIMALS))
    return list(shapely.to_geojson(rounded))


class FeatureLayer(Layer):
    """Features of one GeoDataFrame as a Leaflet GeoJSON layer.

    Parameters
    ----------
    geometry : GeoSeries
        Geometries in EPSG:4326; points are drawn as circle markers (pixel
        radius) or, with ``radius_m``, as circles of that radius [m].
    styles : list of dict
        Leaflet path options (``color``, ``weight``, ``fillColor``,
        ``fillOpacity``, ``dashArray``, ``radius``...), shared by index.
    style_index : sequence of int
        Index into ``styles`` of each feature.
    titles : sequence of str, optional
        Heading of each feature's popup and tooltip (shown as text).
    fields : sequence of str
        Row labels of the popup table.
    values : sequence of sequence, optional
        Per feature, one display text per field (format numbers with
        :func:`webmap.markup.format_value` first); None shows ``missing``.
    tooltip_fields : sequence of int, optional
        Fields shown in the tooltip under the title; None: no tooltip.
    popup : bool
        Bind a popup with the title and all fields.
    missing : str
        Text shown for a None value (e.g. "suppressed (< 5)").
    radius_px : sequence of float, optional
        Circle-marker radius per point [px], overriding the style's.
    radius_m : sequence of float, optional
        Circle radius per point [m]: the point becomes an ``L.circle``.
    name : str
        Name in the layer control.
    show : bool
        Whether the layer is on when the map opens.
    overlay : bool
        An overlay (a checkbox in the layer control) or a base layer (a
        radio button: one base layer at a time, e.g. one choropleth).
    pane : (str, int), optional
        ``(name, z-index)`` of a pane inside the overlay pane to draw in;
        areas go in a low one so points and lines stay above them.
    interactive : bool
        False: no popup, tooltip or click (e.g. outlines for orientation).
    class_name : str, optional
        CSS class of every drawn feature.

    Each drawn feature with a title is named for screen readers
    (``aria-label``: the title); features without one are kept out of the
    keyboard's tab order.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var styles = {{ this.styles_json }};
            var spec = {{ this.spec_json }};
            var data = {{ this.data_json }};
            var all = spec.fields.map(function (f, k) { return k; });
            var map = {{ this._parent.get_name() }};
            if (spec.pane && !map.getPane(spec.pane[0])) {
                map.createPane(spec.pane[0], map.getPane("overlayPane")).style.zIndex = spec.pane[1];
            }
            function look(f) {
                var s = Object.assign({}, styles[f.properties.s]);
                if (spec.pane) { s.pane = spec.pane[0]; }
                if (!spec.interactive) { s.interactive = false; }
                return s;
            }
            function content(f, pick) {
                return function () {
                    var p = f.properties;
                    return webmap.table(p.h, spec.fields, p.v || [], pick, spec.missing);
                };
            }
            return L.geoJSON(data, {
                pane: spec.pane ? spec.pane[0] : "overlayPane",
                className: spec.class_name || "",
                interactive: spec.interactive,
                style: look,
                pointToLayer: function (f, latlng) {
                    var s = look(f);
                    if (f.properties.r != null) { s.radius = f.properties.r; return L.circle(latlng, s); }
                    if (f.properties.pr != null) { s.radius = f.properties.pr; }
                    return L.circleMarker(latlng, s);
                },
                onEachFeature: function (f, layer) {
                    layer.on("add", function () {
                        var el = layer.getElement && layer.getElement();
                        if (!el) { return; }
                        if (spec.interactive && f.properties.h) {
                            el.setAttribute("aria-label", f.properties.h);
                        } else {
                            el.setAttribute("tabindex", "-1");
                            el.setAttribute("aria-hidden", "true");
                        }
                    });
                    if (!spec.interactive) { return; }
                    if (spec.popup) {
                        // Narrower on a phone, so it fits beside the zoom buttons.
                        var w = Math.max(200, Math.min(380, map.getSize().x - 120));
                        layer.bindPopup(content(f, all), {maxWidth: w});
                    }
                    if (spec.tooltip) {
                        layer.bindTooltip(content(f, spec.tooltip_fields), {sticky: true});
                    }
                }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        geometry: gpd.GeoSeries,
        *,
        styles: Sequence[dict],
        style_index: Sequence[int],
        titles: Sequence | None = None,
        fields: Sequence[str] = (),
        values: Sequence[Sequence] | None = None,
        tooltip_fields: Sequence[int] | None = (),
        popup: bool = True,
        missing: str = "\u2013",
        radius_px: Sequence[float] | None = None,
        radius_m: Sequence[float] | None = None,
        name: str,
        show: bool = True,
        overlay: bool = True,
        pane: tuple[str, int] | None = None,
        interactive: bool = True,
        class_name: str | None = None,
    ):
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self._name = "FeatureLayer"
        n = len(geometry)
        for label, seq in (
            ("style_index", style_index),
            ("titles", titles),
            ("values", values),
            ("radius_px", radius_px),
            ("radius_m", radius_m),
        ):
            if seq is not None and len(seq) != n:
                raise ValueError(f"{label} has {len(seq)} values for {n} geometries.")
        if values is not None and any(len(v) != len(fields) for v in values):
            raise ValueError(f"every row of values needs {len(fields)} entries (one per field).")
        self.n_features = n
        self.fields = list(fields)
        self.styles_json = script_json(list(styles))
        self.spec_json = script_json(
            {
                "fields": self.fields,
                "popup": bool(popup),
                "tooltip": tooltip_fields is not None,
                "tooltip_fields": list(tooltip_fields or ()),
                "missing": missing,
                "pane": list(pane) if pane else None,
                "interactive": bool(interactive),
                "class_name": class_name,
            }
        )
        parts = []
        for i, geom in enumerate(geometry_json(geometry)):
            props: dict = {"s": int(style_index[i])}
            if titles is not None and not is_missing(titles[i]):
                props["h"] = str(titles[i])
            if values is not None:
                props["v"] = [None if is_missing(v) else str(v) for v in values[i]]
            if radius_px is not None:
                props["pr"] = round(float(radius_px[i]), 1)
            if radius_m is not None:
                props["r"] = round(float(radius_m[i]), 1)
            parts.append(
                f'{{"type":"Feature","geometry":{geom},"properties":{script_json(props)}}}'
            )
        self.data_json = '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"

    def rows(self, i: int) -> tuple[str | None, dict[str, str | None]]:
        """Title and ``{label: value}`` of feature ``i``, as its popup shows them."""
        props = json.loads(self.data_json)["features"][i]["properties"]
        return props.get("h"), dict(zip(self.fields, props.get("v", []), strict=False))
