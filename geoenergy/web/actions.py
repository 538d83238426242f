"""Actions on inspection cases: append-only, audited, safe under concurrency.

A *case* is one meter's inspection file; it lives across detection runs (a
meter confirmed as mining stays confirmed when the next run flags it again).
Every action inserts one :class:`~geoenergy.store.Review` row and one
:class:`~geoenergy.store.AuditLog` row with the case state before and after,
in one transaction. Nothing is updated in place or deleted (database
triggers refuse it).

Concurrency: a case's *version* is the number of actions on it so far. The
form carries the version the user saw; the new review row stores it, and
``UNIQUE(meter_id, version)`` lets only the first of two people acting on the
same version succeed. The second gets :class:`ConflictError` ("someone else
acted on this case, reload"), and their input is shown back to them, so
nothing is lost.

Recording the outcome "mining" or "not_mining" also writes the training
label (:class:`~geoenergy.store.InspectionLabel`, ``source="review"``) in the
same transaction; "no_access" is not a label. A "mining" outcome may carry
the classified rectification: the kind of site and the measure taken, codes
of the workspace's vocabularies (:mod:`geoenergy.rectification`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from geoenergy.errors import GeoEnergyError
from geoenergy.rectification import Vocabulary
from geoenergy.store import (
    LABELS,
    REVIEW_OUTCOMES,
    Flag,
    InspectionLabel,
    Meter,
    Review,
    User,
    record_audit,
)
from geoenergy.web.roles import PERMISSIONS
from geoenergy.web.zone import zone_label

__all__ = [
    "ACTIONS",
    "CASE_STATUSES",
    "CLOSED_STATUSES",
    "MAX_NOTE_LENGTH",
    "OUTCOME_STATUS",
    "ActionError",
    "CaseNotFoundError",
    "CaseState",
    "ConflictError",
    "case_state",
    "record_action",
    "state_of",
]

#: Case statuses, in the order a case usually moves through them.
CASE_STATUSES = ("new", "assigned", "scheduled", "no_access", "confirmed", "cleared")
#: Statuses of a finished case (the inspection found the answer).
CLOSED_STATUSES = ("confirmed", "cleared")
#: Status a case takes when an outcome is recorded.
OUTCOME_STATUS = {"mining": "confirmed", "not_mining": "cleared", "no_access": "no_access"}
#: Words for the outcomes, for pages and exports.
OUTCOME_WORDS = {
    "mining": "confirmed mining",
    "not_mining": "not mining",
    "no_access": "could not access",
}
#: Longest note. [characters]
MAX_NOTE_LENGTH = 4000
#: How far a scheduled inspection date may lie from today. [days]
MAX_SCHEDULE_AHEAD_DAYS = 366


@dataclass(frozen=True)
class ActionSpec:
    """One kind of action: what it needs and what it does to the case status."""

    label: str
    needs: tuple[str, ...]
    description: str


#: ``{action: ActionSpec}``; the form fields each action requires.
ACTIONS: dict[str, ActionSpec] = {
    "assign": ActionSpec(
        "Assign", ("assignee",), "give the case to a member of the field team (status assigned)"
    ),
    "schedule": ActionSpec(
        "Schedule inspection",
        ("date",),
        "set the planned inspection date (status scheduled; stored in inspected_on)",
    ),
    "outcome": ActionSpec(
        "Record outcome",
        ("outcome", "date"),
        "what the inspection found and when (status confirmed, cleared or no_access)",
    ),
    "note": ActionSpec("Add note", ("note",), "a note; the status does not change"),
}


class ActionError(GeoEnergyError, ValueError):
    """An action that cannot be recorded as given (missing or invalid field)."""


class CaseNotFoundError(GeoEnergyError, LookupError):
    """No meter with this id in the registry (HTTP 404)."""


class ConflictError(GeoEnergyError):
    """Someone else acted on the case since the user loaded it.

    Attributes
    ----------
    seen_version, current_version : int
        The version the user's action was based on and the case's version now.
    """

    def __init__(self, meter_id: str, seen_version: int, current_version: int, last=None, tz=None):
        self.meter_id = meter_id
        self.seen_version = seen_version
        self.current_version = current_version
        who = ""
        if last is not None:
            at = last.created_at
            if tz is not None and at.tzinfo is not None:
                at = at.astimezone(tz)
                zone = zone_label(tz, last.created_at)
            else:
                zone = "UTC"
            who = f" ({last.created_by} recorded '{last.action}' at {at:%H:%M}, {zone})"
        super().__init__(
            f"someone else acted on case {meter_id} since you opened it{who}. Nothing was "
            f"saved: reload the case to see their action, then submit yours again."
        )


@dataclass(frozen=True)
class CaseState:
    """The state of a case after its latest action.

    ``version`` is the number of actions so far; the next action must carry it.
    ``scheduled_on`` is the planned date of the latest ``schedule`` action.
    """

    meter_id: str
    status: str = "new"
    assignee: str | None = None
    version: int = 0
    scheduled_on: dt.date | None = None
    outcome: str | None = None
    inspected_on: dt.date | None = None
    site_kind: str | None = None
    measure: str | None = None

    def as_dict(self) -> dict:
        out = {
            "status": self.status,
            "assignee": self.assignee,
            "version": self.version,
            "scheduled_on": self.scheduled_on,
            "outcome": self.outcome,
            "inspected_on": self.inspected_on,
        }
        if self.site_kind or self.measure:
            out.update(site_kind=self.site_kind, measure=self.measure)
        return out


def case_state(session, meter_id: str) -> CaseState:
    """The current state of ``meter_id``'s case (``status="new"``, version 0 if untouched)."""
    reviews = session.scalars(
        sa.select(Review).where(Review.meter_id == meter_id).order_by(Review.version)
    ).all()
    return state_of(meter_id, reviews)


