"""Property tests of the readings path: files in, readings out, nothing lost."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoenergy.config import Workspace
from geoenergy.ingest import ingest_readings, ingest_registry
from geoenergy.readings import open_readings
from geoenergy.store import RejectedRow

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LOCAL_START = pd.Timestamp("2023-11-15 00:00", tz="Asia/Shanghai")


@pytest.fixture(scope="module")
def template(tmp_path_factory, _migrated_sqlite):
    """A workspace with the three-meter registry, copied for every example."""
    from types import SimpleNamespace

    root = tmp_path_factory.mktemp("tpl")
    ws = Workspace.create(root / "ws", readings_buckets=4)
    shutil.copy(_migrated_sqlite, ws.path / "store.sqlite")
    reg = root / "registry.csv"
    reg.write_text(
        "meter_id,address,customer_class,lon,lat\n"
        "M1,a,residential,116.4,39.9\nM2,b,commercial,116.3,39.9\nM3,c,industrial,116.2,39.8\n",
        encoding="utf-8",
    )
    ingest_registry(ws, reg)
    return SimpleNamespace(path=ws.path)


def _fresh(template) -> tuple[Workspace, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="geoenergy-prop-"))
    shutil.copytree(template.path, tmp / "ws")
    return Workspace(tmp / "ws"), tmp


@st.composite
def readings_frames(draw):
    """Valid readings of 1-3 meters sharing one interval, each a run of >= 2 steps."""
    interval = draw(st.sampled_from([900, 1800, 3600, 86400]))
    meters = draw(st.lists(st.sampled_from(["M1", "M2", "M3"]), min_size=1, unique=True))
    kwh = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
    parts = []
    for m in meters:
        offset = draw(st.integers(0, 20))
        n = draw(st.integers(2, 12))
        times = LOCAL_START + pd.to_timedelta((offset + np.arange(n)) * interval, unit="s")
        values = draw(st.lists(kwh, min_size=n, max_size=n))
        parts.append(pd.DataFrame({"meter_id": m, "timestamp": times, "kwh": values}))
    return pd.concat(parts, ignore_index=True)


def _write(df: pd.DataFrame, path: Path, fmt: str, offsets: bool) -> Path:
    if fmt == "parquet":
        out = df.assign(timestamp=df["timestamp"].dt.tz_convert("UTC"))
        out.sample(frac=1, random_state=0).to_parquet(path)
        return path
    stamp = "%Y-%m-%dT%H:%M:%S%z" if offsets else "%Y-%m-%d %H:%M"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["meter_id", "timestamp", "kwh"])
        for m, t, k in zip(df["meter_id"], df["timestamp"], df["kwh"], strict=True):
            w.writerow([m, t.strftime(stamp), repr(float(k))])
    return path


@PROPERTY_SETTINGS
@given(
    df=readings_frames(),
    fmt=st.sampled_from(["csv", "parquet"]),
    offsets=st.booleans(),
)
def test_valid_readings_round_trip(template, df, fmt, offsets):
    ws, tmp = _fresh(template)
    try:
        path = _write(df, tmp / f"r.{fmt}", fmt, offsets)
        rep = ingest_readings(ws, path)
        assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (
            len(df),
            len(df),
            0,
            0,
        ), rep.problems

        ds = open_readings(ws, resolution="native").compute()
        got = ds.kwh.to_series().dropna()
        got.index = got.index.set_names(["meter_id", "timestamp"])
        utc = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        expected = df.assign(timestamp=utc)
        expected = expected.set_index(["meter_id", "timestamp"])["kwh"].sort_index()
        pd.testing.assert_series_equal(
            got.sort_index(), expected, check_names=False, check_exact=True
        )
        # The grid between readings is NaN, never 0.
        n_cells = int(ds.kwh.notnull().sum())
        assert n_cells == len(df)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_junk = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20
) | st.sampled_from(
    ["", "-1", "nan", "inf", "1,5", "2023-11-15", "2023-11-15 25:00", "2923-01-01"]
)


@st.composite
def messy_rows(draw):
    n = draw(st.integers(1, 15))
    rows = []
    for _ in range(n):
        meter = draw(st.sampled_from(["M1", "M2", "M9", ""]))
        if draw(st.booleans()):
            ts = (LOCAL_START + pd.Timedelta(hours=draw(st.integers(0, 6)))).strftime(
                "%Y-%m-%d %H:%M"
            )
        else:
            ts = draw(_junk)
        kwh = repr(draw(st.floats(0, 100))) if draw(st.booleans()) else draw(_junk)
        rows.append([meter, ts, kwh])
    return rows


@PROPERTY_SETTINGS
@given(rows=messy_rows())
def test_messy_text_is_accepted_or_rejected_never_lost(template, rows):
    ws, tmp = _fresh(template)
    try:
        path = tmp / "messy.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["meter_id", "timestamp", "kwh"])
            w.writerows(rows)
        rep = ingest_readings(ws, path)  # never raises on row content
        assert rep.n_rows == len(rows)
        assert rep.n_rows == rep.n_accepted + rep.n_duplicates + rep.n_rejected

        import sqlalchemy as sa

        from geoenergy.store import Store

        with Store.for_workspace(ws) as store, store.session() as s:
            numbers = s.scalars(sa.select(RejectedRow.row_number)).all()
        assert len(numbers) == rep.n_rejected
        assert len(set(numbers)) == len(numbers)
        assert set(numbers) <= set(range(1, len(rows) + 1))
        if rep.n_accepted:
            ds = open_readings(ws, resolution="hourly").compute()
            assert int(ds.kwh.notnull().sum()) <= rep.n_accepted
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
