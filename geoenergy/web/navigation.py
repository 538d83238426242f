"""Work kept between screens: the queue a case was opened from, and the next case.

An officer filters and sorts the queue, opens a case, acts on it and wants
either the same queue page back or the next case of that queue. Nothing of
this lives in the server session (two tabs on two queues must not mix): a
case link from the queue carries

- ``back``: the queue's query string (filters, sort, page, run), checked by
  :func:`~geoenergy.web.queue.parse_queue_query` when it is read, and
- ``at``: the case's position in that queue (0-based, over all pages),

and the case page hands both on to its "« Case queue" link, its forms and
its "next case" link. :func:`next_case` finds the case after the current
one *now*: when the action just taken moved the case out of the queue's
filter (an "open" queue after an outcome), the case that took its place is
the next one.

Pure query code, no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa

from geoenergy.store import Flag
from geoenergy.web.actions import CLOSED_STATUSES
from geoenergy.web.queue import (
    QueryError,
    QueueQuery,
    _base,
    _case_state_subquery,
    _ordered,
    parse_int,
    parse_queue_query,
)

__all__ = ["MAX_BACK_LENGTH", "QueueContext", "next_case", "parse_context"]

#: Longest ``back`` query string accepted. [characters]
MAX_BACK_LENGTH = 2000
#: Largest position in a queue (the queue's page limit times its largest page).
MAX_AT = 10_000_000 * 200


@dataclass(frozen=True)
class QueueContext:
    """The queue a case was opened from (``query``) and the case's place in it (``at``)."""

    query: QueueQuery
    at: int | None = None
    explicit: bool = False

    def queue_url(self) -> str:
        """The queue page as the officer left it."""
        params = self.query.params()
        return "/queue" + ("?" + urlencode(params) if params else "")

    def case_params(self, at: int | None = None) -> dict[str, str]:
        """Query parameters a case link carries: ``back`` and ``at`` (when known)."""
        if not self.explicit and at is None:
            return {}
        q = self.query
        if at is not None:
            q = replace(q, page=at // q.page_size + 1)
        out = {"back": urlencode(q.params())}
        if at is not None:
            out["at"] = str(at)
        return out


def parse_context(params, run_id: int | None) -> QueueContext:
    """The :class:`QueueContext` of a case request's query parameters.

    Parameters
    ----------
    params : mapping
        ``back`` (a queue query string) and ``at`` (0-based position).
    run_id : int or None
        The case page's run: the queue of that run when ``back`` is absent.

    Raises
    ------
    QueryError
        ``back`` too long or with a bad queue parameter, ``at`` not a whole number.
    """
    back = params.get("back")
    at = parse_int(params.get("at"), "at", lo=0, hi=MAX_AT)
    if not back:
        return QueueContext(QueueQuery(run_id=run_id), at=at, explicit=at is not None)
    if len(back) > MAX_BACK_LENGTH:
        raise QueryError(f"parameter 'back' is {len(back)} characters long; at most 2000.")
    try:
        query = parse_queue_query(dict(parse_qsl(back, keep_blank_values=True)))
    except QueryError as exc:
        raise QueryError(f"the queue this case was opened from is not usable: {exc}") from None
    return QueueContext(query, at=at, explicit=True)


def next_case(
    session,
    ctx: QueueContext,
    meter_id: str,
    run_id: int | None,
    *,
    with_addresses: bool,
    rank: int | None = None,
) -> tuple[str, int | None] | None:
    """The case after ``meter_id`` in the queue of ``ctx``: ``(meter_id, at)`` or None.

    With a position (``ctx.at``), the queue is read at that position: if the
    case is still there, the next row is the next case; if it has left the
    queue (an action moved it out of the filter), the row now in its place
    is. Without one, the next case is the first open (not confirmed or
    cleared) flagged case of the run ranked below this one (``rank``: the
    case's rank in the run, if the caller has it).
    """
    run_id = ctx.query.run_id or run_id
    if run_id is None:
        return None
    q = replace(ctx.query, run_id=run_id)
    if ctx.at is not None:
        state = _case_state_subquery()
        stmt = _ordered(_base(q, run_id, state, with_addresses=with_addresses), q, state)
        rows = session.execute(stmt.add_columns(Flag.meter_id).limit(2).offset(ctx.at)).all()
        if not rows:
            return None
        if rows[0].meter_id != meter_id:
            return rows[0].meter_id, ctx.at
        return (rows[1].meter_id, ctx.at + 1) if len(rows) > 1 else None
    if rank is None:
        rank = session.scalar(
            sa.select(Flag.rank).where(Flag.run_id == run_id, Flag.meter_id == meter_id)
        )
    stmt = sa.select(Flag.meter_id).where(Flag.run_id == run_id, Flag.flagged.is_(True))
    if rank is not None:
        stmt = stmt.where(Flag.rank > rank)
    # Closed cases are few (reviewed ones only): a semi-join on them lets the
    # database walk the run's (run_id, rank) index and stop at the first hit.
    state = _case_state_subquery()
    closed = sa.select(state.c.meter_id).where(state.c.status.in_(CLOSED_STATUSES))
    stmt = stmt.where(Flag.meter_id.not_in(closed)).order_by(Flag.rank, Flag.id).limit(1)
    found = session.scalar(stmt)
    return None if found is None else (found, None)
