"""The sample city as a workspace: generated and ingested once, then reused as it is."""

from __future__ import annotations

import pandas as pd
import pytest

from geoenergy.detection import load_labels
from geoenergy.samplecity import sample_workspace


def test_sample_workspace_is_built_once_then_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEOENERGY_NB_METERS", "100")  # the arguments win over the variables
    kw = {"n_meters": 120, "start": "2023-11-01", "end": "2023-11-16"}
    first = sample_workspace(tmp_path / "samples", **kw)
    assert first.created and "rows read" in capsys.readouterr().out
    root = tmp_path / "samples" / "city-120-2023-11-01-2023-11-16"
    assert first.ws.path == root / "workspace" and (root / "READY").exists()
    assert (tmp_path / "samples" / ".gitignore").read_text() == "*\n"
    truth = pd.read_csv(first.truth)
    assert len(truth) == 120 and truth["is_mining"].any()
    assert len(load_labels(first.ws)) > 0
    again = sample_workspace(tmp_path / "samples", **kw, quiet=True)
    assert not again.created and again.ws.path == first.ws.path
    assert again.truth == first.truth


def test_sample_workspace_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOENERGY_NB_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("GEOENERGY_NB_METERS", "110")
    monkeypatch.setenv("GEOENERGY_NB_START", "2023-11-01")
    monkeypatch.setenv("GEOENERGY_NB_END", "2023-11-16")
    sample = sample_workspace(quiet=True)
    assert sample.ws.path == tmp_path / "env" / "city-110-2023-11-01-2023-11-16" / "workspace"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_meters": 50}, ValueError, "at least 100"),
        ({"n_meters": "300"}, TypeError, "n_meters"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_sample_workspace_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_workspace(tmp_path, **kwargs)
