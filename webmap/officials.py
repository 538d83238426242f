"""The officials' map: aggregated mining hotspots and PUE compliance.

No addresses and no single meters: only district and grid-cell aggregates,
and data centres (which are facilities, not households). Only the columns
listed below are read, so nothing else in the input frames can leak into
the page. Counts below ``min_count`` are suppressed here even when the
input says they are not: such a count is never written into the HTML, and
neither is the energy of a suppressed count, nor a total from which a
suppressed count could be worked out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from webmap.basemap import Basemap
from webmap.colors import SUPPRESSED_COLOR, Classes
from webmap.features import FeatureLayer
from webmap.frame import LegendSection, WebMap, check_wgs84, finish, new_map, total_bounds
from webmap.markup import format_value

COUNT_COLUMNS = ("n_meters", "n_flagged", "n_confirmed")
"""Count columns of ``districts`` and ``hexagons``; each is suppressed below ``min_count``."""

AREA_COLUMNS = (*COUNT_COLUMNS, "flagged_mwh", "suppressed")
"""Columns ``districts`` and ``hexagons`` must have (districts also ``name``)."""

DATA_CENTRE_COLUMNS = ("name", "pue", "pue_limit", "compliant", "excess_mwh")
"""Columns of ``data_centres`` on this map."""

METRICS = {
    # column: (layer name, ramp, unit, digits)
    "n_flagged": ("Flagged meters", "YlOrRd", "", 0),
    "n_confirmed": ("Confirmed mining", "Purples", "", 0),
    "flagged_mwh": ("Flagged energy [MWh]", "OrRd", "MWh", 0),
}
"""District choropleth layers by column; the first is shown when the map opens."""

DISTRICT_PANE = ("wm-districts", 150)
"""Pane of the district choropleths, below the grid and under points and lines."""

CELL_PANE = ("wm-cells", 160)
"""Pane of the grid cells, above the districts."""

MIN_COUNT = 5
"""Default minimum count shown; smaller counts are suppressed."""

AREA_FIELDS = ["Meters", "Flagged meters", "Confirmed mining", "Flagged energy"]
"""Popup rows of districts and grid cells."""

FIELD_OF = {
    "n_meters": "Meters",
    "n_flagged": "Flagged meters",
    "n_confirmed": "Confirmed mining",
    "flagged_mwh": "Flagged energy",
}
"""Popup row of each column."""


def suppress(frame: pd.DataFrame, min_count: int = MIN_COUNT) -> pd.DataFrame:
    """Counts and energy with suppressed values set to NaN.

    A value is suppressed when the row's ``suppressed`` is true, or the
    count is missing or between 1 and ``min_count - 1``. Zero is shown only
    in a row without such a small count: "no flagged meter among 11" is
    published, but "no flagged meter among these three" is a statement
    about three households, and "none confirmed" beside a hidden flagged
    count would narrow it down. ``flagged_mwh`` follows ``n_flagged``.

    Parameters
    ----------
    frame : DataFrame
        With :data:`COUNT_COLUMNS`, ``flagged_mwh`` and ``suppressed``.
    min_count : int
        Smallest count that may be shown.

    Returns
    -------
    DataFrame
        :data:`COUNT_COLUMNS` and ``flagged_mwh`` as float, NaN where suppressed.
    """
    row = frame["suppressed"].fillna(False).astype(bool).to_numpy()
    counts = {c: pd.to_numeric(frame[c], errors="coerce").astype(float) for c in COUNT_COLUMNS}
    small = np.zeros(len(frame), dtype=bool)
    for v in counts.values():
        small |= (v.isna() | ((v > 0) & (v < min_count))).to_numpy()
    out = pd.DataFrame(index=frame.index)
    for col, v in counts.items():
        out[col] = v.where(~row & ((v >= min_count) | ((v == 0) & ~small)))
    mwh = pd.to_numeric(frame["flagged_mwh"], errors="coerce").astype(float)
    out["flagged_mwh"] = mwh.where(out["n_flagged"].notna())
    return out


def _check_area_frame(gdf, label: str, need_name: bool) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{label} must be a GeoDataFrame of polygons, got {type(gdf).__name__}.")
    need = (("name",) if need_name else ()) + AREA_COLUMNS
    missing = [c for c in need if c not in gdf.columns]
    if missing:
        raise ValueError(f"{label} lacks columns {missing}; it needs {list(need)}.")
    check_wgs84(gdf, label)
    kinds = set(gdf.geom_type.dropna().unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise ValueError(
            f"{label} must hold polygons (areas), got {sorted(kinds)}; the officials' map "
            "never shows single meters: aggregate points to districts or grid cells first."
        )


def _check_officials_map(districts, hexagons, data_centres, min_count) -> None:
    _check_area_frame(districts, "districts", need_name=True)
    if hexagons is not None:
        _check_area_frame(hexagons, "hexagons", need_name=False)
    if data_centres is not None:
        if not isinstance(data_centres, gpd.GeoDataFrame):
            raise TypeError(
                f"data_centres must be a GeoDataFrame, got {type(data_centres).__name__}."
            )
        missing = [c for c in DATA_CENTRE_COLUMNS if c not in data_centres.columns]
        if missing:
            raise ValueError(
                f"data_centres lacks columns {missing}; it needs {list(DATA_CENTRE_COLUMNS)}."
            )
        check_wgs84(data_centres, "data_centres")
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer):
        raise TypeError(f"min_count must be an int, got {type(min_count).__name__}.")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}.")


def officials_map(
    districts: gpd.GeoDataFrame,
    *,
    hexagons: gpd.GeoDataFrame | None = None,
    data_centres: gpd.GeoDataFrame | None = None,
    min_count: int = MIN_COUNT,
    title: str = "Crypto-mining enforcement and data-centre PUE",
    data_date=None,
    attribution: str | None = None,
    basemap: Basemap | None = None,
) -> WebMap:
    """The officials' map: district choropleths, a grid layer and PUE compliance.

    Parameters
    ----------
    districts : GeoDataFrame
        Polygons in EPSG:4326 with ``name``, ``n_meters``, ``n_flagged``,
        ``n_confirmed`` (counts), ``flagged_mwh`` (energy of the flagged
        meters [MWh]) and ``suppressed`` (bool).
    hexagons : GeoDataFrame, optional
        Grid cells (polygons) with the same counts, ``flagged_mwh`` and
        ``suppressed``.
    data_centres : GeoDataFrame, optional
        Points with ``name``, ``pue`` (power usage effectiveness [-]),
        ``pue_limit`` (the applicable limit [-]), ``compliant`` (bool) and
        ``excess_mwh`` (energy above what the limit allows [MWh]).
    min_count : int
        Counts below this are suppressed (default 5).
    title, data_date, attribution, basemap
        See :func:`webmap.frame.new_map`.

    Returns
    -------
    WebMap
    """
    _check_officials_map(districts, hexagons, data_centres, min_count)
    m = new_map(
        kind="officials",
        title=title,
        data_date=data_date,
        attribution=attribution,
        basemap=basemap,
        subtitle=f"Aggregated; counts below {min_count} are suppressed.",
    )
    districts = districts.reset_index(drop=True)
    shown = suppress(districts, min_count)
    missing = f"suppressed (< {min_count})"
    rows = _area_values(shown)
    legend, choropleths = [], []
    for k, (col, (label, ramp, unit, digits)) in enumerate(METRICS.items()):
        classes = _classes(shown[col], ramp, unit, digits)
        # Base layers (radio buttons): one district choropleth at a time, so two
        # never blend into colours no legend explains.
        layer = _area_layer(
            districts.geometry,
            shown[col].to_numpy(),
            classes,
            titles=districts["name"].tolist(),
            rows=rows,
            tooltip_fields=[AREA_FIELDS.index(FIELD_OF[col])],
            missing=missing,
            name=f"Districts: {label}",
            show=(k == 0),
            overlay=False,
            pane=DISTRICT_PANE,
        )
        m.add_child(layer)
        choropleths.append(layer)
        legend.append(
            LegendSection(
                f"{label} by district",
                classes=classes,
                items=_suppressed_item(shown[col], missing),
                note=_suppressed_note(shown[col]),
                layer=layer,
            )
        )
    if hexagons is not None and len(hexagons):
        hexagons = hexagons.reset_index(drop=True)
        hshown = suppress(hexagons, min_count)
        classes = Classes.for_counts(hshown["n_flagged"], "YlOrRd")
        layer = _area_layer(
            hexagons.geometry,
            hshown["n_flagged"].to_numpy(),
            classes,
            titles=None,
            rows=_area_values(hshown),
            tooltip_fields=[AREA_FIELDS.index("Flagged meters")],
            missing=missing,
            name="Grid cells: flagged meters",
            show=False,
            weight=0.5,
            pane=CELL_PANE,
        )
        m.add_child(layer)
        legend.append(
            LegendSection(
                "Flagged meters per grid cell",
                classes=classes,
                items=_suppressed_item(hshown["n_flagged"], missing),
                note=_suppressed_note(hshown["n_flagged"]),
                layer=layer,
            )
        )
        # Over the grid, districts are drawn as outlines (their legend hides):
        # again one choropleth at a time.
        m.add_child(_OutlinesUnder(choropleths, layer))
        for sec in legend[: len(choropleths)]:
            sec.hidden_with = layer
    if data_centres is not None and len(data_centres):
        layer = _pue_layer(data_centres.reset_index(drop=True))
        m.add_child(layer)
        legend.append(
            LegendSection(
                "Data-centre PUE",
                items=[
                    ("#1a9641", "meets the PUE limit", "dot"),
                    ("#d7191c", "above the PUE limit", "dot"),
                    ("#969696", "unknown", "dot"),
                ],
                layer=layer,
            )
        )
    m.summary = _summary(districts, shown, data_centres, min_count)
    return finish(m, bounds=total_bounds([districts, hexagons, data_centres]), legend=legend)


def _classes(values, ramp: str, unit: str, digits: int) -> Classes:
    """Integer classes for counts, half-open ones for energy: no two share an end."""
    if unit:
        return Classes.equal_interval(values, ramp, unit=unit, digits=digits, style="half_open")
    return Classes.for_counts(values, ramp)


SUPPRESSED_NOTE = (
    "Grey areas hide a small count, or are hidden so that one cannot be worked out by subtraction."
)
"""Legend note under a layer with suppressed areas (see :mod:`layers.aggregate`)."""


def _suppressed_note(values) -> str | None:
    return SUPPRESSED_NOTE if pd.isna(np.asarray(values, dtype=float)).any() else None


def _suppressed_item(values, missing: str) -> list[tuple[str, str, str]]:
    """The grey legend row, when the layer has a suppressed area."""
    if not pd.isna(np.asarray(values, dtype=float)).any():
        return []
    return [(SUPPRESSED_COLOR, missing, "box")]


class _OutlinesUnder(MacroElement):
    """Draw the district choropleths as outlines while ``over`` (the grid) is on."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var districts = [{{ this.names|join(", ") }}], over = {{ this.over }};
            function sync() {
                var on = map.hasLayer(over);
                districts.forEach(function (l) {
                    if (map.hasLayer(l)) { l.setStyle({fill: !on}); }
                });
            }
            map.on("overlayadd overlayremove baselayerchange", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers, over):
        super().__init__()
        self._name = "OutlinesUnder"
        self.layers, self.over_layer = list(layers), over

    def render(self, **kwargs):
        self.names = [layer.get_name() for layer in self.layers]
        self.over = self.over_layer.get_name()
        super().render(**kwargs)


