"""Actions on cases without HTTP: state machine, audit, labels, concurrency."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
import sqlalchemy as sa

from geoenergy.store import AuditLog, InspectionLabel, Review, Store
from geoenergy.web.actions import (
    ActionError,
    CaseNotFoundError,
    ConflictError,
    case_state,
    record_action,
)

TODAY = dt.date(2023, 11, 25)


@pytest.fixture
def store(web_ws):
    with Store.for_workspace(web_ws) as store:
        yield store


def act(store, action, version, **kw):
    kw.setdefault("actor", "eve")
    return record_action(
        store, meter_id=kw.pop("meter_id", "M1"), action=action, version=version, today=TODAY, **kw
    )


def test_a_case_moves_through_its_states(store):
    act(store, "assign", 0, assignee="ed", run_id=2)
    act(store, "schedule", 1, date="2023-11-28", note="with the police")
    act(store, "note", 2, note="owner not home on the 26th")
    act(store, "outcome", 3, outcome="mining", date=dt.date(2023, 11, 24))
    with store.session() as s:
        state = case_state(s, "M1")
        reviews = s.scalars(sa.select(Review).order_by(Review.version)).all()
        audits = s.scalars(
            sa.select(AuditLog).where(AuditLog.entity == "cases").order_by(AuditLog.id)
        ).all()
    assert (state.status, state.assignee, state.version) == ("confirmed", "ed", 4)
    assert (state.outcome, state.inspected_on, state.scheduled_on) == (
        "mining",
        dt.date(2023, 11, 24),
        None,
    )
    assert [(r.action, r.status, r.assignee) for r in reviews] == [
        ("assign", "assigned", "ed"),
        ("schedule", "scheduled", "ed"),
        ("note", "scheduled", "ed"),
        ("outcome", "confirmed", "ed"),
    ]
    assert reviews[1].inspected_on == dt.date(2023, 11, 28)  # the planned date
    assert reviews[0].flag_id is not None and reviews[1].flag_id is None
    # One audit entry per action, chaining before -> after.
    assert [a.action for a in audits] == [
        "review.assign",
        "review.schedule",
        "review.note",
        "review.outcome",
    ]
    for prev, nxt in itertools.pairwise(audits):
        assert nxt.before["version"] == prev.after["version"]
        assert nxt.before["status"] == prev.after["status"]
    assert audits[1].after["scheduled_on"] == "2023-11-28"


@pytest.mark.parametrize("outcome", ["mining", "not_mining"])
@pytest.mark.parametrize(
    "action, kw",
    [
        ("assign", {"assignee": "ed"}),
        ("schedule", {"date": "2023-11-28"}),
    ],
)
def test_a_closed_case_is_not_assigned_or_scheduled(store, outcome, action, kw):
    # The page hides these forms on a closed case; a direct POST is refused too.
    act(store, "outcome", 0, outcome=outcome, date=dt.date(2023, 11, 24))
    with pytest.raises(ActionError, match=r"closed \((confirmed|cleared)\); it cannot be"):
        act(store, action, 1, **kw)
    act(store, "note", 1, note="owner appealed")
    with store.session() as s:
        state = case_state(s, "M1")
    assert state.version == 2 and state.status in ("confirmed", "cleared")


def test_reviews_and_audit_are_append_only(store):
    act(store, "note", 0, note="first")
    for table in ("reviews", "audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.session() as s:
            s.execute(sa.text(f"UPDATE {table} SET id = id"))
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.session() as s:
            s.execute(sa.text(f"DELETE FROM {table}"))


@pytest.mark.parametrize(
    ("action", "kw", "words"),
    [
        ("delete", {}, "not an action"),
        ("note", {}, "note is empty"),
        ("note", {"note": "   "}, "note is blank"),
        ("note", {"note": "x" * 4001}, "at most 4,000"),
        ("note", {"note": "bell\x07"}, "control characters"),
        ("assign", {}, "assignee is empty"),
        ("assign", {"assignee": "ana"}, "not an active member of the field team"),
        ("assign", {"assignee": "old"}, "not an active member of the field team"),
        ("assign", {"assignee": "nobody"}, "not an active member of the field team"),
        ("schedule", {}, "date is missing"),
        ("schedule", {"date": "28/11/2023"}, "not a date; use YYYY-MM-DD"),
        ("schedule", {"date": "2030-01-01"}, "more than 366 days"),
        ("outcome", {"date": "2023-11-24"}, "outcome None is not an outcome"),
        ("outcome", {"outcome": "maybe", "date": "2023-11-24"}, "not an outcome"),
        ("outcome", {"outcome": "mining", "date": "2023-11-26"}, "is in the future"),
    ],
)
def test_bad_actions_are_refused_with_a_clear_message(store, action, kw, words):
    with pytest.raises(ActionError, match=words):
        act(store, action, 0, **kw)
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


def test_unknown_meter_and_bad_versions(store):
    with pytest.raises(CaseNotFoundError, match="no meter 'M9'"):
        act(store, "note", 0, note="x", meter_id="M9")
    with pytest.raises(ActionError, match="ahead of the case"):
        act(store, "note", 3, note="x")
    with pytest.raises(ActionError, match="not a case version"):
        act(store, "note", -1, note="x")
    act(store, "note", 0, note="x")
    with pytest.raises(ConflictError, match="someone else acted on case M1") as info:
        act(store, "note", 0, note="late", actor="ada")
    assert (info.value.seen_version, info.value.current_version) == (0, 1)
    assert "eve recorded 'note'" in str(info.value)


def test_outcomes_write_training_labels_in_the_same_transaction(store, web_ws):
    act(store, "outcome", 0, outcome="mining", date="2023-11-20")
    act(store, "outcome", 0, outcome="no_access", date="2023-11-21", meter_id="M2")
    # A corrected outcome for the same inspection replaces the label; the audit keeps it.
    act(store, "outcome", 1, outcome="not_mining", date="2023-11-20", note="it was a sauna")
    with store.session() as s:
        labels = s.execute(
            sa.select(InspectionLabel.meter_id, InspectionLabel.label, InspectionLabel.source)
        ).all()
        trail = s.scalars(
            sa.select(AuditLog).where(AuditLog.action == "label.from_review").order_by(AuditLog.id)
        ).all()
    assert [tuple(r) for r in labels] == [("M1", "not_mining", "review")]
    assert [t.before for t in trail] == [None, {"label": "mining", "source": "review"}]


def test_a_failed_label_write_rolls_back_the_review(store, monkeypatch):
    import geoenergy.web.actions as actions

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "_write_label", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        act(store, "outcome", 0, outcome="mining", date="2023-11-20")
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Review)) == 0
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.entity == "cases")
            )
            == 0
        )


def _race(n, target):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_actions_on_one_version_exactly_one_wins(store):
    """Eight people press "save" on the same version at once: one wins, seven are told."""
    results = _race(8, lambda i: act(store, "note", 0, note=f"note {i}", actor=f"user{i}"))
    wins = [r for r in results if isinstance(r, Review)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(wins) == 1 and len(conflicts) == 7, results
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Review)) == 1
        n_audit = s.scalar(
            sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.entity == "cases")
        )
    assert n_audit == 1


def test_concurrent_actions_with_reload_none_is_lost(store):
    """Everybody retries after a conflict, as the page tells them: all actions land."""

    def persist(i):
        while True:
            with store.session() as s:
                version = case_state(s, "M2").version
            try:
                return act(store, "note", version, note=f"note {i}", meter_id="M2")
            except ConflictError:
                continue

    results = _race(6, persist)
    assert all(isinstance(r, Review) for r in results), results
    with store.session() as s:
        versions = s.scalars(sa.select(Review.version).order_by(Review.version)).all()
        notes = set(s.scalars(sa.select(Review.note)))
        audited = s.scalars(
            sa.select(AuditLog.after).where(AuditLog.action == "review.note")
        ).all()
    assert versions == list(range(6))
    assert notes == {f"note {i}" for i in range(6)}
    assert sorted(a["review_id"] for a in audited) == sorted(r.id for r in results)
