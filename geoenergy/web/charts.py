"""Small server-rendered SVG line charts for the case page.

No JavaScript and no chart library: the page stays fast and works under a
strict Content-Security-Policy. Every text that goes into the SVG (titles,
labels) is escaped here; the result is returned as
:class:`markupsafe.Markup` so templates insert it as is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

import numpy as np
from markupsafe import Markup

__all__ = ["line_chart", "nice_ticks"]

_PAD = {"left": 56, "right": 16, "top": 28, "bottom": 36}


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if not hi - lo > max(abs(lo), abs(hi), 1e-300) * 1e-9:
        # A flat (or numerically flat) series: show a band around it.
        hi = lo + max(abs(lo), 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k0, k1 = math.floor(lo / step), math.ceil(hi / step)
    ticks = [round(k * step, 10) for k in range(k0, k1 + 1)]
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"
    return f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}".rstrip("0").rstrip(".")


def _as_numbers(x: Sequence) -> tuple[np.ndarray, str]:
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[s]").astype(np.int64).astype(float), "time"
    if arr.dtype == object and len(arr) and isinstance(arr[0], dt.date | dt.datetime):
        conv = np.array(
            [
                np.datetime64(
                    v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
                )
                for v in arr
            ]
        )
        return conv.astype("datetime64[s]").astype(np.int64).astype(float), "time"
    return arr.astype(float), "number"


def _time_ticks(x0: float, x1: float, n: int = 7) -> list[tuple[float, str]]:
    days = (x1 - x0) / 86400
    if days <= 3:
        step_h = max(1, math.ceil(days * 24 / n))
        for nice in (1, 2, 3, 6, 12, 24):
            if nice >= step_h:
                step_h = nice
                break
        start = math.ceil(x0 / (step_h * 3600)) * step_h * 3600
        out = []
        t = start
        while t <= x1:
            stamp = dt.datetime.fromtimestamp(t, dt.UTC)
            out.append((t, stamp.strftime("%m-%d %H:%M")))
            t += step_h * 3600
        return out
    step_d = max(1, math.ceil(days / n))
    for nice in (1, 2, 7, 14, 30, 61, 91, 182, 365):
        if nice >= step_d:
            step_d = nice
            break
    start = math.ceil(x0 / 86400) * 86400
    out = []
    t = start
    while t <= x1:
        stamp = dt.datetime.fromtimestamp(t, dt.UTC)
        out.append((t, stamp.strftime("%Y-%m-%d" if step_d >= 30 else "%m-%d")))
        t += step_d * 86400
    return out


def line_chart(
    x: Sequence,
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    y_label: str,
    marker: tuple[object, str] | None = None,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    width: int = 720,
    height: int = 220,
) -> Markup:
    """An SVG line chart; NaN values leave gaps.

    Parameters
    ----------
    x : sequence
        Shared x values: numbers, ``numpy.datetime64`` or dates. Times are
        drawn as given (pass local wall-clock times for local labels).
    series : sequence of (label, values)
        One line per entry, styled by the CSS classes ``series-0``, ``series-1`` ...
    title, y_label : str
        Chart title and y-axis label (with the unit in brackets, e.g. ``"load [kW]"``).
    marker : (x value, label), optional
        A vertical line, e.g. the onset date of suspicious load.
    x_ticks : sequence of (x value, label), optional
        Explicit x ticks (numbers); default: chosen from the data.
    width, height : int
        Size of the drawing. [px]

    Returns
    -------
    markupsafe.Markup
        ``<svg ...>`` with ``role="img"`` and a ``<title>`` for screen readers.
    """
    xs, kind = _as_numbers(x)
    ys = [np.asarray(v, dtype=float) for _, v in series]
    for (label, _), y in zip(series, ys, strict=True):
        if len(y) != len(xs):
            raise ValueError(
                f"series {label!r} has {len(y)} values but x has {len(xs)}; pass equal lengths."
            )
    w_in = width - _PAD["left"] - _PAD["right"]
    h_in = height - _PAD["top"] - _PAD["bottom"]
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{_PAD["left"]}" y="16">{escape(title)}</text>',
    ]
    finite = [y[np.isfinite(y)] for y in ys]
    if not len(xs) or not any(len(f) for f in finite):
        parts.append(
            f'<text class="chart-empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
            f'text-anchor="middle">no complete readings in this period</text></svg>'
        )
        return Markup("".join(parts))
    x0, x1 = float(np.nanmin(xs)), float(np.nanmax(xs))
    if x1 == x0:
        x1 = x0 + 1
    y_hi = max(float(f.max()) for f in finite if len(f))
    y_lo = min(0.0, min(float(f.min()) for f in finite if len(f)))
    yt = nice_ticks(y_lo, y_hi)
    y0, y1 = yt[0], yt[-1]

    def px(v):
        return _PAD["left"] + (v - x0) / (x1 - x0) * w_in

    def py(v):
        return _PAD["top"] + h_in - (v - y0) / (y1 - y0) * h_in

    for t in yt:
        yy = py(t)
        parts.append(
            f'<line class="grid" x1="{_PAD["left"]}" x2="{_PAD["left"] + w_in}" '
            f'y1="{yy:.1f}" y2="{yy:.1f}"/>'
            f'<text class="tick" x="{_PAD["left"] - 6}" y="{yy + 4:.1f}" '
            f'text-anchor="end">{escape(_fmt(t))}</text>'
        )
    ticks = (
        x_ticks
        if x_ticks is not None
        else (
            _time_ticks(x0, x1)
            if kind == "time"
            else [(t, _fmt(t)) for t in nice_ticks(x0, x1, 8)]
        )
    )
    base = _PAD["top"] + h_in
    for t, label in ticks:
        if x0 <= t <= x1:
            xx = px(t)
            parts.append(
                f'<line class="axis" x1="{xx:.1f}" x2="{xx:.1f}" y1="{base}" y2="{base + 4}"/>'
                f'<text class="tick" x="{xx:.1f}" y="{base + 16}" '
                f'text-anchor="middle">{escape(str(label))}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{_PAD["left"]}" x2="{_PAD["left"] + w_in}" '
        f'y1="{base}" y2="{base}"/>'
        f'<text class="axis-label" x="12" y="{_PAD["top"] + h_in / 2:.0f}" '
        f'transform="rotate(-90 12 {_PAD["top"] + h_in / 2:.0f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    if marker is not None:
        mx = float(_as_numbers([marker[0]])[0][0])
        if x0 <= mx <= x1:
            xx = px(mx)
            parts.append(
                f'<line class="marker" x1="{xx:.1f}" x2="{xx:.1f}" y1="{_PAD["top"]}" '
                f'y2="{base}"/><text class="marker-label" x="{xx + 4:.1f}" '
                f'y="{_PAD["top"] + 10}">{escape(marker[1])}</text>'
            )
    for i, ((label, _), y) in enumerate(zip(series, ys, strict=True)):
        d = []
        pen_up = True
        for xv, yv in zip(xs, y, strict=True):
            if not math.isfinite(yv):
                pen_up = True
                continue
            d.append(f"{'M' if pen_up else 'L'}{px(xv):.1f} {py(yv):.1f}")
            pen_up = False
        parts.append(
            f'<path class="line series-{i}" d="{" ".join(d)}"><title>{escape(label)}</title></path>'
        )
    if len(series) > 1:
        lx = _PAD["left"] + w_in
        for i, (label, _) in enumerate(series):
            parts.append(
                f'<text class="legend series-{i}" x="{lx - 160 * i}" y="16" '
                f'text-anchor="end">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
