"""``geoenergy detect``: the summary line counts the meters that have a score."""

from __future__ import annotations

import pandas as pd

from geoenergy.cli import main


def test_detect_without_contracted_power_scores_every_meter(city, tmp_path, capsys):
    # A registry without contracted_kw: every meter is still scored, and the summary
    # says so (it once read "Scored 0 of N" because the status carried notes).
    reg = pd.read_csv(city.registry).drop(columns="contracted_kw", errors="ignore")
    reg_path = tmp_path / "registry.csv"
    reg.to_csv(reg_path, index=False)
    out = tmp_path / "scores.csv"
    args = ["detect", "--readings", str(city.readings), "--registry", str(reg_path)]
    assert main([*args, "--out", str(out)]) == 0
    df = pd.read_csv(out)
    text = " ".join(capsys.readouterr().out.split())
    n = int(df["score"].notna().sum())
    assert n > 0.95 * len(df)
    assert f"Scored {n:,} of {len(df):,} meters" in text
    assert set(df["status"]) <= {"ok", "insufficient_data", "no_data", "zero_load"}
    assert "notes" in df.columns


def test_detect_stores_the_flagged_lists_expected_precision(city_ws, capsys):
    import sqlalchemy as sa

    from geoenergy.store import DetectionRun, Store

    assert main(["-w", str(city_ws.path), "detect", "--detector", "unsupervised"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "expected precision" in text
    with Store.for_workspace(city_ws).session() as s:
        run = s.execute(sa.select(DetectionRun).order_by(DetectionRun.id.desc())).scalars().first()
        listed = run.model_card["flagged_list"]
    # The main list and the registered data centres' own list make up the run's flags.
    assert sum(li["n_flagged"] for li in listed["lists"].values()) == run.n_flagged
    assert set(listed["lists"]) <= {"main", "data_centre"}
    assert 0.0 < listed["expected_precision"] <= 1.0
    assert "Benjamini-Hochberg" in listed["method"]


def test_a_meter_without_a_score_does_not_break_the_stored_run(city_ws, city, tmp_path, capsys):
    # A meter with 5 days of readings (the detectors need 14 complete days) is not
    # scored; the run is stored all the same, without a flag row for it (score and
    # rank are required there), and the card counts it by status.
    import sqlalchemy as sa

    from geoenergy.ingest import ingest_readings, ingest_registry
    from geoenergy.store import DetectionRun, Flag, Store

    reg = pd.read_csv(city.registry)
    new = reg.iloc[[0]].assign(meter_id="SHORT01")
    reg_path = tmp_path / "reg.csv"
    new.to_csv(reg_path, index=False)
    ingest_registry(city_ws, reg_path)
    start = pd.read_parquet(city.readings)["timestamp"].min()
    ts = pd.date_range(start, periods=5 * 24, freq="h")
    rd = pd.DataFrame({"meter_id": "SHORT01", "timestamp": ts, "kwh": 0.5})
    rd_path = tmp_path / "short.csv"
    rd.to_csv(rd_path, index=False)
    ingest_readings(city_ws, rd_path)
    assert main(["-w", str(city_ws.path), "detect", "--detector", "unsupervised"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "1 not scored (insufficient_data: 1)" in text
    with Store.for_workspace(city_ws).session() as s:
        run = s.execute(sa.select(DetectionRun).order_by(DetectionRun.id.desc())).scalars().first()
        assert run.model_card["flagged_list"]["not_scored"] == {"insufficient_data": 1}
        ids = s.scalars(sa.select(Flag.meter_id).where(Flag.run_id == run.id)).all()
    assert "SHORT01" not in ids and len(ids) == run.n_meters - 1


def test_detect_lists_registered_data_centres_apart_with_their_evidence(city, tmp_path, capsys):
    # Registered data centres are scored on data-centre evidence (detectors.datacentre)
    # and printed in a table of their own, never among the most suspicious meters.
    out = tmp_path / "scores.csv"
    args = ["detect", "--readings", str(city.readings), "--registry", str(city.registry)]
    assert main([*args, "--out", str(out), "--top", "5"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    df = pd.read_csv(out)
    dc = df[df["list"] == "data_centre"]
    assert len(dc) and (dc["customer_class"] == "data_centre").all()
    assert df.loc[df["list"] == "main", "rank"].max() < dc["rank"].min()
    scored = dc[dc["score"].notna()]
    assert scored["reasons"].str.startswith("data-centre score").all()
    assert scored["reasons"].str.contains("PUE behaviour: not available").all()
    assert "Registered data centres (" in text
    main_table = text.split("Most suspicious meters", 1)[1].split("Registered data centres", 1)[0]
    assert "data_centre" not in main_table and "data-centre score" not in main_table


def test_summary_says_whether_inspections_checked_the_expected_precision():
    from types import SimpleNamespace

    from geoenergy.cli.detect import summary_line

    scores = pd.DataFrame({"score": [0.9, 0.2], "status": ["ok", "ok"]})
    main_list = {"n_scored": 2, "n_flagged": 1, "expected_precision": 0.96}
    dc = {"n_scored": 3, "n_flagged": 1, "expected_precision": 0.9}
    res = SimpleNamespace(
        scores=scores,
        flagging={"lists": {"main": main_list, "data_centre": dc}},
        hotspots=[],
        seconds=1.0,
    )
    line = summary_line(res)
    assert "flagged 1 (expected precision 96%, not yet checked against inspections)" in line
    assert "data centres flagged among them 1 (expected precision 90%);" in line
    main_list.update(expected_precision=0.82, expected_precision_labels=0.82, n_labels=40)
    line = summary_line(res)
    assert "flagged 1 (expected precision 82%, checked against 40 inspections)" in line


def test_detect_fdr_sets_the_lists_tolerance(city, tmp_path, capsys):
    # --fdr is the team's tolerance for false alarms: a larger one flags a superset
    # (Benjamini-Hochberg on the same p-values), and the summary says which applied.
    args = ["detect", "--readings", str(city.readings), "--registry", str(city.registry)]
    flagged = {}
    for fdr in (0.02, 0.2):
        out = tmp_path / f"scores-{fdr}.csv"
        assert main([*args, "--out", str(out), "--fdr", str(fdr)]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert f"at FDR {fdr:.0%} (expected precision" in text
        df = pd.read_csv(out)
        flagged[fdr] = set(df.loc[df["flagged"] & (df["list"] == "main"), "meter_id"])
    assert flagged[0.02] < flagged[0.2]  # strictly more at the looser tolerance
    # The default of a new model is DEFAULT_FDR.
    from detectors.flagging import DEFAULT_FDR

    out = tmp_path / "scores-default.csv"
    assert main([*args, "--out", str(out)]) == 0
    assert f"at FDR {DEFAULT_FDR:.0%} (" in " ".join(capsys.readouterr().out.split())


def test_detect_fdr_out_of_range_or_for_the_rule_detector_is_refused(city, tmp_path, capsys):
    args = ["detect", "--readings", str(city.readings), "--registry", str(city.registry)]
    out = tmp_path / "scores.csv"
    assert main([*args, "--out", str(out), "--fdr", "1.5"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "--fdr 1.5" in err and "between 0 and 1" in err
    assert not out.exists()
    assert main([*args, "--out", str(out), "--fdr", "0.1", "--detector", "rule"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "does not apply to the rule detector" in err
    assert not out.exists()


def test_detect_fdr_overrides_a_saved_models_own_rate(city, tmp_path, capsys):
    # A saved model keeps the rate it was trained with (here 0.05, as models saved before
    # the 2 % default do); --fdr overrides it for one run, and the file is unchanged.
    from detectors.model import MiningModel

    model_path = tmp_path / "m.joblib"
    files = ["--readings", str(city.readings), "--registry", str(city.registry)]
    assert main(["train", *files, "--labels", str(city.labels), "--out", str(model_path)]) == 0
    model = MiningModel.load(model_path)
    model.fdr = 0.05
    model.save(model_path)
    capsys.readouterr()
    args = ["detect", *files, "--detector", str(model_path)]
    assert main([*args, "--out", str(tmp_path / "a.csv")]) == 0
    assert "at FDR 5% (" in " ".join(capsys.readouterr().out.split())
    assert main([*args, "--out", str(tmp_path / "b.csv"), "--fdr", "0.2"]) == 0
    assert "at FDR 20% (" in " ".join(capsys.readouterr().out.split())
    assert MiningModel.load(model_path).fdr == 0.05


def test_a_list_not_chosen_by_a_rate_does_not_claim_one(city, tmp_path, capsys):
    # The rule detector flags by its points: its summary (and the stored card, which the
    # review app reads) carries no false-discovery rate.
    args = ["detect", "--readings", str(city.readings), "--registry", str(city.registry)]
    assert main([*args, "--out", str(tmp_path / "r.csv"), "--detector", "rule"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Scored" in text and "at FDR" not in text