def _area_values(shown: pd.DataFrame) -> list[list[str | None]]:
    """Display texts of :data:`AREA_FIELDS` per row; None where suppressed."""
    units = {"flagged_mwh": "MWh"}
    return [
        [None if np.isnan(v) else format_value(v, 0, units.get(c, "")) for c, v in row.items()]
        for row in shown[list(FIELD_OF)].to_dict("records")
    ]


def _area_layer(
    geometry,
    values,
    classes,
    *,
    titles,
    rows,
    tooltip_fields,
    missing,
    name,
    show,
    weight=1.0,
    overlay=True,
    pane=None,
) -> FeatureLayer:
    idx = classes.index(values)  # -1 = suppressed
    styles = [
        {"color": "#555", "weight": weight, "fillColor": c, "fillOpacity": 0.7}
        for c in classes.colors
    ]
    styles.append(
        {"color": "#777", "weight": weight, "fillColor": SUPPRESSED_COLOR, "fillOpacity": 0.45}
    )
    return FeatureLayer(
        geometry,
        styles=styles,
        style_index=np.where(idx >= 0, idx, len(styles) - 1),
        titles=titles,
        fields=AREA_FIELDS,
        values=rows,
        tooltip_fields=tooltip_fields,
        missing=missing,
        name=name,
        show=show,
        overlay=overlay,
        pane=pane,
    )


