"""Aggregates for every role: flagged and inspected cases by district, small counts hidden.

Planners and officials see nothing finer than this in the app. A count below
:data:`MIN_COUNT` is shown as "< 5", because a district with one or two
flagged meters points at particular households.

References
----------
.. [1] Eurostat, "Handbook on Statistical Disclosure Control", section on
   threshold rules for frequency tables (minimum cell frequency, often 3 to 5).
"""

from __future__ import annotations

import sqlalchemy as sa

from geoenergy.store import Flag, Review
from geoenergy.web.queue import latest_run

__all__ = ["MIN_COUNT", "district_summary"]

#: Smallest count shown; smaller ones are suppressed.
MIN_COUNT = 5


def district_summary(session, run_id: int | None = None, *, min_count: int = MIN_COUNT) -> dict:
    """Flagged, confirmed, cleared and open cases by district for one run.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    run_id : int, optional
        The detection run (default the latest finished one).
    min_count : int
        Counts below this are replaced by None (shown as "< min_count").

    Returns
    -------
    dict
        ``run_id`` and ``rows``: one dict per district with ``district``,
        ``flagged``, ``confirmed``, ``cleared``, ``open`` (int or None when
        suppressed), sorted by district; ``total`` the same over all districts.
    """
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}.")
    run_id = run_id or latest_run(session)
    if run_id is None:
        return {"run_id": None, "rows": [], "total": None}
    latest = (
        sa.select(Review.meter_id, sa.func.max(Review.version).label("v"))
        .group_by(Review.meter_id)
        .subquery()
    )
    state = (
        sa.select(Review.meter_id, Review.status)
        .join(latest, sa.and_(Review.meter_id == latest.c.meter_id, Review.version == latest.c.v))
        .subquery()
    )
    status = sa.func.coalesce(state.c.status, "new")

    def n(cond):
        return sa.func.sum(sa.case((cond, 1), else_=0))

    stmt = (
        sa.select(
            sa.func.coalesce(Flag.district, "(unknown)").label("district"),
            sa.func.count().label("flagged"),
            n(status == "confirmed").label("confirmed"),
            n(status == "cleared").label("cleared"),
            n(status.not_in(("confirmed", "cleared"))).label("open"),
        )
        .outerjoin(state, state.c.meter_id == Flag.meter_id)
        .where(Flag.run_id == run_id, Flag.flagged.is_(True))
        .group_by(Flag.district)
        .order_by(Flag.district.asc().nulls_last())
    )
    keys = ("flagged", "confirmed", "cleared", "open")
    rows, total = [], dict.fromkeys(keys, 0)
    for r in session.execute(stmt):
        d = r._asdict()
        for k in keys:
            total[k] += int(d[k] or 0)
            d[k] = int(d[k] or 0) if int(d[k] or 0) >= min_count or d[k] == 0 else None
        rows.append(d)
    total = {k: (v if v >= min_count or v == 0 else None) for k, v in total.items()}
    return {"run_id": run_id, "rows": rows, "total": total, "min_count": min_count}
