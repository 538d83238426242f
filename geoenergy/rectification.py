"""Classified rectification (分类整治): what kind of site a confirmed mining case was
and what was done about it, and how many cases of each.

Beijing's plan asks the city to "classify and rectify" mining: a household
rig is handled differently from one hidden in an industrial park or hosted
in a data centre, and the city reports how many sites were cut off, charged
the punitive tariff, had equipment seized or were handed to another
authority. The review app records, with a confirmed-mining outcome, one
*kind of site* and one *measure* (codes stored with the review); this module
holds the two vocabularies and the counts.

The vocabularies are configurable per workspace in ``geoenergy.toml``::

    [rectification.site_kinds]
    household = "household"
    shop_office = "shop or office"

    [rectification.measures]
    power_cut = "power cut"

(code = label; codes are lower-case letters, digits and ``_``). Without the
section the defaults below apply. A code no longer in the vocabulary stays
stored and is counted under its code.

Counts are of cases (meters) whose latest outcome is confirmed mining. They
are published to officials, so small counts are suppressed: primary
suppression of counts 1 to ``min_count - 1`` and complementary suppression
across the tables published together (by kind, by measure, the total) with
:func:`layers.aggregate.suppress_linked`, so no hidden count can be solved
from the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from geoenergy.errors import ConfigError

__all__ = [
    "DEFAULT_MEASURES",
    "DEFAULT_SITE_KINDS",
    "NOT_RECORDED",
    "Vocabulary",
    "rectification_counts",
    "rectification_vocabulary",
]

#: Kinds of site of a confirmed mining case: ``{code: label}``.
DEFAULT_SITE_KINDS: dict[str, str] = {
    "household": "household",
    "shop_office": "shop or office",
    "industrial_agricultural": "industrial or agricultural premises",
    "data_centre": "hosted in a data centre",
    "other": "other",
}
#: Measures taken on a confirmed mining case: ``{code: label}``.
DEFAULT_MEASURES: dict[str, str] = {
    "power_cut": "power cut",
    "punitive_tariff": "punitive tariff",
    "equipment_seized": "equipment seized",
    "referred": "referred to another authority",
    "rectified_reinspected": "rectified and re-inspected",
}
#: Row label of confirmed cases recorded without a kind or measure.
NOT_RECORDED = "(not recorded)"
#: Smallest count published (as :data:`geoenergy.web.overview.MIN_COUNT`).
MIN_COUNT = 5

_CODE = re.compile(r"[a-z0-9_]{1,32}")
#: Longest label. [characters]
MAX_LABEL_LENGTH = 80


@dataclass(frozen=True)
class Vocabulary:
    """The two vocabularies of classified rectification, ``{code: label}`` each."""

    site_kinds: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SITE_KINDS))
    measures: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MEASURES))

    def kind_label(self, code: str | None) -> str:
        """Label of a kind-of-site code ('' for None; the code itself if unknown)."""
        return "" if code is None else self.site_kinds.get(code, code)

    def measure_label(self, code: str | None) -> str:
        """Label of a measure code ('' for None; the code itself if unknown)."""
        return "" if code is None else self.measures.get(code, code)


def _check_table(value, name: str) -> dict[str, str]:
    where = f"geoenergy.toml [rectification.{name}]"
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f'{where} must be a table of code = "label" with at least one entry, got '
            f'{value!r}; e.g. household = "household".'
        )
    out = {}
    for code, label in value.items():
        if not _CODE.fullmatch(str(code)):
            raise ConfigError(
                f"{where}: code {code!r} is not allowed; use 1-32 lower-case letters, digits "
                f"or '_' (e.g. power_cut)."
            )
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
            raise ConfigError(
                f"{where}: the label of {code!r} must be a non-empty text of at most "
                f"{MAX_LABEL_LENGTH} characters, got {label!r}."
            )
        out[str(code)] = label.strip()
    return out


def rectification_vocabulary(ws=None) -> Vocabulary:
    """The workspace's vocabularies (``[rectification]`` of geoenergy.toml), or the defaults.

    Parameters
    ----------
    ws : geoenergy.config.Workspace, optional
        The workspace; None gives the defaults.

    Raises
    ------
    ConfigError
        A bad ``[rectification]`` section (the message names the entry).
    """
    extra = getattr(getattr(ws, "settings", None), "extra", None) or {}
    section = extra.get("rectification") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"geoenergy.toml [rectification] must be a section, got {section!r}.")
    unknown = set(section) - {"site_kinds", "measures"}
    if unknown:
        raise ConfigError(
            f"geoenergy.toml [rectification] has unknown keys {sorted(unknown)}; use "
            f"site_kinds and measures."
        )
    kinds = section.get("site_kinds")
    measures = section.get("measures")
    if kinds is None:
        kinds = dict(DEFAULT_SITE_KINDS)
    if measures is None:
        measures = dict(DEFAULT_MEASURES)
    return Vocabulary(
        site_kinds=_check_table(kinds, "site_kinds"), measures=_check_table(measures, "measures")
    )


def _confirmed_cases(session, run_id: int | None):
    """(meter_id, site_kind, measure) of every case whose latest outcome is mining."""
    from geoenergy.store import Flag, Review

    latest = (
        sa.select(Review.meter_id, sa.func.max(Review.version).label("v"))
        .where(Review.action == "outcome")
        .group_by(Review.meter_id)
        .subquery("latest_outcome")
    )
    stmt = sa.select(Review.meter_id, Review.site_kind, Review.measure).join(
        latest, sa.and_(Review.meter_id == latest.c.meter_id, Review.version == latest.c.v)
    )
    stmt = stmt.where(Review.outcome == "mining")
    if run_id is not None:
        flagged = sa.select(Flag.meter_id).where(Flag.run_id == run_id, Flag.flagged.is_(True))
        stmt = stmt.where(Review.meter_id.in_(flagged))
    return session.execute(stmt).all()


def rectification_counts(
    session,
    *,
    run_id: int | None = None,
    vocabulary: Vocabulary | None = None,
    min_count: int | None = MIN_COUNT,
) -> dict:
    """Confirmed mining cases by kind of site and by measure, small counts suppressed.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session of the workspace store.
    run_id : int, optional
        Only cases flagged in this detection run; default every confirmed case.
    vocabulary : Vocabulary, optional
        Codes and labels (default :func:`rectification_vocabulary` defaults).
        Every code of the vocabulary gets a row, also with a count of 0.
    min_count : int or None
        Smallest count published; smaller non-zero counts, and the further
        counts that would let them be solved from the published ones and the
        total, are None. None publishes every count (inside the enforcement
        team only).

    Returns
    -------
    dict
        ``by_kind`` and ``by_measure``: lists of ``{"code", "label", "cases"}``
        (cases: int, or None when suppressed), in vocabulary order with any
        stored code outside the vocabulary and :data:`NOT_RECORDED` last;
        ``total``: int or None; ``min_count``.
    """
    import pandas as pd

    if min_count is not None and (
        isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1
    ):
        raise ValueError(f"min_count must be a positive integer or None, got {min_count!r}.")
    vocab = vocabulary or Vocabulary()
    rows = _confirmed_cases(session, run_id)
    kinds = [r.site_kind or NOT_RECORDED for r in rows]
    measures = [r.measure or NOT_RECORDED for r in rows]

    def order(codes, vocab_map):
        seen = set(codes)
        extra = sorted(c for c in seen if c not in vocab_map and c != NOT_RECORDED)
        tail = [NOT_RECORDED] if NOT_RECORDED in seen else []
        return [*vocab_map, *extra, *tail]

    kind_rows = order(kinds, vocab.site_kinds)
    measure_rows = order(measures, vocab.measures)
    n_kind = {c: kinds.count(c) for c in kind_rows}
    n_measure = {c: measures.count(c) for c in measure_rows}
    total = len(rows)
    hidden_kind: set = set()
    hidden_measure: set = set()
    hide_total = False
    if min_count is not None and total:
        from layers.aggregate import suppress_linked

        pieces = pd.DataFrame({"kind": kinds, "measure": measures})
        pieces = pieces.value_counts().rename("cases").reset_index()
        sup = suppress_linked(
            pieces[["cases"]],
            {
                "kind": pieces["kind"].tolist(),
                "measure": pieces["measure"].tolist(),
                "total": ["all"] * len(pieces),
            },
            min_count=min_count,
        )
        hidden_kind = set(sup["kind"].index[sup["kind"].to_numpy()])
        hidden_measure = set(sup["measure"].index[sup["measure"].to_numpy()])
        hide_total = bool(sup["total"].any())

    def table(codes, counts, hidden, label):
        return [
            {"code": c, "label": label(c), "cases": None if c in hidden else counts[c]}
            for c in codes
        ]

    return {
        "by_kind": table(kind_rows, n_kind, hidden_kind, _labeller(vocab.site_kinds)),
        "by_measure": table(measure_rows, n_measure, hidden_measure, _labeller(vocab.measures)),
        "total": None if hide_total else total,
        "min_count": min_count,
    }


def _labeller(vocab_map: dict[str, str]):
    return lambda code: vocab_map.get(code, code)