def _pue_layer(dc: gpd.GeoDataFrame) -> FeatureLayer:
    geom = dc.geometry.where(dc.geom_type == "Point", dc.geometry.representative_point())
    style_index = [2 if pd.isna(v) else (0 if bool(v) else 1) for v in dc["compliant"]]
    styles = [
        {"color": "#333", "weight": 1, "fillColor": c, "fillOpacity": 0.9, "radius": 8}
        for c in ("#1a9641", "#d7191c", "#969696")
    ]
    return FeatureLayer(
        geom,
        styles=styles,
        style_index=style_index,
        titles=dc["name"].tolist(),
        fields=["PUE", "PUE limit", "Meets the limit", "Energy above the limit"],
        values=[
            [
                format_value(r.pue, 2),
                format_value(r.pue_limit, 2),
                format_value(r.compliant),
                format_value(r.excess_mwh, 0, "MWh"),
            ]
            for r in dc[list(DATA_CENTRE_COLUMNS)].itertuples(index=False)
        ],
        name="Data centres: PUE compliance",
    )


def _summary(districts, shown, data_centres, min_count) -> dict:
    n_supp = int(shown["n_flagged"].isna().sum())
    out = {
        "Districts": format_value(len(districts)),
        "Flagged meters (districts shown)": format_value(shown["n_flagged"].sum(min_count=1)),
        "Confirmed mining (districts shown)": format_value(shown["n_confirmed"].sum(min_count=1)),
        "Flagged energy (districts shown)": format_value(
            shown["flagged_mwh"].sum(min_count=1), 0, "MWh"
        ),
        f"Districts suppressed (< {min_count})": format_value(n_supp),
    }
    if data_centres is not None:
        c = data_centres["compliant"]
        out["Data centres above the PUE limit"] = format_value(int((c == False).sum()))  # noqa: E712
        out["Data centres"] = format_value(len(data_centres))
    return out
