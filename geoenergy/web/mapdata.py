"""What the small maps of the queue and the case page draw, and their score legend.

The maps are drawn by ``static/app.js`` from a JSON ``data-map`` attribute;
this module builds that JSON and the legend beside it from one list of score
classes, :data:`SCORE_CLASSES`, so the colours on the map and in the legend
cannot drift apart.

Scores of flagged meters crowd the top of [0, 1]; a continuous ramp drew
0.79 and 0.92 in nearly the same red. The classes are therefore narrow at
the top (0.05 wide above 0.8) and the colours are ColorBrewer's 7-class
YlOrRd, a sequential scheme whose neighbours stay distinguishable [1]_.
Classes are half-open (``0.85 - < 0.90``), so no score sits at two ends.

References
----------
.. [1] C. A. Brewer, M. Harrower, ColorBrewer 2.0, scheme YlOrRd, 7 classes,
   https://colorbrewer2.org
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

__all__ = ["SCORE_CLASSES", "ScoreClass", "map_data", "score_class", "score_legend"]


@dataclass(frozen=True)
class ScoreClass:
    """Scores from ``lo`` (inclusive) up to the next class's ``lo`` (exclusive)."""

    lo: float
    colour: str
    label: str


#: Score classes, highest first: ``(lo, colour, label)``.
SCORE_CLASSES: tuple[ScoreClass, ...] = (
    ScoreClass(0.95, "#b10026", "0.95 - 1.00"),
    ScoreClass(0.90, "#e31a1c", "0.90 - < 0.95"),
    ScoreClass(0.85, "#fc4e2a", "0.85 - < 0.90"),
    ScoreClass(0.80, "#fd8d3c", "0.80 - < 0.85"),
    ScoreClass(0.70, "#feb24c", "0.70 - < 0.80"),
    ScoreClass(0.50, "#fed976", "0.50 - < 0.70"),
    ScoreClass(0.00, "#ffffb2", "< 0.50"),
)


def score_class(score: float) -> int:
    """Index in :data:`SCORE_CLASSES` of a score in [0, 1]."""
    for i, c in enumerate(SCORE_CLASSES):
        if score >= c.lo:
            return i
    return len(SCORE_CLASSES) - 1


def score_legend(points: list[dict]) -> list[dict]:
    """The legend rows: every class, with how many of ``points`` fall in it."""
    counts = [0] * len(SCORE_CLASSES)
    for p in points:
        counts[p["cls"]] += 1
    return [
        {"colour": c.colour, "label": c.label, "n": n}
        for c, n in zip(SCORE_CLASSES, counts, strict=True)
    ]


def _point(meter_id, lon, lat, score, rank, url, **more) -> dict:
    score = round(float(score), 3)
    cls = score_class(score)
    return {
        "id": meter_id,
        "lon": lon,
        "lat": lat,
        "score": score,
        "rank": rank,
        "cls": cls,
        "colour": SCORE_CLASSES[cls].colour,
        "url": url,
        **more,
    }


def case_url(meter_id: str, run_id, extra: dict | None = None) -> str:
    """The case page of ``meter_id`` in run ``run_id``, with extra query parameters."""
    params = {"run": run_id} if run_id else {}
    params.update(extra or {})
    url = f"/cases/{quote(meter_id, safe='')}"
    return url + ("?" + urlencode(params) if params else "")


def queue_points(rows: list[dict], run_id: int, links: list[str]) -> list[dict]:
    """Map points of the queue's rows (with coordinates); ``links`` are their case URLs."""
    return [
        _point(r["meter_id"], r["lon"], r["lat"], r["score"], r["rank"], url, status=r["status"])
        for r, url in zip(rows, links, strict=True)
        if r.get("lon") is not None
    ]


def case_points(detail: dict) -> list[dict]:
    """Map points of a case's neighbours."""
    return [
        _point(
            n["meter_id"],
            n["lon"],
            n["lat"],
            n["score"],
            n["rank"],
            case_url(n["meter_id"], detail["run_id"]),
            flagged=bool(n["flagged"]),
        )
        for n in detail["neighbours"]
    ]


def map_data(web, points, hotspot=None, centre=None) -> dict | None:
    """The ``data-map`` JSON of a small map, or None when Leaflet is not installed."""
    if web.leaflet_dir is None:
        return None
    return {
        "tiles": web.tile_url,
        "attribution": web.tile_attribution,
        "points": points,
        "hotspot": hotspot,
        "centre": centre,
    }
