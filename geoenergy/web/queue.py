"""The case queue: flags of a detection run, filtered, sorted and paginated.

Pure query code, no HTTP: :func:`parse_queue_query` turns request
parameters into a :class:`QueueQuery` (with messages that name the bad
parameter), :func:`queue_page` runs it. The same query feeds the CSV/XLSX
exports (:mod:`geoenergy.web.exports`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace

import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError
from geoenergy.store import CUSTOMER_CLASSES, DetectionRun, Flag, Hotspot, Meter, Review
from geoenergy.web.actions import CASE_STATUSES, CLOSED_STATUSES

__all__ = [
    "PAGE_SIZES",
    "SORTS",
    "SORT_LABELS",
    "STATUS_FILTERS",
    "QueryError",
    "QueueQuery",
    "flagged_list_summary",
    "latest_run",
    "list_runs",
    "parse_int",
    "parse_queue_query",
    "queue_page",
    "queue_rows",
    "run_facets",
]

#: Customer classes flagged in a list of their own (detectors.flagging.OWN_LIST_CLASSES):
#: the queue shows them only when that class is chosen.
OWN_LISTS = ("data_centre",)
#: Page sizes offered in the queue.
PAGE_SIZES = (25, 50, 100, 200)
#: Status filter values: every case status, plus "open" (not confirmed or cleared).
STATUS_FILTERS = ("open", *CASE_STATUSES)
#: Special assignee filter value: cases nobody is assigned to.
UNASSIGNED = "-"
#: Largest id a whole-number parameter may name: ids, hotspots and versions are
#: ``INTEGER`` columns, 32-bit signed on PostgreSQL; a larger number overflows
#: in the database (``integer out of range``, or in the driver from 2**63 on).
MAX_ID = 2**31 - 1
#: ASCII digits only (``int()`` would also take "１" or "١"), at most 20 of them.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,20}")


class QueryError(GeoEnergyError, ValueError):
    """A queue parameter that cannot be used (shown to the user with HTTP 400)."""


def _case_state_subquery():
    """Latest review of every meter that has one: meter_id, status, assignee, version."""
    latest = (
        sa.select(Review.meter_id, sa.func.max(Review.version).label("v"))
        .group_by(Review.meter_id)
        .subquery("latest")
    )
    return (
        sa.select(
            Review.meter_id.label("meter_id"),
            Review.status.label("status"),
            Review.assignee.label("assignee"),
            (Review.version + 1).label("version"),
        )
        .join(latest, sa.and_(Review.meter_id == latest.c.meter_id, Review.version == latest.c.v))
        .subquery("case_state")
    )


@dataclass(frozen=True)
class QueueQuery:
    """What the queue shows.

    Parameters
    ----------
    run_id : int or None
        The detection run; ``None`` = the latest finished run.
    district, customer_class, status, assignee : str or None
        Exact-match filters; ``status`` may be ``"open"``; ``assignee`` may
        be ``"-"`` (unassigned).
    score_min, score_max : float or None
        Score range, inclusive, within [0, 1].
    hotspot : int or None
        Only members of this hotspot (``hotspots.id``).
    search : str or None
        Meter id or address text (``q``): cases whose meter id contains it,
        or, for roles that see addresses, whose address contains it (case
        does not matter).
    sort : str
        A key of :data:`SORTS`.
    descending : bool
        Sort direction.
    page, page_size : int
        1-based page; rows per page (one of :data:`PAGE_SIZES`).
    """

    run_id: int | None = None
    district: str | None = None
    customer_class: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    status: str | None = None
    assignee: str | None = None
    hotspot: int | None = None
    search: str | None = None
    sort: str = "rank"
    descending: bool = False
    page: int = 1
    page_size: int = 50

    def params(self, **changes) -> dict[str, str]:
        """Query-string parameters of this query (changed by ``changes``), defaults left out."""
        # Called for every link of a queue page: plain attribute reads, no
        # dataclasses.replace/asdict (which copy and re-validate).
        unknown = set(changes) - _DEFAULTS.keys()
        if unknown:
            raise TypeError(f"QueueQuery.params: unknown fields {sorted(unknown)}")
        out = {}
        for key, default in _DEFAULTS.items():
            value = changes[key] if key in changes else getattr(self, key)
            if value is None or value == default:
                continue
            if isinstance(value, bool):
                value = "1" if value else "0"
            out[_PARAM_NAMES.get(key, key)] = str(value)
        return out

    def filters(self) -> dict[str, object]:
        """The active filters (for audit records of exports)."""
        keys = ("district", "customer_class", "score_min", "score_max", "status")
        out = {k: getattr(self, k) for k in (*keys, "assignee", "hotspot", "search")}
        return {k: v for k, v in out.items() if v is not None}


_PARAM_NAMES = {
    "run_id": "run",
    "customer_class": "class",
    "descending": "desc",
    "search": "q",
}
#: Longest search text. [characters]
MAX_SEARCH_LENGTH = 100
#: Every field of a QueueQuery with its default, in order.
_DEFAULTS = asdict(QueueQuery())


@dataclass(frozen=True)
class SortSpec:
    label: str
    column: object = field(repr=False)


def _sorts(state) -> dict[str, SortSpec]:
    return {
        "rank": SortSpec("rank", Flag.rank),
        "score": SortSpec("score", Flag.score),
        "meter": SortSpec("meter", Flag.meter_id),
        "district": SortSpec("district", Flag.district),
        "class": SortSpec("customer class", Meter.customer_class),
        "onset": SortSpec("onset", Flag.onset_date),
        "status": SortSpec("status", sa.func.coalesce(state.c.status, "new")),
        "assignee": SortSpec("assignee", state.c.assignee),
        "hotspot": SortSpec("hotspot", Hotspot.label),
    }


#: Sort keys of the queue and what they sort by.
SORTS = tuple(_sorts(_case_state_subquery()))
#: Sort keys in words, for the sort control.
SORT_LABELS = {key: spec.label for key, spec in _sorts(_case_state_subquery()).items()}


def _text(params: Mapping[str, str], name: str, max_length: int = 200) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise QueryError(
            f"parameter {name!r} is {len(value)} characters long; at most {max_length}."
        )
    if any(ord(c) < 32 for c in value):
        raise QueryError(f"parameter {name!r} contains control characters; remove them.")
    return value


def parse_int(value, name: str, *, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """A whole-number parameter within ``[lo, hi]``, or None when empty.

    Every id, page and version from a request goes through here, so a number
    the database cannot hold (above :data:`MAX_ID`) is a :class:`QueryError`
    (HTTP 400), never an overflow deep in the database (HTTP 500).

    Raises
    ------
    QueryError
        Not a whole number, or outside ``[lo, hi]``; the message names the parameter.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _WHOLE_NUMBER.fullmatch(value):
        raise QueryError(f"parameter {name}={value!r} is not a whole number.")
    out = int(value)
    if not lo <= out <= hi:
        raise QueryError(f"parameter {name}={out} is out of range; use {lo} to {hi}.")
    return out


