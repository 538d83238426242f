"""Detection runs in the workspace and from files: ``run_detection``, ``detect``, ``train``."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from geoenergy.cli import main
from geoenergy.detection import load_labels, meter_context, run_detection, train_model
from geoenergy.store import AuditLog, DetectionRun, Flag, Hotspot, Store


def test_meter_context_joins_districts_buildings_and_peers(city_ws, city):
    ctx = meter_context(city_ws)
    reg = pd.read_csv(city.registry)
    assert len(ctx) == len(reg)
    # Every meter of the sample city sits inside a district and a building.
    assert (ctx["district_match"] == "within").all()
    assert (ctx["building_match"] != "none").mean() > 0.99
    assert (
        ctx["peer_group"].str.startswith(tuple(reg["customer_class"].unique())).all()
        or (ctx["peer_group"] == "all").any()
    )
    res = ctx[ctx["customer_class"] == "residential"]
    assert (res["peer_group"].str.split("|").str[0].isin(["residential", "all"])).all()


def test_run_detection_stores_run_flags_and_hotspots(city_ws, city):
    res = run_detection(city_ws, detector="unsupervised", min_samples=2)
    s = res.scores
    truth = pd.read_csv(city.truth)
    assert len(s) == len(truth)
    assert list(s["rank"].dropna()) == list(range(1, s["rank"].notna().sum() + 1))
    # The main list first, then the registered data centres ranked among themselves.
    for name in ("main", "data_centre"):
        assert s.loc[s["list"] == name, "score"].dropna().is_monotonic_decreasing
    assert {"district", "building_use", "peer_group", "hotspot"} <= set(s.columns)
    # The top of the list is mostly mining (a sanity floor, not the quality target).
    top = s.head(10).merge(truth, on="meter_id")
    assert top["is_mining"].sum() >= 6
    store = Store.for_workspace(city_ws)
    with store.session() as ses:
        run = ses.get(DetectionRun, res.run_id)
        assert run.n_meters == len(s)
        assert run.n_flagged == int(s["flagged"].sum())
        assert run.model_card["detector"]["name"] == "unsupervised"
        n_flags = ses.scalar(sa.select(sa.func.count()).where(Flag.run_id == run.id))
        assert n_flags == len(s)
        first = ses.execute(
            sa.select(Flag).where(Flag.run_id == run.id, Flag.rank == 1)
        ).scalar_one()
        assert first.meter_id == s.iloc[0]["meter_id"]
        assert isinstance(first.reasons, list) and first.reasons
        assert first.district is not None and first.peer_group is not None
        n_hot = ses.scalar(sa.select(sa.func.count()).where(Hotspot.run_id == run.id))
        assert n_hot == len(res.hotspots)
        audit = ses.execute(
            sa.select(AuditLog).where(AuditLog.entity == "detection_run")
        ).scalar_one()
        assert audit.action == "detect" and audit.entity_id == str(run.id)


def test_train_evaluate_register_and_detect_with_it(city_ws, tmp_path, capsys):
    labels = load_labels(city_ws)
    assert (labels["label"] == "mining").sum() >= 3
    model, _metrics = train_model(city_ws)
    assert model.card["labels"]["mining"] == (labels["label"] == "mining").sum()
    assert "holdout" in model.card["evaluation"]
    out = tmp_path / "models" / "m.joblib"
    assert main(["-w", str(city_ws.path), "train", "--out", str(out), "--register"]) == 0
    assert out.exists() and out.with_name("m.card.json").exists()
    # It says what ranks (the card's detector.learner), in the words of the card.
    learner = model.card["detector"]["learner"]
    said = " ".join(capsys.readouterr().out.split())
    assert f"Ranks with {learner}" in said and "detector.selection" in said
    assert main(["-w", str(city_ws.path), "models", "list"]) == 0
    assert "m" in capsys.readouterr().out
    # `detect` now uses the registered supervised model.
    assert main(["-w", str(city_ws.path), "detect", "--top", "3"]) == 0
    store = Store.for_workspace(city_ws)
    with store.session() as ses:
        run = (
            ses.execute(sa.select(DetectionRun).order_by(DetectionRun.id.desc())).scalars().first()
        )
        assert run.detector == "supervised"


def test_detect_from_files_writes_one_row_per_meter(city, tmp_path):
    out = tmp_path / "scores.csv"
    code = main(
        [
            "detect",
            "--readings",
            str(city.readings),
            "--registry",
            str(city.registry),
            "--weather",
            str(city.weather),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    df = pd.read_csv(out)
    assert list(df.columns[:6]) == ["meter_id", "score", "rank", "flagged", "status", "reasons"]
    assert len(df) == len(pd.read_csv(city.registry))
    assert df["meter_id"].is_unique
    # Parquet by the extension.
    out_pq = tmp_path / "scores.parquet"
    code = main(
        [
            "detect",
            "--readings",
            str(city.readings),
            "--registry",
            str(city.registry),
            "--out",
            str(out_pq),
            "--detector",
            "rule",
        ]
    )
    assert code == 0
    assert len(pd.read_parquet(out_pq)) == len(df)


def test_detect_from_files_keeps_rejected_rows(city, tmp_path, capsys):
    bad = tmp_path / "readings.csv"
    df = pd.read_parquet(city.readings)
    df = df[df["meter_id"].isin(df["meter_id"].unique()[:20])].copy()
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    df["kwh"] = df["kwh"].astype(str)
    df.iloc[5, df.columns.get_loc("kwh")] = "-3"
    df.to_csv(bad, index=False)
    out = tmp_path / "s.csv"
    code = main(
        ["detect", "--readings", str(bad), "--registry", str(city.registry), "--out", str(out)]
    )
    assert code == 0
    rej = pd.read_csv(tmp_path / "s.rejected.csv")
    assert len(rej) == 1
    assert rej.loc[0, "row"] == 6 and rej.loc[0, "column"] == "kwh"
    assert "1 input rows were rejected" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["detect", "--readings", "r.csv"], "needs both --readings and --registry"),
        (["detect", "--readings", "r.csv", "--registry", "g.csv"], "needs --out FILE"),
        (["detect", "--out", "x.xlsx"], r"\.csv or \.parquet"),
        (["train", "--readings", "r.csv", "--registry", "g.csv"], "needs --labels FILE"),
    ],
)
def test_detect_train_bad_options(args, match, capsys):
    assert main(args) == 1
    import re

    assert re.search(match, " ".join(capsys.readouterr().err.split()))


def test_detect_with_missing_model_file(city_ws, capsys):
    assert main(["-w", str(city_ws.path), "detect", "--detector", "nope.joblib"]) == 1
    assert "neither rule, unsupervised nor an existing model file" in " ".join(
        capsys.readouterr().err.split()
    )
