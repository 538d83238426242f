"""What every map shares: title and data date, attribution, legend, fit to data.

:class:`WebMap` is a :class:`folium.Map` that also carries what the site
publisher needs to know (its kind, title, summary, whether it holds personal
data, its tile URLs). The builders create one with :func:`new_map`, add
their layers and call :func:`finish`, which adds the legend, the layer
control, fits the view to the data and signals readiness.

In the page, ``window.webmap`` holds the map's Leaflet layers by name
(``webmap.layers[name]``) and sets ``webmap.ready = true`` (and fires a
``webmap:ready`` event on ``document``) when every data layer is drawn,
including the chunked loading of large marker clusters; the browser tests
and the benchmark wait for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, MacroElement
from folium.template import Template

from webmap.basemap import Basemap
from webmap.colors import Classes, Gradient
from webmap.markup import escape, script_json

SMALL_SCREEN = "(max-width: 700px)"
"""Media query of a phone: controls and legend start folded."""

DEFAULT_CENTER = (39.904, 116.407)
"""Map centre [deg lat, deg lon] when there is no data to fit (Tiananmen, Beijing)."""

_CDN = dict(folium.Map.default_js + folium.Map.default_css)

_RUNTIME_JS = """
window.webmap = window.webmap || {
  layers: {}, pending: 0, closed: false, ready: false,
  register: function (name, layer) { this.layers[name] = layer; },
  begin: function () { this.pending += 1; },
  done: function () { this.pending -= 1; this._check(); },
  close: function () { this.closed = true; this._check(); },
  _check: function () {
    if (this.closed && this.pending === 0 && !this.ready) {
      this.ready = true;
      document.dispatchEvent(new Event("webmap:ready"));
    }
  },
  // Popups and tooltips are built as DOM with textContent: data text is never HTML.
  el: function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  },
  table: function (title, labels, values, pick, missing) {
    var root = this.el("div");
    if (title !== undefined && title !== null && title !== "") {
      root.appendChild(this.el("div", "wm-popup-title", title));
    }
    if (pick.length) {
      var table = this.el("table", "wm-table");
      for (var j = 0; j < pick.length; j += 1) {
        var v = values[pick[j]], tr = this.el("tr");
        tr.appendChild(this.el("th", null, labels[pick[j]]));
        tr.appendChild(this.el("td", null, v === null || v === undefined ? missing : v));
        table.appendChild(tr);
      }
      root.appendChild(table);
    }
    return root;
  },
  // Popups stay readable: autopan keeps them clear of the title and the
  // top-left controls, and whatever still overlaps an open popup (title,
  // controls, legend) is hidden until it closes; tooltips too.
  padding: function (map) {
    var c = map.getContainer().getBoundingClientRect(), x = 10, y = 10;
    var title = document.querySelector(".wm-title");
    if (title && !title.classList.contains("wm-covered")) {
      y = Math.max(y, title.getBoundingClientRect().bottom - c.top + 8);
    }
    var left = map.getContainer().querySelector(".leaflet-top.leaflet-left");
    if (left) { x = Math.max(x, left.getBoundingClientRect().right - c.left + 6); }
    return [x, y];
  },
  guard: function (map) {
    var self = this, popup = null, container = map.getContainer();
    var small = window.matchMedia("(max-width: 700px)").matches;
    Object.defineProperty(L.Popup.prototype.options, "autoPanPaddingTopLeft", {
      configurable: true, get: function () { return self.padding(map); }
    });
    function overlaps(a, b) {
      return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    }
    function check() {
      var els = document.querySelectorAll(".wm-title, .leaflet-control");
      var el = popup && popup.getElement();
      var r = el && el.getBoundingClientRect();
      Array.prototype.forEach.call(els, function (e) {
        var hide = !!r && overlaps(e.getBoundingClientRect(), r);
        e.classList.toggle("wm-covered", hide);
      });
    }
    map.on("popupopen", function (e) {
      popup = e.popup;
      container.classList.add("wm-popup-open");
      check();
    });
    map.on("popupclose", function (e) {
      if (popup !== e.popup) { return; }
      popup = null;
      container.classList.remove("wm-popup-open");
      check();
    });
    map.on("moveend zoomend resize", check);
    // Phones: the title's details and the legend start folded.
    if (small) {
      Array.prototype.forEach.call(
        document.querySelectorAll("details.wm-title, details.wm-legend-box"),
        function (d) { d.open = false; });
    }
  }
};
"""

_CSS = """
.wm-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1000; background: rgba(255,255,255,0.92); padding: 6px 14px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 14px/1.3 system-ui, sans-serif;
  max-width: 55%; text-align: center; }