def _int(params, name, *, lo: int = 1, hi: int = MAX_ID) -> int | None:
    return parse_int(_text(params, name, 20), name, lo=lo, hi=hi)


def _score(params, name) -> float | None:
    value = _text(params, name, 30)
    if value is None:
        return None
    try:
        out = float(value)
    except ValueError:
        raise QueryError(f"parameter {name}={value!r} is not a number; use 0 to 1.") from None
    if not math.isfinite(out) or not 0.0 <= out <= 1.0:
        raise QueryError(f"parameter {name}={value!r} is outside the score range 0 to 1.")
    return out


def _search(params) -> str | None:
    value = _text(params, "q", MAX_SEARCH_LENGTH)
    if value is None:
        return None
    return value.strip() or None


def parse_queue_query(params: Mapping[str, str]) -> QueueQuery:
    """Build a :class:`QueueQuery` from query-string parameters.

    Parameters
    ----------
    params : mapping
        ``run``, ``district``, ``class``, ``score_min``, ``score_max``,
        ``status``, ``assignee``, ``hotspot``, ``q`` (search), ``sort``, ``desc`` (0/1),
        ``page``, ``page_size``. Empty values mean "no filter".

    Raises
    ------
    QueryError
        A parameter with a value that is not allowed; the message names it.
    """
    cls = _text(params, "class")
    if cls is not None and cls not in CUSTOMER_CLASSES:
        raise QueryError(f"class {cls!r} is not a customer class; use one of {CUSTOMER_CLASSES}.")
    status = _text(params, "status")
    if status is not None and status not in STATUS_FILTERS:
        raise QueryError(f"status {status!r} is not a status; use one of {STATUS_FILTERS}.")
    sort = _text(params, "sort") or "rank"
    if sort not in SORTS:
        raise QueryError(f"sort {sort!r} is not a sort key; use one of {SORTS}.")
    desc = _text(params, "desc")
    if desc not in (None, "0", "1"):
        raise QueryError(f"desc={desc!r}; use 0 (ascending) or 1 (descending).")
    page_size = _int(params, "page_size", lo=0) or 50
    if page_size not in PAGE_SIZES:
        raise QueryError(f"page_size={page_size}; use one of {PAGE_SIZES}.")
    q = QueueQuery(
        run_id=_int(params, "run", lo=1),
        district=_text(params, "district"),
        customer_class=cls,
        score_min=_score(params, "score_min"),
        score_max=_score(params, "score_max"),
        status=status,
        assignee=_text(params, "assignee", 64),
        hotspot=_int(params, "hotspot", lo=1),
        search=_search(params),
        sort=sort,
        descending=desc == "1",
        page=_int(params, "page", lo=1, hi=10_000_000) or 1,
        page_size=page_size,
    )
    if q.score_min is not None and q.score_max is not None and q.score_min > q.score_max:
        raise QueryError(f"score_min={q.score_min} is above score_max={q.score_max}; swap them.")
    return q


