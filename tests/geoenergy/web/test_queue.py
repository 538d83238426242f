"""The queue's query parameters and the queue query itself."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoenergy.store import CUSTOMER_CLASSES, Store
from geoenergy.web.queue import (
    OWN_LISTS,
    PAGE_SIZES,
    SORTS,
    STATUS_FILTERS,
    QueryError,
    QueueQuery,
    parse_queue_query,
    queue_page,
    queue_rows,
)

text = st.text(
    alphabet=st.characters(min_codepoint=32, blacklist_categories=("Cs",)), min_size=1, max_size=40
)
scores = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))


@st.composite
def queries(draw):
    lo, hi = draw(scores), draw(scores)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return QueueQuery(
        run_id=draw(st.one_of(st.none(), st.integers(1, 10**6))),
        district=draw(st.one_of(st.none(), text)),
        customer_class=draw(st.one_of(st.none(), st.sampled_from(CUSTOMER_CLASSES))),
        score_min=lo,
        score_max=hi,
        status=draw(st.one_of(st.none(), st.sampled_from(STATUS_FILTERS))),
        assignee=draw(st.one_of(st.none(), text)),
        hotspot=draw(st.one_of(st.none(), st.integers(1, 10**6))),
        sort=draw(st.sampled_from(SORTS)),
        descending=draw(st.booleans()),
        page=draw(st.integers(1, 10**6)),
        page_size=draw(st.sampled_from(PAGE_SIZES)),
    )


@given(queries())
def test_params_round_trip(q):
    """What the page links to (q.params()) parses back to the same query."""
    assert parse_queue_query(q.params()) == q


def test_defaults_and_empty_values():
    assert parse_queue_query({}) == QueueQuery()
    assert parse_queue_query({"district": "", "class": "", "status": ""}) == QueueQuery()
    assert QueueQuery().params() == {}
    assert QueueQuery(district="朝阳区", page=3).params() == {"district": "朝阳区", "page": "3"}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"run": "0"}, r"run=0 is out of range"),
        ({"run": "abc"}, "run='abc' is not a whole number"),
        ({"score_min": "nan"}, "outside the score range"),
        ({"score_max": "-0.1"}, "outside the score range"),
        ({"score_min": "high"}, "not a number; use 0 to 1"),
        ({"score_min": "0.8", "score_max": "0.2"}, "swap them"),
        ({"class": "castle"}, "not a customer class"),
        ({"status": "closed"}, "not a status"),
        ({"sort": "address"}, "not a sort key"),
        ({"desc": "yes"}, "use 0 .ascending. or 1"),
        ({"page_size": "1000"}, "page_size=1000; use one of"),
        ({"district": "x" * 201}, "at most 200"),
        ({"district": "a\x00"}, "control characters"),
    ],
)
def test_bad_parameters(params, words):
    with pytest.raises(QueryError, match=words):
        parse_queue_query(params)


@pytest.fixture
def session(shared_ws):
    with Store.for_workspace(shared_ws) as store, store.session() as s:
        yield s


def test_queue_page_counts_and_hides_addresses(session):
    page = queue_page(session, QueueQuery(page_size=25), with_addresses=False)
    assert (page["run_id"], page["total"], page["pages"]) == (2, 5, 1)
    first = page["rows"][0]
    assert first["meter_id"] == "M1" and first["status"] == "new" and first["version"] == 0
    assert first["reasons"] == ["flat load day and night", "load 3.2x its peer group"]
    assert first["hotspot"] == "朝阳-1"
    assert not {"address", "lon", "lat"} & set(first)
    with_addr = queue_page(session, QueueQuery(), with_addresses=True)["rows"][0]
    assert with_addr["address"] == "北京市朝阳区建国路1号" and with_addr["lon"] == 116.4


def test_queue_pagination(session):
    q = QueueQuery(page_size=25)
    rows = list(queue_rows(session, q, with_addresses=False))
    assert [r["meter_id"] for r in rows] == ["M1", "M2", "M3", "M4", "M5"]
    # Sort by district: '<b>海淀</b>区' < '朝阳区' < '海淀区' by code point, ties by rank.
    q = QueueQuery(sort="district")
    assert [r["meter_id"] for r in queue_rows(session, q, with_addresses=False)] == [
        "M5",
        "M1",
        "M2",
        "M3",
        "M4",
    ]


def test_sql_injection_in_filters_is_just_text(session):
    for payload in ("' OR '1'='1", "朝阳区' --", "1; DROP TABLE flags"):
        page = queue_page(session, QueueQuery(district=payload), with_addresses=False)
        assert page["total"] == 0
    assert queue_page(session, QueueQuery(), with_addresses=False)["total"] == 5


def test_the_queue_shows_the_expected_precision_of_the_flagged_list(web_ws, client_for):
    from geoenergy.store import DetectionRun, Store

    card = {
        "flagged_list": {
            "method": "bh",
            "fdr": 0.05,
            "n_scored": 6,
            "n_flagged": 5,
            "expected_precision": 0.96,
            "lists": {
                "main": {"n_scored": 6, "n_flagged": 5, "expected_precision": 0.96},
                "data_centre": {"n_scored": 2, "n_flagged": 0, "expected_precision": None},
            },
        }
    }
    with Store.for_workspace(web_ws) as store, store.session() as s:
        run = s.get(DetectionRun, 2)
        run.model_card = card
    text = client_for("analyst").get("/queue").text
    assert "Flagged list: 5 of 6 scored meters; expected precision 96 %" in text
    assert "about 5 of them expected to host mining" in text
    assert "false-discovery rate of 5 %" in text
    assert "data centre list</a>: 0 of 2." in text
    assert re.search(r'class="own-list" href="/queue\?[^"]*class=data_centre', text)
    # From the simulated null alone: the team is told it is not yet checked.
    assert "Not yet checked against inspections" in text
    card["flagged_list"].update(
        expected_precision=0.82, expected_precision_labels=0.82, n_labels=40
    )
    with Store.for_workspace(web_ws) as store, store.session() as s:
        s.get(DetectionRun, 2).model_card = card
    text = client_for("analyst").get("/queue").text
    assert "expected precision 82 %" in text
    assert "Checked against 40 inspection outcomes." in text
    assert "Not yet checked" not in text
    # A run from before the record: no line, no error.
    text = client_for("analyst").get("/queue?run=1").text
    assert "Flagged list:" not in text


def test_registered_data_centres_have_their_own_list(web_ws, client_for, tmp_path, kit):
    # A flagged registered data centre never appears in the household and shop queue;
    # it is in the data-centre list, with its data-centre evidence as reasons (escaped).
    reasons = [
        "data-centre score 0.95, rank 1 of 3 data centres",
        "base load 901 kW = 90 % of the contracted 1,000 kW",
        "no weekday/weekend rhythm (facility meter) " + XSS_DC,
        "PUE behaviour: not available (no IT meter)",
    ]
    kit.flag_data_centre(web_ws, tmp_path, XSS_DC, reasons)
    client = client_for("enforcement")
    main = client.get("/queue").text
    assert 'data-meter="DC1"' not in main and 'data-meter="M1"' in main
    own = client.get("/queue?class=data_centre").text
    assert 'data-meter="DC1"' in own and 'data-meter="M1"' not in own
    assert 'id="own-list-note"' in own and "data-centre evidence" in own
    case = client.get("/cases/DC1").text
    assert "90 % of the contracted 1,000 kW" in case
    assert "PUE behaviour: not available (no IT meter)" in case
    for html in (own, case):
        assert XSS_DC not in html
    assert "&lt;script&gt;" in case


XSS_DC = '<script>alert("dc")</script>'


def test_the_queue_leaves_out_the_classes_the_detectors_list_apart():
    # The web app keeps its own copy (importing detectors would load scikit-learn).
    from detectors.flagging import OWN_LIST_CLASSES

    assert tuple(OWN_LISTS) == tuple(OWN_LIST_CLASSES)
