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