# -- runs ---------------------------------------------------------------------------


def list_runs(session, limit: int = 50) -> list[dict]:
    """The latest detection runs, newest first: id, detector, version, times, counts."""
    rows = session.execute(
        sa.select(
            DetectionRun.id,
            DetectionRun.detector,
            DetectionRun.version,
            DetectionRun.started_at,
            DetectionRun.finished_at,
            DetectionRun.n_meters,
            DetectionRun.n_flagged,
        )
        .order_by(DetectionRun.id.desc())
        .limit(limit)
    ).all()
    return [r._asdict() for r in rows]


def flagged_list_summary(session, run_id: int | None) -> dict | None:
    """How a run's flagged list was chosen and its expected precision, for the queue.

    Read from the run's model card (``flagged_list``, written by
    :func:`geoenergy.detection.run_detection` from the scores'
    ``attrs["flagging"]``).

    Returns
    -------
    dict or None
        ``method``, ``fdr``, ``n_scored``, ``n_flagged`` and
        ``expected_precision`` (share of the flagged meters expected to host
        mining, in [0, 1], or None) of the main list, ``n_labels`` (the
        inspections it was checked against; None when it comes from the
        simulated null alone) and ``lists``: the same
        per list (e.g. registered data centres apart); None for a run without
        that record (runs from before the false-discovery flagging).
    """
    if run_id is None:
        return None
    card = session.scalar(sa.select(DetectionRun.model_card).where(DetectionRun.id == run_id))
    info = (card or {}).get("flagged_list") if isinstance(card, dict) else None
    if not isinstance(info, dict) or "expected_precision" not in info:
        return None
    lists = info.get("lists") if isinstance(info.get("lists"), dict) else {}
    return {
        "method": info.get("method"),
        "fdr": info.get("fdr"),
        "n_scored": info.get("n_scored"),
        "n_flagged": info.get("n_flagged"),
        "expected_precision": info.get("expected_precision"),
        # inspections behind it (None: from the simulated null alone, not yet checked)
        "n_labels": (
            info.get("n_labels") if info.get("expected_precision_labels") is not None else None
        ),
        "lists": {str(k): v for k, v in lists.items() if isinstance(v, dict)},
    }


