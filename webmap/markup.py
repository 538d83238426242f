"""Escaping: every text from the data reaches HTML or a ``<script>`` through here.

Two ways out, one per destination:

- :func:`escape` for text placed into HTML (popups, tooltips, legends,
  tables). Addresses, names, operator names and reasons are data, never
  markup, so ``<img src=x onerror=alert(1)>`` is shown as those characters.
- :func:`script_json` for values placed inside a ``<script>`` element. JSON
  alone is not enough there: a string holding ``</script>`` would end the
  element, so ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc.

Map popups and tooltips go a third way: their texts travel as JSON
(:func:`script_json`) and the browser puts them into the page with
``textContent`` (``webmap.el`` in :mod:`webmap.frame`), which never parses
HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

_SCRIPT_UNSAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",  # line separators end a JS string literal in older engines
    "\u2029": "\\u2029",
}
_SCRIPT_TABLE = str.maketrans(_SCRIPT_UNSAFE)


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers are not "missing"
        return False


def escape(value: Any) -> str:
    """HTML-escape ``value`` as text (quotes included); missing values give ``""``.

    Parameters
    ----------
    value : any
        Converted with ``str`` first.

    Returns
    -------
    str
        Safe to place in element content and in quoted attribute values.
    """
    if is_missing(value):
        return ""
    return html.escape(str(value), quote=True)


def _plain(obj: Any) -> Any:
    """Turn numpy/pandas scalars and containers into JSON-able Python values."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, dt.datetime | dt.date | pd.Timestamp):
        return obj.isoformat()
    if is_missing(obj):
        return None
    return obj


def script_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    Non-finite floats become ``null``; numpy scalars and arrays become plain
    JSON numbers and lists. Non-ASCII text is kept as UTF-8 (a Chinese
    address costs 3 bytes a character instead of 6 for ``\\uXXXX``).

    Parameters
    ----------
    obj : any
        Mappings, sequences, numbers, strings, dates.

    Returns
    -------
    str
        A JavaScript expression; contains no ``<``, ``>`` or ``&``.
    """
    text = json.dumps(_plain(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_SCRIPT_TABLE)


def format_value(value: Any, digits: int = 0, unit: str = "") -> str:
    """Format a number for people: thousands separators, ``digits`` decimals, unit.

    Missing values give ``"–"`` (an en dash); text is returned unchanged
    (not escaped: escaping happens where the text meets HTML).
    """
    if is_missing(value):
        return "\u2013"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer | float | np.floating):
        text = f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,}"
        return f"{text} {unit}".rstrip()
    return str(value)
