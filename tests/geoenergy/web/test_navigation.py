"""Work kept between screens, search, score classes, time zone and classified
rectification, over HTTP (the browser tests show the same in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import sqlalchemy as sa

from geoenergy.store import Review, Store
from geoenergy.web.mapdata import SCORE_CLASSES, score_class
from geoenergy.web.navigation import QueueContext, parse_context
from geoenergy.web.queue import QueryError, QueueQuery, parse_queue_query

CASE_LINK = re.compile(r'class="case-link" href="([^"]+)">([^<]+)<')


def _links(html: str) -> dict[str, str]:
    return {m: href.replace("&amp;", "&") for href, m in CASE_LINK.findall(html)}


def _href(html: str, element_id: str) -> str | None:
    m = re.search(rf'href="([^"]*)" id="{element_id}"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_context_round_trip():
    q = QueueQuery(run_id=2, district="朝阳区", sort="score", descending=True, page=3)
    ctx = QueueContext(q, explicit=True)
    params = ctx.case_params(57)
    back = parse_context(params, 2)
    assert back.at == 57
    assert back.query == QueueQuery(
        run_id=2, district="朝阳区", sort="score", descending=True, page=2
    )  # the page of position 57 at 50 per page
    assert back.queue_url().startswith("/queue?")
    assert parse_context({}, 2).queue_url() == "/queue?run=2"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"back": "sort=nope"}, r"not usable: sort 'nope'"),
        ({"back": "x=1&" * 600}, r"'back' is \d+ characters long"),
        ({"at": "-1"}, r"at=-1 is out of range"),
    ],
)
def test_bad_context_is_a_400(params, match):
    with pytest.raises(QueryError, match=match):
        parse_context(params, 2)


def test_search_parameter():
    assert parse_queue_query({"q": "  M1 "}).search == "M1"
    assert parse_queue_query({"q": "   "}).search is None
    assert QueueQuery(search="建国路").params() == {"q": "建国路"}
    with pytest.raises(QueryError, match="'q' is 101 characters"):
        parse_queue_query({"q": "x" * 101})


def test_queue_survives_the_round_trip_through_a_case(ro_client_for):
    client = ro_client_for("enforcement")
    url = "/queue?district=朝阳区&sort=score&desc=1&page_size=25"
    html = client.get(url).text
    links = _links(html)
    assert list(links) == ["M1", "M2", "M3"]
    case = client.get(links["M2"]).text
    back = _href(case, "back-to-queue")
    assert back is not None
    got = parse_qs(urlsplit(back).query)
    assert got == {
        "run": ["2"],
        "district": ["朝阳区"],
        "sort": ["score"],
        "desc": ["1"],
        "page_size": ["25"],
    }
    # Next case: M3 follows M2 in this queue; its back link names the same queue.
    nxt = _href(case, "next-case")
    assert nxt is not None and unquote(nxt).startswith("/cases/M3?")
    assert parse_qs(urlsplit(nxt).query)["at"] == ["2"]
    last = client.get(nxt).text
    assert _href(last, "next-case") is None and 'id="no-next"' in last
    assert parse_qs(urlsplit(_href(last, "back-to-queue")).query) == got


def test_next_case_without_a_queue_is_the_next_open_case_by_rank(ro_client_for):
    html = ro_client_for("enforcement").get("/cases/M1?run=2").text
    assert unquote(_href(html, "next-case")).startswith("/cases/M2?run=2")
    assert _href(html, "back-to-queue") == "/queue?run=2"


def test_after_an_outcome_the_next_case_of_an_open_queue_takes_its_place(client_for, kit):
    client = client_for("enforcement")
    links = _links(client.get("/queue?status=open").text)
    page = client.get(links["M1"])
    action = re.search(r'<form method="post" action="([^"]+)" id="form-outcome"', page.text)
    assert action and action.group(1).endswith("#actions")
    target = action.group(1).replace("&amp;", "&")
    r = client.post(
        target.split("#")[0],
        data={
            "csrf_token": kit.csrf_of(page.text),
            "action": "outcome",
            "version": "0",
            "run": "2",
            "outcome": "mining",
            "date": "2023-11-25",
            "site_kind": "household",
            "measure": "power_cut",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert parse_qs(urlsplit(r.headers["location"]).query)["at"] == ["0"]
    html = client.get(r.headers["location"]).text
    # M1 left the "open" queue: the case now at its place is next.
    assert unquote(_href(html, "next-case")).startswith("/cases/M2?")
    # A closed case offers notes only.
    assert 'id="form-note"' in html
    for form in ("form-assign", "form-schedule", "form-outcome"):
        assert f'id="{form}"' not in html
    assert 'id="site-kind">household<' in html and 'id="measure">power cut<' in html


def test_search_by_meter_id_and_address(ro_client_for):
    eve = ro_client_for("enforcement")
    assert list(_links(eve.get("/queue?q=m4").text)) == ["M4"]
    assert list(_links(eve.get("/queue?q=建国路").text)) == ["M1"]
    assert list(_links(eve.get("/queue?q=DROP TABLE").text)) == ["M3"]  # text, not SQL
    assert list(_links(eve.get("/queue?q=%25").text)) == []  # LIKE wildcards are literal
    ana = ro_client_for("analyst")
    # Analysts do not see addresses, so they cannot search them either.
    assert list(_links(ana.get("/queue?q=建国路").text)) == []
    assert list(_links(ana.get("/queue?q=M2").text)) == ["M2"]


def test_score_classes_separate_the_top_scores():
    classes = {score_class(s) for s in (0.79, 0.82, 0.87, 0.92, 0.97)}
    assert len(classes) == 5
    assert len({c.colour for c in SCORE_CLASSES}) == len(SCORE_CLASSES)
    assert [c.lo for c in SCORE_CLASSES] == sorted((c.lo for c in SCORE_CLASSES), reverse=True)


def test_legend_colours_match_the_stylesheet():
    css = (
        Path(__file__).resolve().parents[3] / "geoenergy" / "web" / "static" / "app.css"
    ).read_text("utf-8")
    for i, c in enumerate(SCORE_CLASSES):
        assert f".sc-{i} {{ background: {c.colour}; }}" in css


def test_times_are_labelled_with_the_workspace_zone(client_for, kit):
    eve, ada = client_for("enforcement"), client_for("admin")
    page_eve, page_ada = eve.get("/cases/M1"), ada.get("/cases/M1")
    assert "Asia/Shanghai (UTC+8)" in page_eve.text
    r = eve.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page_eve.text),
            "action": "note",
            "version": "0",
            "note": "first",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = ada.post(
        "/cases/M1",
        data={
            "csrf_token": kit.csrf_of(page_ada.text),
            "action": "note",
            "version": "0",
            "note": "second",
        },
    )
    assert r.status_code == 409
    assert re.search(r"at \d\d:\d\d, Asia/Shanghai \(UTC\+8\)\)", r.text)
    assert " UTC)" not in r.text


def test_rectification_only_with_mining_and_from_the_vocabulary(client_for, kit):
    client = client_for("enforcement")

    def post(**data):
        page = client.get("/cases/M4")
        base = {"csrf_token": kit.csrf_of(page.text), "action": "outcome", "version": "0"}
        return client.post("/cases/M4", data={**base, "date": "2023-11-25", **data})

    r = post(outcome="not_mining", site_kind="household")
    assert r.status_code == 400 and "only with the outcome" in r.text
    r = post(outcome="mining", measure="shot_at_dawn")
    assert r.status_code == 400 and "measure &#39;shot_at_dawn&#39; is not in" in r.text
    r = post(outcome="mining", site_kind="data_centre", measure="referred")
    assert r.status_code == 200 and "Saved: record outcome" in r.text


def test_labels_export_and_overview_count_kinds_and_measures(client_for, kit, web_ws):
    client = client_for("enforcement")
    for meter, kind, measure in (("M1", "household", "power_cut"), ("M2", None, None)):
        page = client.get(f"/cases/{meter}")
        data = {
            "csrf_token": kit.csrf_of(page.text),
            "action": "outcome",
            "version": "0",
            "run": "2",
            "outcome": "mining",
            "date": "2023-11-25",
        }
        if kind:
            data.update(site_kind=kind, measure=measure)
        assert client.post(f"/cases/{meter}", data=data).status_code == 200
    # The plain labels file keeps the data contract; classified=1 adds the two codes.
    assert client.get("/labels.csv").text.splitlines()[0] == "meter_id,label,inspected_on"
    lines = client.get("/labels.csv?classified=1").text.splitlines()
    assert lines == [
        "meter_id,label,inspected_on,site_kind,measure",
        "M1,mining,2023-11-25,household,power_cut",
        "M2,mining,2023-11-25,,",
    ]
    assert client.get("/labels.csv?classified=2").status_code == 400
    with Store.for_workspace(web_ws) as store, store.session() as s:
        kinds = s.execute(sa.select(Review.meter_id, Review.site_kind)).all()
    assert sorted(kinds) == [("M1", "household"), ("M2", None)]
    # Officials see the tables, with the small counts (1 and 1) hidden.
    html = client_for("official").get("/overview").text
    assert 'id="by-kind"' in html and 'id="by-measure"' in html
    row = re.search(r'data-code="household">.*?</tr>', html, re.S).group(0)
    assert "–" in row and ">1<" not in row
    row = re.search(r'data-code="data_centre">.*?</tr>', html, re.S).group(0)
    assert ">0<" in row
