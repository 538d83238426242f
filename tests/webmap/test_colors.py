"""Colour classes and gradients: legend and map take colours from one object."""

from __future__ import annotations

import numpy as np
import pytest

from webmap.colors import RAMPS, Classes, Gradient


def test_classes_index_and_labels():
    c = Classes.from_ramp([5, 10], "YlOrRd", unit="MWh")
    assert list(c.index([0, 4.9, 5, 9.9, 10, 99, np.nan])) == [0, 0, 1, 1, 2, 2, -1]
    assert c.labels() == ["< 5 MWh", "5 \u2013 10 MWh", "\u2265 10 MWh"]
    assert c.colors[0] == RAMPS["YlOrRd"][0] and c.colors[-1] == RAMPS["YlOrRd"][-1]
    assert c.color([np.nan], missing="#000") == ["#000"]


def test_equal_interval_breaks_on_paper():
    c = Classes.equal_interval([0, 10, 100], "Blues", n=4)
    assert c.breaks == (25.0, 50.0, 75.0)
    single = Classes.equal_interval([7, 7, np.nan], "Blues")
    assert single.breaks == () and single.labels() == ["all values"]


def test_bad_classes():
    with pytest.raises(ValueError, match="one colour more"):
        Classes((1.0,), ("#000",))
    with pytest.raises(ValueError, match="ascend"):
        Classes((2.0, 1.0), ("#000", "#111", "#222"))
    with pytest.raises(ValueError, match="ramp='nope' is not known"):
        Classes.from_ramp([1], "nope")


def test_gradient_ends_and_clipping():
    g = Gradient("temperature", 20, 120)
    lo, hi = RAMPS["temperature"][0], RAMPS["temperature"][-1]
    assert g.color([0, 20, 120, 500]) == [lo, lo, hi, hi]
    assert g.rgb(np.zeros((2, 3))).shape == (2, 3, 3)
    assert g.css().startswith("linear-gradient(to right, #4575b4")


def test_count_classes_on_paper():
    from webmap.colors import Classes

    c = Classes.for_counts([0, 0, 5, 9, 12, 20, np.nan], "YlOrRd")
    # Zero alone in the lightest colour; then integer classes sharing no end.
    assert c.labels() == ["0", "5 \u2013 8", "9 \u2013 12", "13 \u2013 16", "17 \u2013 20"]
    assert c.colors[0] == RAMPS["YlOrRd"][0] and c.colors[-1] == RAMPS["YlOrRd"][-1]
    assert list(c.index([0, 5, 8, 9, 20, np.nan])) == [0, 1, 1, 2, 4, -1]
    # No more classes than distinct counts; all zero is one light class.
    # 5..9 in two: edges at 5, 7.5 -> 8, 10: "5 – 7", "8 – 9".
    assert Classes.for_counts([5, 9, 9], "YlOrRd").labels() == ["5 \u2013 7", "8 \u2013 9"]
    only_zero = Classes.for_counts([0, 0], "YlOrRd")
    assert only_zero.labels() == ["0"] and only_zero.colors == (RAMPS["YlOrRd"][0],)
    half = Classes.equal_interval([0, 10], "OrRd", n=2, unit="MWh", style="half_open")
    assert half.labels() == ["< 5 MWh", "\u2265 5 MWh"]
    assert Classes.from_ramp([5, 10], "OrRd", style="half_open").labels()[1] == "5 to < 10"
    with pytest.raises(ValueError, match="style='x' is not one of"):
        Classes((), ("#000",), style="x")


def test_text_colour_reads_on_every_ramp_colour():
    from webmap.colors import contrast_ratio, text_color

    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert text_color("#bd0026") == "#ffffff" and text_color("#ffffb2") == "#000000"
    for ramp in RAMPS.values():
        for c in ramp:
            assert contrast_ratio(text_color(c), c) >= 4.5, c
