"""Small inline SVG load-profile charts for popups (and the review app).

An inspector decides from the popup alone whether a load looks like a
mining rig: a flat line day and night, week after week. The chart has two
panels: the hourly energy of the last weeks [kWh] and the average day
[kW]. It is plain SVG text (a few kB), so it needs no image files and no
script, and it is built only from numbers: no text from the data enters it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from webmap.markup import escape

WIDTH = 300
"""Chart width [px]."""
HOURLY_H = 70
"""Height of the hourly panel [px]."""
DAY_H = 48
"""Height of the average-day panel [px]."""


def _check_profile(hourly, avg_day, weeks) -> tuple[pd.Series | None, np.ndarray | None]:
    if hourly is not None:
        if not isinstance(hourly, pd.Series):
            raise TypeError(
                f"hourly must be a pandas Series of kWh per hour, got {type(hourly).__name__}."
            )
        if len(hourly) and not isinstance(hourly.index, pd.DatetimeIndex):
            raise TypeError(
                "hourly must have a DatetimeIndex (local time), got "
                f"{type(hourly.index).__name__}; use series.set_axis(pd.to_datetime(...))."
            )
    if avg_day is not None:
        avg_day = np.asarray(avg_day, dtype=float).ravel()
        if avg_day.size != 24:
            raise ValueError(
                f"avg_day must hold 24 hourly values [kW], got {avg_day.size}; "
                "pass the mean load for hours 0..23."
            )
    if not isinstance(weeks, int | float) or weeks <= 0:
        raise ValueError(f"weeks must be a positive number, got {weeks!r}.")
    return hourly, avg_day


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def load_profile_svg(hourly=None, avg_day=None, *, weeks: float = 4) -> str:
    """An inline SVG of a meter's recent hourly load and its average day.

    Parameters
    ----------
    hourly : pandas.Series, optional
        Energy per hour [kWh] with a local-time DatetimeIndex; the last
        ``weeks`` weeks are drawn. Gaps (NaN) break the line.
    avg_day : sequence of 24 float, optional
        Average load per hour of day, hours 0..23 local time [kW].
    weeks : float
        How many weeks of ``hourly`` to show.

    Returns
    -------
    str
        ``<svg>...</svg>`` (empty string when both inputs are None). The
        hourly panel is labelled with its min and max [kWh]; a flat line
        with min close to max is the mining signature.
    """
    hourly, avg_day = _check_profile(hourly, avg_day, weeks)
    parts: list[str] = []
    y0 = 0
    if hourly is not None and len(hourly):
        h = hourly.sort_index()
        h = h[h.index >= h.index.max() - pd.Timedelta(weeks=weeks)]
        parts.append(_hourly_panel(h, y0, weeks))
        y0 += HOURLY_H + 16
    if avg_day is not None:
        parts.append(_day_panel(avg_day, y0))
        y0 += DAY_H + 16
    if not parts:
        return ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wm-chart" width="{WIDTH}" '
        f'height="{y0}" viewBox="0 0 {WIDTH} {y0}" font-family="sans-serif" font-size="10">'
        f"<title>Load profile</title>{''.join(parts)}</svg>"
    )


def _hourly_panel(h: pd.Series, y0: int, weeks: float) -> str:
    v = h.to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    vmax = float(finite.max()) if finite.size else 0.0
    vmin = float(finite.min()) if finite.size else 0.0
    # 10 % headroom, so a flat line at the maximum stays visible below the top edge.
    top = 1.1 * vmax if vmax > 0 else 1.0
    n = len(v)
    plot_h = HOURLY_H - 12
    # Draw in a nested SVG whose user units are (hour index, pixel row), so
    # the path is small integers in relative steps ("1 0" for a flat hour):
    # about 4 bytes per hour. Rows are whole pixels: nothing finer shows.
    ys = np.where(np.isfinite(v), np.round(plot_h - plot_h * np.clip(v, 0, None) / top), np.nan)
    d = _path(ys) or f"M0 {plot_h}"
    days = (h.index.max() - h.index.min()) / pd.Timedelta(days=1) if n > 1 else 0
    label = f"Last {days:.0f} days, hourly [kWh]" if days >= 1.5 else "Hourly [kWh]"
    ticks = ""
    if n > 1 and days >= 7:  # one tick per week
        t0 = h.index.min()
        for k in range(1, int(days // 7) + 1):
            i = int(h.index.searchsorted(t0 + pd.Timedelta(weeks=k)))
            ticks += (
                f'<path d="M{i} 0V{plot_h}" stroke="#ccc" vector-effect="non-scaling-stroke"/>'
            )
    return (
        f'<text x="0" y="{y0 + 9}" fill="#333">{escape(label)}</text>'
        f'<text x="{WIDTH}" y="{y0 + 9}" text-anchor="end" fill="#333">'
        f"min {escape(_fmt(vmin))} / max {escape(_fmt(vmax))}</text>"
        f'<svg x="0" y="{y0 + 12}" width="{WIDTH}" height="{plot_h}" '
        f'viewBox="0 0 {max(n - 1, 1)} {plot_h}" preserveAspectRatio="none">'
        f'<rect width="{max(n - 1, 1)}" height="{plot_h}" fill="#f7f7f7"/>{ticks}'
        f'<path d="{d}" fill="none" stroke="#c0392b" stroke-width="1.3" '
        f'vector-effect="non-scaling-stroke"/></svg>'
    )


def _path(ys: np.ndarray) -> str:
    """SVG path through (i, ys[i]); NaN breaks the line (relative line-tos)."""
    out = []
    finite = np.isfinite(ys)
    i, n = 0, len(ys)
    while i < n:
        if not finite[i]:
            i += 1
            continue
        j = i
        while j < n and finite[j]:
            j += 1
        seg = ys[i:j].astype(np.int64)
        steps = " ".join(f"1 {dy}" for dy in np.diff(seg).tolist())
        out.append(f"M{i} {seg[0]}" + (f"l{steps}" if steps else "h0"))
        i = j
    return "".join(out)


def _day_panel(avg: np.ndarray, y0: int) -> str:
    finite = avg[np.isfinite(avg)]
    vmax = float(finite.max()) if finite.size else 0.0
    top = vmax if vmax > 0 else 1.0
    bar_w = WIDTH / 24
    plot_h = DAY_H - 12
    bars = []
    for hour, val in enumerate(avg):
        if not np.isfinite(val):
            continue
        bh = round(plot_h * max(val, 0.0) / top, 1)
        bars.append(
            f'<rect x="{hour * bar_w + 0.5:.1f}" y="{y0 + 12 + plot_h - bh:.1f}" '
            f'width="{bar_w - 1:.1f}" height="{bh}" fill="#2e86c1"/>'
        )
    axis = "".join(
        f'<text x="{hour * bar_w + bar_w / 2:.1f}" y="{y0 + DAY_H + 10}" text-anchor="middle" '
        f'fill="#555" font-size="9">{hour}</text>'
        for hour in (0, 6, 12, 18, 23)
    )
    return (
        f'<text x="0" y="{y0 + 9}" fill="#333">Average day [kW]</text>'
        f'<text x="{WIDTH}" y="{y0 + 9}" text-anchor="end" fill="#333">'
        f"max {escape(_fmt(vmax))}</text>" + "".join(bars) + axis
    )


MONTH_LETTERS = "JFMAMJJASOND"
"""Month initials on the monthly chart's axis."""
BALANCE_H = 90
"""Height of the monthly balance panel [px]."""


