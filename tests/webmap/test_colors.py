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
