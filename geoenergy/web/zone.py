"""The one time zone the review app shows times in, and its label.

Times are stored in UTC; every table, chart and message of the app shows
them in the workspace's zone and says which, e.g. "Asia/Shanghai (UTC+8)",
so an officer never has to guess whether 10:00 is local or UTC.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["zone_label"]


def zone_label(tz, at: dt.datetime | None = None) -> str:
    """``"<IANA name> (UTC+h[:mm])"`` of zone ``tz`` at ``at`` (default now).

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> zone_label(ZoneInfo("Asia/Shanghai"))
    'Asia/Shanghai (UTC+8)'
    >>> zone_label(ZoneInfo("Asia/Kolkata"))
    'Asia/Kolkata (UTC+5:30)'
    """
    offset = (at or dt.datetime.now(dt.UTC)).astimezone(tz).utcoffset() or dt.timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    text = "UTC" if minutes == 0 else f"UTC{sign}{h}" + (f":{m:02d}" if m else "")
    name = getattr(tz, "key", None) or str(tz)
    return f"{name} ({text})"