def latest_run(session) -> int | None:
    """Id of the latest finished detection run (or of the latest run if none finished)."""
    rid = session.scalar(
        sa.select(sa.func.max(DetectionRun.id)).where(DetectionRun.finished_at.is_not(None))
    )
    if rid is None:
        rid = session.scalar(sa.select(sa.func.max(DetectionRun.id)))
    return rid


class _FacetCache:
    """Districts and hotspots per run. A run's flags do not change once written."""

    def __init__(self, maxsize: int = 32):
        self._data: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def get(self, key, compute):
        with self._lock:
            if key in self._data:
                return self._data[key]
        value = compute()
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._data.pop(next(iter(self._data)))
            self._data[key] = value
        return value


_FACETS = _FacetCache()

#: Hotspots offered in the queue's filter list (the largest first); others are
#: reachable from a case page's hotspot link.
MAX_HOTSPOT_CHOICES = 300


def _run_key(session, run_id: int):
    """Cache key of a run's immutable data, or None while the run is still being written.

    Looked up once per session (one page), however many caches ask.
    """
    memo = session.info.setdefault("geoenergy.run_keys", {})
    if run_id in memo:
        return memo[run_id]
    finished = session.scalar(sa.select(DetectionRun.finished_at).where(DetectionRun.id == run_id))
    key = None
    if finished is not None:
        key = (str(session.get_bind().url), run_id, finished.isoformat())
    memo[run_id] = key
    return key


def run_facets(session, run_id: int) -> dict:
    """Filter choices of a run: ``{"districts": [...], "hotspots": [(id, label, n)]}``.

    Cached per process for finished runs (their flags never change); a run
    still being written is read afresh.
    """

    def compute():
        districts = session.scalars(
            sa.select(Flag.district)
            .where(Flag.run_id == run_id, Flag.flagged.is_(True), Flag.district.is_not(None))
            .distinct()
            .order_by(Flag.district)
        ).all()
        hotspots = session.execute(
            sa.select(Hotspot.id, Hotspot.label, Hotspot.n_flagged)
            .where(Hotspot.run_id == run_id)
            .order_by(Hotspot.n_flagged.desc(), Hotspot.id)
            .limit(MAX_HOTSPOT_CHOICES)
        ).all()
        return {
            "districts": list(districts),
            "hotspots": [tuple(h) for h in sorted(hotspots, key=lambda h: h.label)],
        }

    key = _run_key(session, run_id)
    return compute() if key is None else _FACETS.get(("facets", *key), compute)


# -- the queue ----------------------------------------------------------------------


def _needs_state(q: QueueQuery) -> bool:
    return bool(q.status or q.assignee or q.sort in ("status", "assignee"))


def _meters_where(state, condition):
    """Meters whose case state (latest review) meets ``condition``: a small set, since
    only reviewed meters have a state, used as a semi-join on the flags."""
    return sa.select(state.c.meter_id).where(condition)


def _search_condition(text: str, with_addresses: bool):
    """Meter id contains ``text``, or (with addresses) the address does; any case."""
    needle = text.lower()
    cond = sa.func.lower(Flag.meter_id).contains(needle, autoescape=True)
    if with_addresses:
        cond = sa.or_(cond, sa.func.lower(Meter.address).contains(needle, autoescape=True))
    return cond