.wm-title summary { list-style: none; cursor: pointer; }
.wm-title summary::-webkit-details-marker { display: none; }
.wm-title h1 { font-size: 17px; margin: 0 0 2px 0; }
.wm-title .wm-sub { color: #444; font-size: 12px; }
.wm-covered { visibility: hidden !important; }
.wm-popup-open .leaflet-tooltip-pane { display: none; }
.wm-legend summary { font-weight: 600; cursor: pointer; font-size: 12px; }
@media (max-width: 700px) {
  .wm-title { left: 56px; right: 64px; transform: none; max-width: none; padding: 4px 8px;
    font-size: 12px; }
  .wm-title h1 { font-size: 14px; white-space: nowrap; overflow: hidden;
    text-overflow: ellipsis; margin: 0; }
  .wm-title[open] h1 { white-space: normal; }
  .wm-legend { max-width: 200px; max-height: 45vh; overflow: auto; }
}
.folium-map.leaflet-container { background: #f4f3ef; font: 13px/1.35 system-ui, sans-serif; }
.wm-legend { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 260px; font-size: 12px; }
.wm-legend h4 { margin: 4px 0 3px 0; font-size: 12px; }
.wm-legend .wm-item { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.wm-legend .wm-sw { width: 14px; height: 12px; border: 1px solid #777; flex: none; }
.wm-legend .wm-dot { width: 12px; height: 12px; border-radius: 50%; border: 1px solid #555;
  flex: none; }
.wm-legend .wm-line { width: 22px; flex: none; }
.wm-legend .wm-size { border-radius: 50%; border: 1.5px solid; flex: none; box-sizing: border-box;
  background: rgba(255,255,255,0.6); }
.wm-legend .wm-ring { width: 10px; height: 10px; border-radius: 50%; border: 3px solid;
  flex: none; }
.leaflet-marker-icon.wm-hotspot-icon.leaflet-interactive { pointer-events: none; }
.wm-hotspot-icon circle { pointer-events: stroke; cursor: pointer; }
.leaflet-pane > svg path.wm-hotspot-area.leaflet-interactive { pointer-events: stroke; }
.wm-legend .wm-bar { height: 10px; border: 1px solid #777; margin: 2px 0; }
.wm-legend .wm-ends { display: flex; justify-content: space-between; }
.wm-legend .wm-note { color: #555; margin-top: 4px; }
.wm-popup-title { font-weight: 600; margin-bottom: 4px; }
.wm-popup-title, .wm-table td, .wm-reasons li { overflow-wrap: anywhere; }
.leaflet-popup-content svg.wm-chart { max-width: 100%; height: auto; }
.wm-table { border-collapse: collapse; font-size: 12px; }
.wm-table th { text-align: left; font-weight: 500; color: #555; padding: 1px 8px 1px 0;
  vertical-align: top; }
.wm-table td { padding: 1px 0; }
.wm-reasons { margin: 4px 0 4px 16px; padding: 0; font-size: 12px; }
.wm-chart { margin-top: 4px; }
.wm-cluster { border-radius: 50%; text-align: center; color: #111; font-weight: 600;
  border: 2px solid rgba(0,0,0,0.45); box-sizing: border-box; }
"""


@dataclass
class LegendSection:
    """One block of the legend, shown while its layer is on the map.

    Parameters
    ----------
    title : str
        Heading (escaped).
    classes : Classes or Gradient, optional
        Colour classes (swatches) or a continuous ramp (bar with ends).
    items : list of (str, str, str)
        Extra ``(color, label, shape)`` rows; shape is ``"box"``, ``"dot"``,
        ``"ring"``, ``"line:<width>"`` (e.g. ``"line:4"``), ``"dash:<width>"``
        or ``"circle:<radius px>"`` (a size key: circles as large as on the map).
    note : str, optional
        A line of small print (escaped).
    layer : folium Layer, optional
        The section is visible only while this layer is on the map.
    shape : str
        Shape used for the swatches of ``classes``.
    hidden_with : folium Layer, optional
        The section is hidden while this layer is on the map (e.g. a
        choropleth drawn as outlines under another).
    """

    title: str
    classes: Classes | Gradient | None = None
    items: list[tuple[str, str, str]] = field(default_factory=list)
    note: str | None = None
    layer: Any = None
    shape: str = "box"
    hidden_with: Any = None

    def html(self) -> str:
        rows = [f"<h4>{escape(self.title)}</h4>"]
        if isinstance(self.classes, Classes):
            for color, label in zip(self.classes.colors, self.classes.labels(), strict=True):
                rows.append(_swatch(color, label, self.shape))
        elif isinstance(self.classes, Gradient):
            g = self.classes
            lo, hi = f"{g.vmin:,.{g.digits}f}", f"{g.vmax:,.{g.digits}f}"
            unit = f" {g.unit}" if g.unit else ""
            rows.append(f'<div class="wm-bar" style="background: {escape(g.css())}"></div>')
            rows.append(
                f'<div class="wm-ends"><span>{escape(lo)}</span>'
                f"<span>{escape(hi + unit)}</span></div>"
            )
        for color, label, shape in self.items:
            rows.append(_swatch(color, label, shape))
        if self.note:
            rows.append(f'<div class="wm-note">{escape(self.note)}</div>')
        return "".join(rows)


def _swatch(color: str, label: str, shape: str) -> str:
    c = escape(color)
    if shape == "dot":
        sw = f'<span class="wm-dot" style="background:{c}"></span>'
    elif shape.startswith("circle:"):  # a size key: a circle of that radius [px]
        d = 2 * float(shape.split(":")[1])
        sw = f'<span class="wm-size" style="width:{d:g}px;height:{d:g}px;border-color:{c}"></span>'
    elif shape == "ring":
        sw = f'<span class="wm-ring" style="border-color:{c}"></span>'
    elif shape.startswith(("line:", "dash:")):
        kind, width = shape.split(":")
        style = "dashed" if kind == "dash" else "solid"
        sw = f'<span class="wm-line" style="border-top:{float(width):g}px {style} {c}"></span>'
    else:
        sw = f'<span class="wm-sw" style="background:{c}"></span>'
    return f'<div class="wm-item">{sw}<span>{escape(label)}</span></div>'


class Legend(MacroElement):
    """A legend control (bottom right) whose sections follow their layers' visibility."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var control = L.control({position: "bottomright"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "wm-legend");
                // A <details> box: folded on phones (webmap.guard), a tap opens it.
                div.innerHTML = '<details class="wm-legend-box" open><summary>Legend</summary>' +
                    {{ this.html_json }} + "</details>";
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
            var links = [
            {%- for sec_id, layer, hidden in this.links %}
                [{{ sec_id|tojson }}, {{ layer.get_name() if layer else "null" }},
                 {{ hidden.get_name() if hidden else "null" }}],
            {%- endfor %}
            ];
            function sync() {
                links.forEach(function (l) {
                    var el = document.getElementById(l[0]);
                    if (!el) { return; }
                    var on = (!l[1] || map.hasLayer(l[1])) && !(l[2] && map.hasLayer(l[2]));
                    el.style.display = on ? "" : "none";
                });
            }
            map.on("overlayadd overlayremove baselayerchange", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[LegendSection]):
        super().__init__()
        self._name = "Legend"
        self.sections = list(sections)

    def render(self, **kwargs):
        parts, self.links = [], []
        for i, sec in enumerate(self.sections):
            sec_id = f"{self.get_name()}_{i}"
            parts.append(f'<div id="{sec_id}">{sec.html()}</div>')
            self.links.append((sec_id, sec.layer, sec.hidden_with))
        self.html_json = script_json("".join(parts))
        super().render(**kwargs)


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.html_json }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str):
        super().__init__()
        self._name = "Attribution"
        self.html_json = script_json(html)


class _FitView(MacroElement):
    """Fit the view to the data at once (no zoom animation: layers draw at the final zoom)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {padding: [20, 20], animate: false});
        {% endmacro %}
        """
    )

    def __init__(self, bounds):
        super().__init__()
        self._name = "FitView"
        self.bounds = bounds


class _Registry(MacroElement):
    """Registers every layer under its name and closes the readiness count."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- for name, var in this.entries %}
        webmap.register({{ name|tojson }}, {{ var }});
        {%- endfor %}
        webmap.map = {{ this._parent.get_name() }};
        webmap.close();
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "WebmapRegistry"

    def render(self, **kwargs):
        m = self._parent
        self.entries = [
            (c.layer_name, c.get_name())
            for c in m._children.values()
            if isinstance(c, folium.map.Layer)
        ]
        super().render(**kwargs)


class WebMap(folium.Map):
    """A :class:`folium.Map` that knows its kind, title and summary.

    Build one with :func:`new_map`. Attributes used by
    :func:`webmap.site.publish_site`: ``kind`` (a key of
    :data:`webmap.site.MAP_KINDS`), ``map_title``, ``data_date``,
    ``summary`` (``{label: value}``), ``personal_data`` (True for the
    enforcement map) and ``tile_urls`` (the configured tile URL templates).

    The page is folium's, except that it lets people zoom it with two
    fingers (folium's viewport forbids it: ``user-scalable=no``).
    """

    # folium 0.20's Map template with a viewport that allows pinch zoom.
    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <style>
                #{{ this.get_name() }} {
                    position: {{this.position}};
                    width: {{this.width[0]}}{{this.width[1]}};
                    height: {{this.height[0]}}{{this.height[1]}};
                    left: {{this.left[0]}}{{this.left[1]}};
                    top: {{this.top[0]}}{{this.top[1]}};
                }
                .leaflet-container { font-size: {{this.font_size}}; }
            </style>

            <style>html, body {
                width: 100%;
                height: 100%;
                margin: 0;
                padding: 0;
            }
            </style>

            <style>#map {
                position:absolute;
                top:0;
                bottom:0;
                right:0;
                left:0;
                }
            </style>

            <script>
                L_NO_TOUCH = {{ this.global_switches.no_touch |tojson}};
                L_DISABLE_3D = {{ this.global_switches.disable_3d|tojson }};
            </script>

        {% endmacro %}

        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }} ></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{this.options|tojavascript}}

                }
            );

            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}

            {%- if this.zoom_control_position %}
            L.control.zoom( { position: {{ this.zoom_control|tojson }} } ).addTo({{ this.get_name() }});
            {%- endif %}

            {% if this.objects_to_stay_in_front %}
            function objects_in_front() {
                {%- for obj in this.objects_to_stay_in_front %}
                    {{ obj.get_name() }}.bringToFront();
                {%- endfor %}
            };
            {{ this.get_name() }}.on("overlayadd", objects_in_front);
            objects_in_front();
            {%- endif %}

        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        kind: str,
        title: str,
        data_date=None,
        basemap: Basemap | None = None,
        personal_data: bool = False,
    ):
        super().__init__(
            location=list(DEFAULT_CENTER),
            zoom_start=10,
            tiles=None,
            control_scale=True,
        )
        # Marker clustering needs the map's maxZoom (folium only passes its
        # max_zoom to a tile layer); match the tile server's.
        self.options["max_zoom"] = basemap.max_zoom if basemap else 19
        # Only Leaflet: these maps use no jQuery, Bootstrap or icon fonts, and
        # a published site copies every linked file.
        self.default_js = [("leaflet", _CDN["leaflet"])]
        self.default_css = [("leaflet_css", _CDN["leaflet_css"])]
        self.kind = kind
        self.map_title = title
        self.data_date = data_date
        self.personal_data = personal_data
        self.summary: dict[str, Any] = {}
        self.tile_urls: tuple[str, ...] = basemap.urls if basemap else ()


def format_date(value) -> str:
    """ISO date text of a date, datetime, Timestamp or string (``""`` for None)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def new_map(
    *,
    kind: str,
    title: str,
    data_date=None,
    attribution: str | None = None,
    basemap: Basemap | None = None,
    subtitle: str | None = None,
    personal_data: bool = False,
) -> WebMap:
    """A map with title, data date, attribution, scale bar and optional basemap.

    Parameters
    ----------
    kind : str
        Which map this is (``"enforcement"``, ``"officials"``, ``"wasteheat"``).
    title : str
        Shown at the top of the map (escaped).
    data_date : date, datetime or str, optional
        Date of the data shown ("Data as of ...").
    attribution : str, optional
        Data sources as plain text (escaped), added to the attribution line.
    basemap : Basemap, optional
        Tile layer; None gives a plain background.
    subtitle : str, optional
        A second line under the title (escaped).
    personal_data : bool
        True when the map shows addresses (the enforcement map).
    """
    _check_new_map(title, basemap)
    m = WebMap(
        kind=kind, title=title, data_date=data_date, basemap=basemap, personal_data=personal_data
    )
    root = m.get_root()
    root.header.add_child(Element(f"<script>{_RUNTIME_JS}</script>"), name="webmap_runtime")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="webmap_css")
    lines = [f"<summary><h1>{escape(title)}</h1></summary>"]
    date = format_date(data_date)
    if date:
        lines.append(f'<div class="wm-sub">Data as of {escape(date)}</div>')
    if subtitle:
        lines.append(f'<div class="wm-sub">{escape(subtitle)}</div>')
    # A <details> box: open on a desktop, folded to the title line on a phone
    # (webmap.guard), where a tap opens it.
    root.html.add_child(
        Element(f'<details class="wm-title" open>{"".join(lines)}</details>'), name="title"
    )
    root.title = escape(title)  # the page <title>; branca does not escape it
    if basemap is not None:
        basemap.add_to(m)
    text = "GeoEnergy" + (f" | Data: {attribution}" if attribution else "")
    m.add_child(_Attribution(escape(text)))
    return m


def _check_new_map(title, basemap) -> None:
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"title must be non-empty text, got {title!r}.")
    if basemap is not None and not isinstance(basemap, Basemap):
        raise TypeError(
            f"basemap must be a webmap.Basemap or None, got {type(basemap).__name__}; "
            "wrap a tile URL as Basemap(url, attribution=...)."
        )


def check_wgs84(gdf: gpd.GeoDataFrame, label: str) -> None:
    """Raise unless ``gdf`` is in EPSG:4326 (the maps draw lon/lat as given)."""
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError(
            f"{label} must be in EPSG:4326 (lon/lat), got crs={gdf.crs}; "
            f"use {label}.to_crs(4326) (or set_crs(4326) if the coordinates already are)."
        )


def total_bounds(frames: Sequence[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` [deg] of all non-empty frames, or None."""
    boxes = [
        f.total_bounds
        for f in frames
        if f is not None and len(f) and not f.geometry.is_empty.all()
    ]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    b = np.vstack(boxes)
    return [
        [float(b[:, 1].min()), float(b[:, 0].min())],
        [float(b[:, 3].max()), float(b[:, 2].max())],
    ]


def finish(
    m: WebMap,
    *,
    bounds: list[list[float]] | None,
    legend: Sequence[LegendSection] = (),
    layer_control: bool = True,
) -> WebMap:
    """Add legend and layer control, fit the view to ``bounds``, close readiness."""
    if bounds is not None:
        (s, w), (n, e) = bounds
        if s == n and w == e:  # a single point: pad so the view is not zoomed to the max
            s, w, n, e = s - 0.01, w - 0.01, n + 0.01, e + 0.01
        fit = _FitView([[s, w], [n, e]])
        m.add_child(fit)
        # Fit before any layer is added: no tiles are requested (and cancelled)
        # at the placeholder view, and clusters are computed once, at the final zoom.
        m._children.move_to_end(fit.get_name(), last=False)
    if legend:
        m.add_child(Legend(legend))
    if layer_control:
        m.add_child(_LayerControl())
    m.add_child(_Guard())
    m.add_child(_Registry())
    return m


class _LayerControl(folium.LayerControl):
    """The layer control: open on a desktop, a button on a phone (it would hide the map)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control.layers(
            {
            {%- for key, val in this.base_layers.items() %}
                {{ key|tojson }}: {{ val }},
            {%- endfor %}
            },
            {
            {%- for key, val in this.overlays.items() %}
                {{ key|tojson }}: {{ val }},
            {%- endfor %}
            },
            {position: "topright", autoZIndex: true,
             collapsed: window.matchMedia({{ this.small|tojson }}).matches}
        ).addTo({{ this._parent.get_name() }});
        (function (c) {
            webmap.layerControl = c;
            if (!c.options.collapsed) { return; }
            // On a phone a tap opens it and a tap on the map folds it; the mouse
            // events a touch screen makes up would open and fold it at random.
            L.DomEvent.off(c.getContainer(), {mouseenter: c._expandSafely, mouseleave: c.collapse}, c);
        })({{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__(position="topright", collapsed=False)
        self.small = SMALL_SCREEN


class _Guard(MacroElement):
    """Keeps popups above the title and controls (see ``webmap.guard``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        webmap.guard({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "Guard"
