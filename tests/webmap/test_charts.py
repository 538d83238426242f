"""Inline SVG load profiles: a flat line is visibly flat, gaps break the line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from webmap.charts import HOURLY_H, load_profile_svg

SVG = "{http://www.w3.org/2000/svg}"


def hourly(values, start="2024-01-01"):
    idx = pd.date_range(start, periods=len(values), freq="h", tz="Asia/Shanghai")
    return pd.Series(values, index=idx, dtype=float)


def data_path(svg: str) -> str:
    root = ET.fromstring(svg)
    paths = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#c0392b"]
    assert len(paths) == 1
    return paths[0].get("d")


def test_flat_line_is_one_horizontal_path_at_the_top():
    svg = load_profile_svg(hourly([8.0] * 48))
    d = data_path(svg)
    # Max 8 -> row 5 of 58 (10 % headroom: 58 - 58 / 1.1 = 5.3); then every step
    # is one hour right and 0 rows down.
    assert d == "M0 5l" + " ".join(["1 0"] * 47)
    assert "min 8 / max 8" in svg


def test_line_follows_values_and_gaps_break_it():
    plot_h = HOURLY_H - 12  # 58 rows; top = 1.1 * 4 = 4.4 kWh
    d = data_path(load_profile_svg(hourly([4.0, 2.0, np.nan, 0.0])))
    # 4 -> 58 - 58 * 4 / 4.4 = 5.3 -> 5; 2 -> 31.6 -> 32 (27 rows down); 0 -> 58.
    assert d == f"M0 5l1 27M3 {plot_h}h0"


def test_only_the_last_weeks_are_drawn():
    svg = load_profile_svg(hourly(np.arange(24 * 7 * 6, dtype=float)), weeks=2)
    n_steps = data_path(svg).count(" ") // 2 + 1
    assert n_steps == 24 * 14 + 1  # two weeks inclusive of the end hour
    assert "Last 14 days" in svg


def test_average_day_has_24_bars_and_is_valid_xml():
    svg = load_profile_svg(hourly([1.0] * 30), avg_day=np.arange(24, dtype=float))
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#2e86c1"]
    assert len(bars) == 24
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == 0 and heights[-1] == max(heights)


def test_no_input_gives_empty_string_and_bad_input_raises():
    assert load_profile_svg() == ""
    with pytest.raises(ValueError, match="avg_day must hold 24"):
        load_profile_svg(avg_day=[1, 2, 3])
    with pytest.raises(TypeError, match="hourly must be a pandas Series"):
        load_profile_svg(hourly=[1, 2, 3])
    with pytest.raises(TypeError, match="DatetimeIndex"):
        load_profile_svg(hourly=pd.Series([1.0, 2.0]))


def test_chart_is_small():
    rng = np.random.default_rng(1)
    svg = load_profile_svg(hourly(8 + rng.normal(0, 0.3, 24 * 28)), avg_day=[8.0] * 24)
    assert len(svg) < 6000
    assert not re.search(r"<script|on\w+=", svg)
