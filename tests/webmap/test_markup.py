"""Escaping for HTML and for <script>: the one way data text reaches a page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webmap.markup import escape, format_value, is_missing, script_json


def test_escape_turns_markup_into_text():
    assert escape("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape("a \"b\" & 'c'") == "a &quot;b&quot; &amp; &#x27;c&#x27;"
    assert escape("&amp;") == "&amp;amp;"  # already-escaped text stays text


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT, np.nan])
def test_escape_of_missing_values_is_empty(missing):
    assert escape(missing) == ""
    assert is_missing(missing)


def test_script_json_cannot_end_the_script_element():
    text = script_json({"a": "</script><script>alert(1)</script>", "b": "x & y"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>", "b": "x & y"}


def test_script_json_numpy_nan_and_unicode():
    text = script_json({"v": np.array([1.5, np.nan, np.inf]), "n": np.int64(3), "s": "长安街"})
    assert json.loads(text) == {"v": [1.5, None, None], "n": 3, "s": "长安街"}
    assert "长安街" in text  # UTF-8, not \\u escapes: a third of the bytes


@given(st.text())
def test_script_json_round_trips_any_text_without_markup_characters(s):
    text = script_json([s])
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == [s]


@given(st.text())
def test_escape_leaves_no_tag_or_attribute_breaker(s):
    out = escape(s)
    assert not set(out) & {"<", ">", '"', "'"}


def test_format_value():
    assert format_value(1234567) == "1,234,567"
    assert format_value(1234.567, 1, "MWh") == "1,234.6 MWh"
    assert format_value(None) == "\u2013"
    assert format_value(True) == "yes"
    assert format_value("text") == "text"
