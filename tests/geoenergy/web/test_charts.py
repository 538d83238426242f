"""Server-rendered SVG charts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoenergy.web.charts import line_chart, nice_ticks


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0, 3.2, [0, 1, 2, 3, 4]),
        (0, 72, [0, 20, 40, 60, 80]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    ],
)
def test_nice_ticks(lo, hi, ticks):
    assert nice_ticks(lo, hi) == pytest.approx(ticks)


@given(st.floats(-1e6, 1e6), st.floats(0, 1e6))
def test_nice_ticks_cover_the_range(lo, span):
    ticks = nice_ticks(lo, lo + span)
    assert ticks[0] <= lo + 1e-9 and ticks[-1] >= lo + span - 1e-6 * max(1, abs(lo) + span)
    assert 2 <= len(ticks) <= 12


def test_chart_escapes_text_and_leaves_gaps():
    svg = str(
        line_chart(
            [0, 1, 2, 3, 4],
            [("<b>load</b>", [1.0, 2.0, np.nan, 2.0, 1.0])],
            title="<script>alert(1)</script>",
            y_label="load [kW]",
        )
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "&lt;b&gt;load&lt;/b&gt;" in svg
    path = svg.split('class="line series-0" d="')[1].split('"')[0]
    assert path.count("M") == 2 and path.count("L") == 2  # the NaN breaks the line


def test_chart_with_dates_and_marker():
    x = np.arange("2023-11-01", "2023-11-22", dtype="datetime64[D]")
    svg = str(
        line_chart(
            x,
            [("daily", np.full(len(x), 72.0))],
            title="daily",
            y_label="energy [kWh/day]",
            marker=(np.datetime64("2023-11-08"), "onset 2023-11-08"),
        )
    )
    assert 'class="marker"' in svg and "onset 2023-11-08" in svg
    assert ">11-08<" in svg or ">11-01<" in svg  # date ticks


def test_empty_chart_says_so():
    svg = str(line_chart([0, 1], [("a", [np.nan, np.nan])], title="t", y_label="y"))
    assert "no complete readings" in svg


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="series 'a' has 1 values but x has 2"):
        line_chart([0, 1], [("a", [1.0])], title="t", y_label="y")