def _base(q: QueueQuery, run_id: int, state, *, with_addresses: bool = True):
    """The flags matching ``q``'s filters, joined only to what the filters and sort need.

    The search looks in addresses only ``with_addresses``: a role that may not
    see addresses must not learn them by searching.
    """
    stmt = sa.select(Flag.id).where(Flag.run_id == run_id, Flag.flagged.is_(True))
    # Without a class filter this is the household and shop queue: registered data
    # centres are flagged in their own list (class=data_centre), ranked among themselves.
    stmt = stmt.join(Meter, Meter.meter_id == Flag.meter_id)
    if q.customer_class is None:
        stmt = stmt.where(
            sa.or_(Meter.customer_class.is_(None), Meter.customer_class.not_in(OWN_LISTS))
        )
    if q.sort == "hotspot":
        stmt = stmt.outerjoin(Hotspot, Hotspot.id == Flag.hotspot_id)
    if q.sort in ("status", "assignee"):
        stmt = stmt.outerjoin(state, state.c.meter_id == Flag.meter_id)
    if q.district is not None:
        stmt = stmt.where(Flag.district == q.district)
    if q.customer_class is not None:
        stmt = stmt.where(Meter.customer_class == q.customer_class)
    if q.score_min is not None:
        stmt = stmt.where(Flag.score >= q.score_min)
    if q.score_max is not None:
        stmt = stmt.where(Flag.score <= q.score_max)
    if q.hotspot is not None:
        stmt = stmt.where(Flag.hotspot_id == q.hotspot)
    if q.search is not None:
        stmt = stmt.where(_search_condition(q.search, with_addresses))
    # Status and assignee filters are semi-joins on the reviewed meters: a join of
    # every flag to the case states would make PostgreSQL walk the whole run.
    if q.status == "new":
        stmt = stmt.where(~sa.exists().where(Review.meter_id == Flag.meter_id))
    elif q.status == "open":
        closed = _meters_where(state, state.c.status.in_(CLOSED_STATUSES))
        stmt = stmt.where(Flag.meter_id.not_in(closed))
    elif q.status is not None:
        stmt = stmt.where(Flag.meter_id.in_(_meters_where(state, state.c.status == q.status)))
    if q.assignee == UNASSIGNED:
        assigned = _meters_where(state, state.c.assignee.is_not(None))
        stmt = stmt.where(Flag.meter_id.not_in(assigned))
    elif q.assignee is not None:
        stmt = stmt.where(Flag.meter_id.in_(_meters_where(state, state.c.assignee == q.assignee)))
    return stmt


