"""Colour ramps and class breaks shared by the maps, their legends and the raster.

One registry (:data:`RAMPS`) names every ramp a map may use; the legend and
the layer take their colours from the same :class:`Classes` object, so a
legend can never disagree with the map.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RAMPS: dict[str, tuple[str, ...]] = {
    # ColorBrewer sequential schemes (Brewer, colorbrewer2.org), 5 classes.
    "YlOrRd": ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
    "Purples": ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"),
    "Blues": ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"),
    "OrRd": ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"),
    # Temperatures: cool water blue to hot supply red (RdYlBu reversed, 7 classes).
    "temperature": ("#4575b4", "#91bfdb", "#e0f3f8", "#ffffbf", "#fee090", "#fc8d59", "#d73027"),
    # Heat-demand density: light to dark, readable over a plain background.
    "heat": ("#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"),
}
"""Colour ramps by name, light/cold to dark/hot, as hex strings."""

LABEL_STYLES = ("range", "integer", "half_open")
"""How :meth:`Classes.labels` writes a class (see :class:`Classes`)."""

SUPPRESSED_COLOR = "#bdbdbd"
"""Fill of an area whose count is suppressed (below the minimum count)."""


def _check_ramp(ramp: str) -> tuple[str, ...]:
    if ramp not in RAMPS:
        raise ValueError(f"ramp={ramp!r} is not known; choose one of {sorted(RAMPS)}.")
    return RAMPS[ramp]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#fd8d3c"`` -> ``(253, 141, 60)``."""
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def luminance(color: str) -> float:
    """Relative luminance of an sRGB colour [0..1] (WCAG 2.1).

    References
    ----------
    .. [1] W3C (2018), *Web Content Accessibility Guidelines (WCAG) 2.1*,
       "relative luminance" and "contrast ratio" (success criterion 1.4.3).
    """
    c = np.array(hex_to_rgb(color), dtype=float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours [1..21]; text needs >= 4.5 (see :func:`luminance`)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return max(("#000000", "#ffffff"), key=lambda t: contrast_ratio(t, background))


@dataclass(frozen=True)
class Classes:
    """Values cut into classes by ascending ``breaks``, one colour per class.

    ``len(colors) == len(breaks) + 1``: class 0 holds values below
    ``breaks[0]``, class ``i`` holds ``breaks[i-1] <= v < breaks[i]`` and
    the last class holds ``v >= breaks[-1]``.

    ``style`` says how :meth:`labels` writes the classes: ``"range"``
    (``"5 – 10"``, the ends shared), ``"integer"`` for counts (``"5 – 9"``,
    ``"10 – 14"``: integer classes that do not overlap) or ``"half_open"``
    (``"5 to < 10"``). ``vmin``/``vmax`` (the data's range) let the end
    classes say where they end, and ``lows`` (integer style) the smallest
    value of each class where the data have a gap below it.
    """

    breaks: tuple[float, ...]
    colors: tuple[str, ...]
    unit: str = ""
    digits: int = 0
    style: str = "range"
    vmin: float | None = None
    vmax: float | None = None
    lows: tuple[float, ...] | None = None

    def __post_init__(self):
        if len(self.colors) != len(self.breaks) + 1:
            raise ValueError(
                f"Classes needs one colour more than breaks, got {len(self.breaks)} breaks "
                f"and {len(self.colors)} colours."
            )
        if list(self.breaks) != sorted(self.breaks):
            raise ValueError(f"breaks must ascend, got {self.breaks}.")
        if self.style not in LABEL_STYLES:
            raise ValueError(f"style={self.style!r} is not one of {LABEL_STYLES}.")

    @classmethod
    def from_ramp(
        cls,
        breaks: Sequence[float],
        ramp: str,
        unit: str = "",
        digits: int = 0,
        style: str = "range",
    ) -> Classes:
        """Classes with colours taken evenly from the named ramp."""
        colors = _check_ramp(ramp)
        n = len(breaks) + 1
        idx = np.round(np.linspace(0, len(colors) - 1, n)).astype(int)
        return cls(
            tuple(float(b) for b in breaks), tuple(colors[i] for i in idx), unit, digits, style
        )

    @classmethod
    def equal_interval(
        cls, values, ramp: str, n: int = 5, unit: str = "", digits: int = 0, style: str = "range"
    ) -> Classes:
        """``n`` classes of equal width between the finite min and max of ``values``.

        Breaks are rounded to ``digits`` decimals so the legend reads cleanly;
        with no finite values (or all equal) there is a single class.
        """
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0 or v.min() == v.max():
            return cls((), (_check_ramp(ramp)[-1],), unit, digits, style)
        raw = np.linspace(v.min(), v.max(), n + 1)[1:-1]
        breaks = sorted(set(np.round(raw, digits).tolist()))
        return cls.from_ramp(breaks, ramp, unit, digits, style)

    @classmethod
    def for_counts(cls, values, ramp: str, n: int = 5, unit: str = "") -> Classes:
        """Integer classes for counts: zero alone, then equal intervals of the rest.

        Zero gets the lightest colour of the ramp and a class of its own
        (``"0"``), so an area with nothing flagged is never coloured like one
        with a few; the positive counts are cut into up to ``n - 1`` classes
        with integer breaks, labelled so that no two classes share an end
        (``"5 – 7"``, ``"8 – 10"``). NaN (suppressed) values are left out.
        """
        colors = _check_ramp(ramp)
        v = np.asarray(values, dtype=float)
        v = np.round(v[np.isfinite(v)])
        pos = v[v > 0]
        zero = bool((v == 0).any()) or not pos.size
        vmin = float(v.min()) if v.size else 0.0
        vmax = float(v.max()) if v.size else 0.0
        breaks: list[float] = [1.0] if zero and pos.size else []
        if pos.size:
            lo, hi = float(pos.min()), float(pos.max())
            # No more classes than distinct counts (no legend row for nothing).
            k = max(1, min(n - (1 if zero else 0), len(np.unique(pos))))
            raw = np.ceil(np.linspace(lo, hi + 1, k + 1)[1:-1])  # integer class edges
            breaks += sorted({float(b) for b in raw if lo < b <= hi})
        n_pos = len(breaks) + 1 - (1 if zero and pos.size else 0)
        if not pos.size:
            picked = (colors[0],)
        else:
            rest = colors[1:] if zero else colors
            idx = np.round(np.linspace(0, len(rest) - 1, n_pos)).astype(int)
            picked = ((colors[0],) if zero else ()) + tuple(rest[i] for i in idx)
        lows = None
        if zero and pos.size:  # nothing between 0 and the smallest positive count
            lows = (vmin, float(pos.min()), *breaks[1:])
        return cls(tuple(breaks), picked, unit, 0, "integer", vmin, vmax, lows)

    def index(self, values) -> np.ndarray:
        """Class index of each value (``-1`` for NaN)."""
        v = np.asarray(values, dtype=float)
        out = np.searchsorted(np.asarray(self.breaks, dtype=float), v, side="right")
        return np.where(np.isfinite(v), out, -1)

    def color(self, values, missing: str = SUPPRESSED_COLOR) -> list[str]:
        """Colour of each value; NaN gets ``missing``."""
        return [self.colors[i] if i >= 0 else missing for i in self.index(values)]

    def labels(self) -> list[str]:
        """Legend text per class, e.g. ``"< 5"``, ``"5 – 10"``, ``">= 10"`` (with unit).

        With ``style="integer"``: ``"0"``, ``"5 – 9"``, ``"10 – 14"``; with
        ``"half_open"``: ``"< 5"``, ``"5 to < 10"``, ``"≥ 10"``.
        """
        u = f" {self.unit}" if self.unit else ""
        if self.style == "integer":
            return [f"{text}{u}" for text in self._integer_labels()]
        if not self.breaks:
            return ["all values"]
        f = [f"{b:,.{self.digits}f}" for b in self.breaks]
        out = [f"< {f[0]}{u}"]
        joint = " to < " if self.style == "half_open" else " \u2013 "
        out += [f"{a}{joint}{b}{u}" for a, b in itertools.pairwise(f)]
        out.append(f"\u2265 {f[-1]}{u}")
        return out

    def _integer_labels(self) -> list[str]:
        def span(a: float | None, b: float | None) -> str:
            if a is None:
                return f"\u2264 {b:,.0f}"
            if b is None:
                return f"\u2265 {a:,.0f}"
            return f"{a:,.0f}" if a >= b else f"{a:,.0f} \u2013 {b:,.0f}"

        lows = list(self.lows) if self.lows else [self.vmin, *self.breaks]
        highs = [b - 1 for b in self.breaks] + [self.vmax]
        return [span(a, b) for a, b in zip(lows, highs, strict=True)]


@dataclass(frozen=True)
class Gradient:
    """A continuous ramp from ``vmin`` to ``vmax`` (values outside are clipped)."""

    ramp: str
    vmin: float
    vmax: float
    unit: str = ""
    digits: int = 0

    def __post_init__(self):
        _check_ramp(self.ramp)
        if not (np.isfinite(self.vmin) and np.isfinite(self.vmax)):
            raise ValueError(f"Gradient needs finite limits, got {self.vmin}..{self.vmax}.")

    @property
    def colors(self) -> tuple[str, ...]:
        return RAMPS[self.ramp]

    def rgb(self, values) -> np.ndarray:
        """RGB [0..255] of each value, shape ``values.shape + (3,)``; NaN gives 0."""
        v = np.asarray(values, dtype=float)
        span = self.vmax - self.vmin
        t = np.zeros_like(v) if span <= 0 else np.clip((v - self.vmin) / span, 0.0, 1.0)
        t = np.where(np.isfinite(t), t, 0.0)
        stops = np.array([hex_to_rgb(c) for c in self.colors], dtype=float)
        pos = np.linspace(0.0, 1.0, len(stops))
        out = np.stack([np.interp(t, pos, stops[:, k]) for k in range(3)], axis=-1)
        return np.round(out).astype(np.uint8)

    def color(self, values) -> list[str]:
        """Hex colour of each value."""
        rgb = self.rgb(np.atleast_1d(values)).reshape(-1, 3)
        return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]

    def css(self) -> str:
        """A CSS ``linear-gradient`` for the legend bar (left = vmin)."""
        return f"linear-gradient(to right, {', '.join(self.colors)})"
