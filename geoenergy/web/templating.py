"""Jinja2 filters of the review app's templates.

Every filter returns plain text, never :class:`markupsafe.Markup`, so the
environment's autoescaping still applies to its output.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from geoenergy.web.actions import OUTCOME_WORDS

__all__ = ["install"]


def pathq(value) -> str:
    """Quote a value as one URL path segment (``/`` included)."""
    return quote(str(value), safe="")


def qs(params: dict) -> str:
    """A query string (``a=1&b=2``) from a dict, skipping None values."""
    return urlencode({k: v for k, v in params.items() if v is not None})


def score(value) -> str:
    """A score in [0, 1] with three decimals."""
    return "" if value is None else f"{float(value):.3f}"


def local_time(value, tz) -> str:
    """An aware datetime as local ``YYYY-MM-DD HH:MM`` in zone ``tz``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return str(value)


def iso_date(value) -> str:
    """A date as ``YYYY-MM-DD`` ('' for None)."""
    return "" if value is None else value.isoformat()


def number(value, digits: int = 1) -> str:
    """A number with thousands separators ('' for None)."""
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def outcome_words(value) -> str:
    """An outcome code in words ("mining" -> "confirmed mining")."""
    return OUTCOME_WORDS.get(value, value or "")


def install(env) -> None:
    """Register the filters on a Jinja2 environment."""
    env.filters.update(
        pathq=pathq,
        qs=qs,
        score=score,
        local_time=local_time,
        iso_date=iso_date,
        number=number,
        outcome_words=outcome_words,
    )