def _latest(column):
    """``column`` of the meter's latest review, as a correlated subquery (uses the
    unique (meter_id, version) index: one index probe per row)."""
    return (
        sa.select(column)
        .where(Review.meter_id == Flag.meter_id)
        .order_by(Review.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _columns():
    return (
        Flag.id.label("flag_id"),
        Flag.meter_id,
        Flag.rank,
        Flag.score,
        Flag.reasons,
        Flag.district,
        Flag.building_use,
        Flag.onset_date,
        Flag.hotspot_id,
        Hotspot.label.label("hotspot"),
        Meter.customer_class,
        Meter.address,
        Meter.lon,
        Meter.lat,
        sa.func.coalesce(_latest(Review.status), "new").label("status"),
        _latest(Review.assignee).label("assignee"),
        sa.func.coalesce(_latest(Review.version + 1), 0).label("version"),
    )


def _ordered(stmt, q: QueueQuery, state):
    col = _sorts(state)[q.sort].column
    primary = col.desc() if q.descending else col.asc()
    if q.sort in ("district", "onset", "assignee", "hotspot"):
        primary = primary.nulls_last()
    return stmt.order_by(primary, Flag.rank, Flag.id)


def _row(r, with_addresses: bool) -> dict:
    d = r._asdict()
    reasons = d.get("reasons")
    if isinstance(reasons, dict):
        reasons = [f"{k}: {v}" for k, v in reasons.items()]
    d["reasons"] = [str(x) for x in (reasons or [])]
    if not with_addresses:
        for k in ("address", "lon", "lat"):
            d.pop(k, None)
    return d


def _rows_of(session, ids: list[int], with_addresses: bool) -> list[dict]:
    """The queue rows of flags ``ids``, in that order."""
    if not ids:
        return []
    stmt = (
        sa.select(*_columns())
        .join(Meter, Meter.meter_id == Flag.meter_id)
        .outerjoin(Hotspot, Hotspot.id == Flag.hotspot_id)
        .where(Flag.id.in_(ids))
    )
    by_id = {r.flag_id: _row(r, with_addresses) for r in session.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


def _count(session, q: QueueQuery, run_id: int, state, with_addresses: bool = True) -> int:
    stmt = _base(
        replace(q, sort="rank"), run_id, state, with_addresses=with_addresses
    ).with_only_columns(sa.func.count(Flag.id))
    if _needs_state(q):
        return session.scalar(stmt)  # depends on reviews: always fresh
    key = _run_key(session, run_id)
    if key is None:
        return session.scalar(stmt)
    return _FACETS.get(
        ("count", *key, _filter_key(q, with_addresses)), lambda: session.scalar(stmt)
    )


def _filter_key(q: QueueQuery, with_addresses: bool) -> tuple:
    """What selects a run's flags in ``q`` (not the order): a cache key's filter part."""
    return (
        q.district,
        q.customer_class,
        q.score_min,
        q.score_max,
        q.hotspot,
        q.search,
        with_addresses and q.search is not None,
    )


def queue_page(session, q: QueueQuery, *, with_addresses: bool) -> dict:
    """One page of the queue.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    q : QueueQuery
        Filters, sort and page.
    with_addresses : bool
        Include ``address``, ``lon`` and ``lat`` (roles with ``cases.addresses``).

    Returns
    -------
    dict
        ``run_id`` (None when the store has no run), ``total`` (matching
        cases), ``pages``, ``page``, ``rows`` (list of dicts: flag_id,
        meter_id, rank, score, reasons (list of str), district, building_use,
        onset_date, hotspot_id, hotspot, customer_class, status, assignee,
        version, and address/lon/lat when ``with_addresses``).

    Notes
    -----
    The page is found on the flags alone (the (run_id, rank) index for the
    default order), and only its rows are joined to meters, hotspots and
    their latest review, so a deep page of a 100,000-flag run stays cheap.
    Counts of filters that do not depend on reviews are cached per finished
    run.
    """
    run_id = q.run_id or latest_run(session)
    out = {"run_id": run_id, "total": 0, "pages": 1, "page": q.page, "rows": []}
    if run_id is None:
        return out
    if q.run_id is not None and session.get(DetectionRun, q.run_id) is None:
        raise QueryError(f"there is no detection run {q.run_id}; pick one from the list.")
    state = _case_state_subquery()
    ids_stmt = _ordered(_base(q, run_id, state, with_addresses=with_addresses), q, state)
    ordered = _ordered_ids(session, q, run_id, ids_stmt, with_addresses)
    if ordered is not None:
        total = len(ordered)
    else:
        total = _count(session, q, run_id, state, with_addresses)
    pages = max(1, math.ceil(total / q.page_size))
    page = min(q.page, pages)
    lo = (page - 1) * q.page_size
    if ordered is not None:
        ids = ordered[lo : lo + q.page_size].tolist()
    else:
        ids = list(session.scalars(ids_stmt.limit(q.page_size).offset(lo)))
    out.update(total=total, pages=pages, page=page, rows=_rows_of(session, ids, with_addresses))
    return out


#: Orders of finished runs kept per process (each a few hundred kB per 100,000 flags).
_ORDERS = _FacetCache(maxsize=8)


def _ordered_ids(session, q: QueueQuery, run_id: int, ids_stmt, with_addresses: bool):
    """The flag ids of the whole queue in order, cached when they cannot change.

    A finished run's flags never change, so when neither the filters nor the
    sort depend on reviews (status, assignee), the order is computed once per
    process and a deep page is a slice: no ``OFFSET`` scan of 100,000 rows per
    request. Returns None when the order depends on reviews or the run is
    still being written.
    """
    import numpy as np

    if _needs_state(q):
        return None
    key = _run_key(session, run_id)
    if key is None:
        return None
    cache_key = ("order", *key, *_filter_key(q, with_addresses), q.sort, q.descending)
    return _ORDERS.get(cache_key, lambda: np.fromiter(session.scalars(ids_stmt), dtype=np.int64))


def queue_rows(
    session, q: QueueQuery, *, with_addresses: bool, batch: int = 2000
) -> Iterator[dict]:
    """Every row of the queue matching ``q`` (all pages), in order, fetched in batches."""
    run_id = q.run_id or latest_run(session)
    if run_id is None:
        return
    state = _case_state_subquery()
    base = _base(q, run_id, state, with_addresses=with_addresses)
    ids = list(session.scalars(_ordered(base, q, state)))
    for lo in range(0, len(ids), batch):
        yield from _rows_of(session, ids[lo : lo + batch], with_addresses)
