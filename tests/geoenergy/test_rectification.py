"""Classified rectification: the vocabularies from geoenergy.toml and the suppressed counts."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from geoenergy.errors import ConfigError
from geoenergy.rectification import (
    DEFAULT_MEASURES,
    DEFAULT_SITE_KINDS,
    NOT_RECORDED,
    Vocabulary,
    rectification_counts,
    rectification_vocabulary,
)


def _ws_with(make_ws, toml_extra: str):
    ws = make_ws()
    with open(ws.config_path, "a", encoding="utf-8") as f:
        f.write(toml_extra)
    from geoenergy.config import Workspace

    return Workspace(ws.path)


def test_defaults_name_the_plans_kinds_and_measures():
    vocab = rectification_vocabulary(None)
    assert list(vocab.site_kinds.values()) == [
        "household",
        "shop or office",
        "industrial or agricultural premises",
        "hosted in a data centre",
        "other",
    ]
    assert list(vocab.measures.values()) == [
        "power cut",
        "punitive tariff",
        "equipment seized",
        "referred to another authority",
        "rectified and re-inspected",
    ]
    assert vocab.kind_label("gone_code") == "gone_code" and vocab.measure_label(None) == ""


def test_vocabulary_from_the_workspace_settings(make_ws):
    ws = _ws_with(
        make_ws,
        '\n[rectification.measures]\npower_cut = "电力切断 power cut"\nfine = "fine"\n',
    )
    vocab = rectification_vocabulary(ws)
    assert vocab.measures == {"power_cut": "电力切断 power cut", "fine": "fine"}
    assert vocab.site_kinds == DEFAULT_SITE_KINDS  # the other list keeps its defaults


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('\n[rectification.measures]\n"Power Cut" = "x"\n', r"code 'Power Cut' is not allowed"),
        ('\n[rectification.site_kinds]\nhome = ""\n', r"label of 'home' must be a non-empty"),
        ("\n[rectification]\nkinds = 1\n", r"unknown keys \['kinds'\]"),
        ("\n[rectification]\nmeasures = []\n", r"must be a table of code"),
    ],
)
def test_bad_vocabularies_are_refused_with_the_fix(make_ws, extra, match):
    with pytest.raises(ConfigError, match=match):
        rectification_vocabulary(_ws_with(make_ws, extra))


def _confirm(ws, cases):
    """Record confirmed-mining outcomes: ``cases`` is a list of (site_kind, measure)."""
    import pandas as pd

    from geoenergy.ingest import ingest_registry
    from geoenergy.web.actions import record_action

    n = len(cases) + 2
    reg = ws.path / "registry.csv"
    pd.DataFrame(
        {
            "meter_id": [f"R{i}" for i in range(n)],
            "address": [f"addr {i}" for i in range(n)],
            "customer_class": "residential",
            "lon": [116.4 + i * 1e-3 for i in range(n)],
            "lat": 39.9,
        }
    ).to_csv(reg, index=False)
    ingest_registry(ws, reg)
    day = dt.date(2026, 11, 30)
    for i, (kind, measure) in enumerate(cases):
        record_action(
            ws.store,
            meter_id=f"R{i}",
            action="outcome",
            version=0,
            actor="eve",
            today=day,
            date=day,
            outcome="mining",
            site_kind=kind,
            measure=measure,
        )
    # Not confirmed: cleared, and mining later cleared (the latest outcome counts).
    record_action(
        ws.store,
        meter_id=f"R{n - 2}",
        action="outcome",
        version=0,
        actor="eve",
        today=day,
        date=day,
        outcome="not_mining",
    )
    for v, outcome in enumerate(("mining", "not_mining")):
        record_action(
            ws.store,
            meter_id=f"R{n - 1}",
            action="outcome",
            version=v,
            actor="eve",
            today=day,
            date=day,
            outcome=outcome,
            site_kind="household" if outcome == "mining" else None,
            measure="power_cut" if outcome == "mining" else None,
        )


def _rows(table):
    return {r["code"]: r["cases"] for r in table}


def test_counts_without_suppression(make_ws):
    ws = make_ws()
    _confirm(ws, [("household", "power_cut")] * 3 + [("data_centre", "referred"), (None, None)])
    with ws.store.session() as s:
        out = rectification_counts(s, min_count=None)
    assert out["total"] == 5
    assert _rows(out["by_kind"]) == {
        **dict.fromkeys(DEFAULT_SITE_KINDS, 0),
        "household": 3,
        "data_centre": 1,
        NOT_RECORDED: 1,
    }
    assert _rows(out["by_measure"])["power_cut"] == 3
    assert [r["code"] for r in out["by_measure"]] == [*DEFAULT_MEASURES, NOT_RECORDED]
    assert out["by_kind"][0]["label"] == "household"


def test_small_counts_are_suppressed_and_cannot_be_solved(make_ws):
    """The attacker knows every published count and that the hidden ones are >= 0:
    no hidden count may be pinned below min_count (here 5) by the published ones."""
    ws = make_ws()
    cases = (
        [("household", "power_cut")] * 9
        + [("household", "punitive_tariff")] * 6
        + [("shop_office", "power_cut")] * 2  # small: must be hidden
        + [("industrial_agricultural", "equipment_seized")] * 7
    )
    _confirm(ws, cases)
    with ws.store.session() as s:
        out = rectification_counts(s, min_count=5)
    kind, measure = _rows(out["by_kind"]), _rows(out["by_measure"])
    assert kind["shop_office"] is None
    assert kind["data_centre"] == 0 and measure["referred"] == 0  # zeros reveal no one
    # Play the attacker: the cases of every (kind, measure) pair are unknowns >= 0;
    # every published count is an equation. The largest value a hidden count can
    # take must reach min_count (else the attacker has pinned it below).
    from scipy.optimize import linprog

    pairs = list(itertools.product(kind, measure))
    rows, rhs = [], []
    for table, pos in ((kind, 0), (measure, 1)):
        for code, n in table.items():
            if n is not None:
                rows.append([1.0 if p[pos] == code else 0.0 for p in pairs])
                rhs.append(n)
    if out["total"] is not None:
        rows.append([1.0] * len(pairs))
        rhs.append(out["total"])
    hidden = [(0, c) for c, n in kind.items() if n is None]
    hidden += [(1, c) for c, n in measure.items() if n is None]
    assert hidden
    for pos, code in hidden:
        objective = [-1.0 if p[pos] == code else 0.0 for p in pairs]
        res = linprog(objective, A_eq=rows, b_eq=rhs, bounds=(0, None), method="highs")
        assert res.status == 0
        assert -res.fun >= 5 - 1e-6, (pos, code, -res.fun)


def test_min_count_is_checked(make_ws):
    ws = make_ws()
    with ws.store.session() as s, pytest.raises(ValueError, match="min_count must be"):
        rectification_counts(s, min_count=0)


def test_vocabulary_dataclass_defaults_are_copies():
    a, b = Vocabulary(), Vocabulary()
    a.site_kinds["x"] = "y"
    assert "x" not in b.site_kinds