def monthly_balance_svg(demand_mwh, supply_mwh, used_mwh) -> str:
    """An inline SVG of a heating network's monthly demand against waste-heat supply.

    Per month, a grey bar for the network's heat demand, a red outline bar
    for the heat its connected data centres could deliver and a solid red bar
    for the heat actually used; where the outline rises above the grey bar,
    waste heat has no demand to take it. Built from numbers only.

    Parameters
    ----------
    demand_mwh, supply_mwh, used_mwh : sequence of 12 float
        Heat per month, January to December [MWh].

    Returns
    -------
    str
        ``<svg>...</svg>``.
    """
    rows = []
    for label, v in (
        ("demand_mwh", demand_mwh),
        ("supply_mwh", supply_mwh),
        ("used_mwh", used_mwh),
    ):
        a = np.nan_to_num(np.asarray(v, dtype=float).ravel(), nan=0.0)
        if a.size != 12:
            raise ValueError(f"{label} must hold 12 monthly values [MWh], got {a.size}.")
        if (a < 0).any():
            raise ValueError(f"{label} must be >= 0 [MWh].")
        rows.append(a)
    demand, supply, used = rows
    top = max(float(demand.max()), float(supply.max()), 1e-9)
    plot_h = BALANCE_H - 26
    slot = WIDTH / 12
    parts = []
    for m in range(12):
        x = m * slot
        for val, style, pad in (
            (demand[m], 'fill="#bbb"', 2),
            (used[m], 'fill="#c0392b"', 6),
            (supply[m], 'fill="none" stroke="#c0392b" stroke-width="1"', 4),
        ):
            h = round(plot_h * val / top, 1)
            parts.append(
                f'<rect x="{x + pad:.1f}" y="{14 + plot_h - h:.1f}" width="{slot - 2 * pad:.1f}" '
                f'height="{h}" {style}/>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{BALANCE_H - 2}" text-anchor="middle" '
            f'fill="#555" font-size="9">{MONTH_LETTERS[m]}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wm-chart" width="{WIDTH}" '
        f'height="{BALANCE_H}" viewBox="0 0 {WIDTH} {BALANCE_H}" font-family="sans-serif" '
        f'font-size="10"><title>Monthly heat demand and waste heat</title>'
        f'<text x="0" y="9" fill="#333">Monthly [MWh]: demand (grey), waste heat '
        f"(outline), used (red)</text>"
        f'<text x="{WIDTH}" y="9" text-anchor="end" fill="#333">max {escape(_fmt(top))}</text>'
        + "".join(parts)
        + "</svg>"
    )