def state_of(meter_id: str, reviews) -> CaseState:
    """The case state after ``reviews`` (the case's review rows, in version order)."""
    state = CaseState(meter_id)
    for r in reviews:
        state = _apply(state, r)
    return state


def _apply(state: CaseState, r: Review) -> CaseState:
    kw = state.as_dict()
    kw.update(status=r.status, assignee=r.assignee, version=r.version + 1)
    if r.action == "schedule":
        kw["scheduled_on"] = r.inspected_on
    elif r.action == "outcome":
        kw.update(
            outcome=r.outcome,
            inspected_on=r.inspected_on,
            scheduled_on=None,
            site_kind=getattr(r, "site_kind", None),
            measure=getattr(r, "measure", None),
        )
    return CaseState(meter_id=state.meter_id, **kw)


def check_text(value, name: str, *, max_length: int, required: bool = False) -> str | None:
    """Check a free-text field: kept verbatim, but no control characters but tab/newline.

    PostgreSQL refuses NUL in text and other control characters hide content
    in exports; everything else (any script, quotes, ``<``, SQL) is stored as
    typed and escaped where it is shown.
    """
    if value is None or value == "":
        if required:
            raise ActionError(f"{name} is empty; fill it in.")
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}.")
    if len(value) > max_length:
        raise ActionError(
            f"{name} has {len(value):,} characters; shorten it to at most {max_length:,}."
        )
    bad = sorted(
        {c for c in value if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r"}
    )
    if bad:
        raise ActionError(
            f"{name} contains control characters {bad!r}; remove them (tabs and line "
            f"breaks are fine)."
        )
    if required and not value.strip():
        raise ActionError(f"{name} is blank; write something.")
    return value


def _check_date(value, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a date, not a datetime: {value!r}.")
    if isinstance(value, dt.date):
        return value
    if not value:
        raise ActionError(f"{name} is missing; give a date as YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ActionError(f"{name} {value!r} is not a date; use YYYY-MM-DD.") from None


def _check_action(
    action, version, *, assignee, date, outcome, note, today: dt.date
) -> tuple[str | None, dt.date | None, str | None, str | None]:
    if action not in ACTIONS:
        raise ActionError(f"action {action!r} is not an action; use one of {', '.join(ACTIONS)}.")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ActionError(
            f"version {version!r} is not a case version (a whole number >= 0); reload the case."
        )
    note = check_text(note, "note", max_length=MAX_NOTE_LENGTH, required=action == "note")
    if action == "assign":
        assignee = check_text(assignee, "assignee", max_length=64, required=True)
    else:
        assignee = None
    day = None
    if action == "schedule":
        day = _check_date(date, "date")
        if abs((day - today).days) > MAX_SCHEDULE_AHEAD_DAYS:
            raise ActionError(
                f"date {day.isoformat()} is more than {MAX_SCHEDULE_AHEAD_DAYS} days from "
                f"today ({today.isoformat()}); check the year."
            )
    if action == "outcome":
        if outcome not in REVIEW_OUTCOMES:
            raise ActionError(
                f"outcome {outcome!r} is not an outcome; use one of {', '.join(REVIEW_OUTCOMES)}."
            )
        day = _check_date(date, "date")
        if day > today:
            raise ActionError(
                f"inspection date {day.isoformat()} is in the future (today is "
                f"{today.isoformat()}); record the outcome on or after the inspection."
            )
    else:
        outcome = None
    return assignee, day, outcome, note


def _check_rectification(
    outcome, site_kind, measure, vocabulary: Vocabulary | None
) -> tuple[str | None, str | None]:
    """Kind of site and measure: codes of the vocabulary, only with a "mining" outcome."""
    site_kind = site_kind or None
    measure = measure or None
    if outcome != "mining":
        if site_kind or measure:
            raise ActionError(
                "a kind of site and a measure are recorded only with the outcome "
                "'confirmed mining'; clear them or choose that outcome."
            )
        return None, None
    vocab = vocabulary or Vocabulary()
    for value, name, allowed in (
        (site_kind, "kind of site", vocab.site_kinds),
        (measure, "measure", vocab.measures),
    ):
        if value is not None and value not in allowed:
            raise ActionError(
                f"{name} {value!r} is not in the workspace's list; use one of "
                f"{', '.join(allowed)} (geoenergy.toml [rectification])."
            )
    return site_kind, measure


def record_action(
    store,
    *,
    meter_id: str,
    action: str,
    version: int,
    actor: str,
    today: dt.date,
    run_id: int | None = None,
    assignee: str | None = None,
    date: dt.date | str | None = None,
    outcome: str | None = None,
    note: str | None = None,
    site_kind: str | None = None,
    measure: str | None = None,
    vocabulary: Vocabulary | None = None,
    tz=None,
) -> Review:
    """Record one action on a case: a new review row, its audit entry and any label.

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    meter_id : str
        The case's meter.
    action : str
        A key of :data:`ACTIONS`: ``assign``, ``schedule``, ``outcome`` or ``note``.
    version : int
        The case version the user saw (:attr:`CaseState.version`).
    actor : str
        User name of who acts.
    today : datetime.date
        Today's local date in the workspace zone (an outcome cannot be dated later).
    run_id : int, optional
        The detection run the user was looking at; its flag is linked to the review.
    assignee : str, optional
        ``assign``: an active user allowed to be assigned (``cases.assignee``).
    date : date or str, optional
        ``schedule``: the planned inspection date; ``outcome``: the inspection
        date (local date, not in the future).
    outcome : str, optional
        ``outcome``: ``mining``, ``not_mining`` or ``no_access``.
    note : str, optional
        Free text, kept verbatim (required for ``note``).
    site_kind, measure : str, optional
        ``outcome`` "mining" only: the kind of site and the measure taken,
        codes of ``vocabulary``.
    vocabulary : geoenergy.rectification.Vocabulary, optional
        The workspace's vocabularies (default the built-in ones).
    tz : zoneinfo.ZoneInfo, optional
        Zone of the time in a conflict message (default UTC).

    Returns
    -------
    geoenergy.store.Review
        The new review row.

    Raises
    ------
    ActionError
        A missing or invalid field or an unknown assignee.
    CaseNotFoundError
        No meter ``meter_id`` in the registry.
    ConflictError
        The case changed since ``version`` (someone else acted first).
    """
    assignee, day, outcome, note = _check_action(
        action, version, assignee=assignee, date=date, outcome=outcome, note=note, today=today
    )
    site_kind, measure = _check_rectification(outcome, site_kind, measure, vocabulary)
    for attempt in range(3):
        try:
            return _record(
                store,
                meter_id=meter_id,
                action=action,
                version=version,
                actor=actor,
                run_id=run_id,
                assignee=assignee,
                day=day,
                outcome=outcome,
                note=note,
                site_kind=site_kind,
                measure=measure,
                tz=tz,
            )
        except IntegrityError as exc:
            # Two transactions passed the version check at once; the unique
            # (meter_id, version) index let the other one win.
            if not _is_version_clash(exc):
                raise
            with store.session() as s:
                last = _last_review(s, meter_id)
                current = case_state(s, meter_id).version
            raise ConflictError(meter_id, version, current, last, tz) from None
        except OperationalError as exc:
            # SQLite under write contention: "database is locked" after the busy
            # timeout. Retry; the version check then decides.
            if "locked" not in str(exc).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _is_version_clash(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "version" in text and ("unique" in text or "duplicate" in text)


def _last_review(session, meter_id: str) -> Review | None:
    return session.scalar(
        sa.select(Review)
        .where(Review.meter_id == meter_id)
        .order_by(Review.version.desc())
        .limit(1)
    )


def _record(
    store,
    *,
    meter_id,
    action,
    version,
    actor,
    run_id,
    assignee,
    day,
    outcome,
    note,
    site_kind=None,
    measure=None,
    tz=None,
) -> Review:
    with store.session() as s:
        if s.scalar(sa.select(Meter.id).where(Meter.meter_id == meter_id)) is None:
            raise CaseNotFoundError(f"there is no meter {meter_id!r} in the registry.")
        before = case_state(s, meter_id)
        if version != before.version:
            if version > before.version:
                raise ActionError(
                    f"version {version} is ahead of the case (version {before.version}); "
                    f"reload the case."
                )
            raise ConflictError(meter_id, version, before.version, _last_review(s, meter_id), tz)
        if before.status in CLOSED_STATUSES and action in ("assign", "schedule"):
            # A closed case is not worked on again; a corrected outcome (a new
            # ``outcome`` for the same inspection) and notes are still recorded.
            raise ActionError(
                f"case {meter_id!r} is closed ({before.status}); it cannot be {action}ed. "
                f"Add a note, or record a corrected outcome if the inspection was misread."
            )
        if action == "assign":
            roles = PERMISSIONS["cases.assignee"][0]
            ok = s.scalar(
                sa.select(User.id).where(
                    User.name == assignee, User.active.is_(True), User.role.in_(roles)
                )
            )
            if ok is None:
                raise ActionError(
                    f"assignee {assignee!r} is not an active member of the field team "
                    f"(roles {', '.join(roles)}); pick one from the list."
                )
        flag_id = None
        if run_id is not None:
            flag_id = s.scalar(
                sa.select(Flag.id).where(Flag.run_id == run_id, Flag.meter_id == meter_id)
            )
        status = before.status
        new_assignee = before.assignee
        if action == "assign":
            status, new_assignee = "assigned", assignee
        elif action == "schedule":
            status = "scheduled"
        elif action == "outcome":
            status = OUTCOME_STATUS[outcome]
        review = Review(
            meter_id=meter_id,
            flag_id=flag_id,
            action=action,
            status=status,
            assignee=new_assignee,
            outcome=outcome,
            inspected_on=day,
            note=note,
            version=version,
            created_by=actor,
            site_kind=site_kind,
            measure=measure,
        )
        s.add(review)
        s.flush()
        after = _apply(before, review)
        record_audit(
            s,
            actor=actor,
            action=f"review.{action}",
            entity="cases",
            entity_id=meter_id,
            before=before.as_dict(),
            after={
                **after.as_dict(),
                "review_id": review.id,
                "run_id": run_id,
                "flag_id": flag_id,
                "note": note,
            },
        )
        if outcome in LABELS:
            _write_label(s, meter_id=meter_id, label=outcome, day=day, actor=actor, review=review)
        return review


def _write_label(s, *, meter_id, label, day, actor, review) -> None:
    existing = s.scalar(
        sa.select(InspectionLabel).where(
            InspectionLabel.meter_id == meter_id, InspectionLabel.inspected_on == day
        )
    )
    before = None
    if existing is None:
        s.add(InspectionLabel(meter_id=meter_id, label=label, inspected_on=day, source="review"))
    else:
        # One label per meter and day (a unique key). A corrected outcome for the
        # same inspection replaces it; the audit log keeps what it was.
        before = {"label": existing.label, "source": existing.source}
        existing.label = label
        existing.source = "review"
    record_audit(
        s,
        actor=actor,
        action="label.from_review",
        entity="inspection_labels",
        entity_id=f"{meter_id}@{day.isoformat()}",
        before=before,
        after={"label": label, "source": "review", "review_id": review.id},
    )
