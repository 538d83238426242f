"""The ``geoenergy`` command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geoenergy.cli import app, main

REGISTRY = """\
编号,address,类别,lon,lat
M1,北京市朝阳区建国路1号,residential,116.40,39.90
M2,北京市海淀区中关村2号,commercial,116.30,39.98
"""
READINGS = """\
表号,时间,kwh
M1,2023-11-15 00:00,1
M1,2023-11-15 01:00,2
M1,2023-11-15 02:00,-1
M2,2023-11-15 00:00,abc
"""
COMMANDS = [
    [],
    ["init"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["ingest"],
    ["ingest", "readings"],
    ["ingest", "registry"],
    ["ingest", "labels"],
    ["ingest", "weather"],
    ["ingest", "layer"],
    ["rejected"],
    ["status"],
    ["demo"],
    ["layers"],
    ["layers", "add"],
    ["layers", "list"],
    ["layers", "check"],
    ["heat"],
]


def _geoenergy_script() -> str:
    exe = Path(sys.executable).with_name("geoenergy")
    return str(exe) if exe.exists() else shutil.which("geoenergy") or "geoenergy"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("GEOENERGY_DB", "GEOENERGY_WORKSPACE", "GEOENERGY_TIMEZONE", "GEOENERGY_DEBUG"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def run(capsys):
    """``run(*args) -> (exit code, stdout, stderr)`` through :func:`geoenergy.cli.main`.

    stdout comes with its whitespace collapsed (rich wraps it to the terminal width).
    """

    def _run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, " ".join(out.split()), err

    return _run


@pytest.fixture
def ws_path(tmp_path, run):
    path = tmp_path / "ws"
    code, _out, err = run("init", path, "--buckets", 4)
    assert code == 0, err
    return path


@pytest.fixture
def ingested(ws_path, tmp_path, run):
    reg = tmp_path / "registry.csv"
    reg.write_text(REGISTRY, encoding="utf-8")
    code, out, err = run(
        "-w",
        ws_path,
        "ingest",
        "registry",
        reg,
        "--map",
        "编号=meter_id",
        "-m",
        "类别=customer_class",
    )
    assert code == 0, err
    assert "2 rows read, 2 accepted" in out
    rd = tmp_path / "readings.csv"
    rd.write_text(READINGS, encoding="utf-8")
    code, out, err = run(
        "-w",
        ws_path,
        "ingest",
        "readings",
        rd,
        "--map",
        "表号=meter_id",
        "--map",
        "时间=timestamp",
    )
    assert code == 0, err
    return ws_path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "root")
def test_help_on_every_command(run, args):
    code, out, err = run(*args, "--help")
    assert code == 0, err
    assert "Usage:" in out
    assert "--help" in out


def test_version_comes_from_the_package_metadata(run):
    from importlib.metadata import version

    code, out, err = run("--version")
    assert code == 0, err
    assert out == f"geoenergy {version('geoenergy')}"


def test_init(tmp_path, run):
    code, out, err = run("init", tmp_path / "ws", "--timezone", "Europe/Berlin")
    assert code == 0, err
    assert "Workspace ready" in out
    text = (tmp_path / "ws" / "geoenergy.toml").read_text(encoding="utf-8")
    assert 'timezone = "Europe/Berlin"' in text
    assert (tmp_path / "ws" / "store.sqlite").exists()


def test_init_bad_timezone(tmp_path, run):
    code, _out, err = run("init", tmp_path / "ws", "--timezone", "Mars/Base")
    assert code == 1
    assert "Mars/Base" in err
    assert "Traceback" not in err


def test_ingest_with_map_and_report(ingested, run):
    code, out, err = run("-w", ingested, "status")
    assert code == 0, err
    assert "2 (1 with readings)" in out
    assert "rejected rows" in out


def test_ingest_report_lists_problems(ws_path, tmp_path, run):
    reg = tmp_path / "r.csv"
    reg.write_text(REGISTRY.replace("编号", "meter_id").replace("类别", "customer_class"))
    run("-w", ws_path, "ingest", "registry", reg)
    rd = tmp_path / "readings.csv"
    rd.write_text("meter_id,timestamp,kwh\nM1,2023-11-15 00:00,-4\n", encoding="utf-8")
    code, out, err = run("-w", ws_path, "ingest", "readings", rd)
    assert code == 0, err
    assert "1 rejected" in out
    assert "out_of_range" in out
    code, out, err = run("-w", ws_path, "ingest", "readings", rd)
    assert "already ingested" in out
    code, out, err = run("-w", ws_path, "ingest", "readings", rd, "--force")
    assert "1 rejected" in out


def test_malformed_file_is_one_clear_line(ingested, tmp_path, run):
    bad = tmp_path / "broken.csv"
    bad.write_text("meter,when,kwh\nM1,2023-11-15 00:00,1\n", encoding="utf-8")
    code, out, err = run("-w", ingested, "ingest", "readings", bad)
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1
    assert "broken.csv" in errors[0]
    assert "--map YOUR_NAME=meter_id" in errors[0]
    assert "--verbose" in err

    code, _out, err = run("-w", ingested, "--verbose", "ingest", "readings", bad)
    assert code == 1
    assert "Traceback" in err
    assert "InputFileError" in err


def test_bad_map_option(ingested, tmp_path, run):
    code, _out, err = run(
        "-w", ingested, "ingest", "readings", tmp_path / "x.csv", "--map", "oops"
    )
    assert code == 1
    assert "is not FILE_COLUMN=CONTRACT_COLUMN" in err


def test_not_a_workspace(tmp_path, run):
    code, _out, err = run("-w", tmp_path, "status")
    assert code == 1
    assert "not a GeoEnergy workspace" in err
    assert "geoenergy init" in err


def test_usage_error_exit_code(run):
    code, _out, err = run("ingest", "nonsense")
    assert code == 2
    assert "No such command" in err


def test_rejected_list_and_export(ingested, tmp_path, run):
    code, out, err = run("-w", ingested, "rejected")
    assert code == 0, err
    assert "Rejected rows (2 of 2)" in out
    assert "readings.csv" in out
    code, out, err = run("-w", ingested, "rejected", "--kind", "registry")
    assert "No rejected rows." in out

    export = tmp_path / "rejected.csv"
    code, out, err = run("-w", ingested, "rejected", "--export", export)
    assert code == 0, err
    assert "Wrote 2 rejected rows" in out
    df = pd.read_csv(export)
    assert df["row"].tolist() == [3, 4]
    assert df["column"].tolist() == ["kwh", "kwh"]
    assert "must be >= 0" in df["reason"].iloc[0]
    assert "not a finite number" in df["reason"].iloc[1]
    assert '"kwh": "abc"' in df["raw"].iloc[1]


def test_db_upgrade_and_current(tmp_path, run):
    from geoenergy.config import Workspace

    ws = Workspace.create(tmp_path / "ws")
    code, out, err = run("-w", ws.path, "db", "current")
    assert code == 0, err
    assert "schema empty" in out
    code, out, err = run("-w", ws.path, "db", "upgrade")
    assert code == 0, err
    assert "schema empty ->" in out
    code, out, err = run("-w", ws.path, "db", "current")
    assert "schema empty" not in out
    head = out.split("needs ")[-1].strip().rstrip(".")
    assert f"schema {head};" in out


def test_status_needs_migrated_store(tmp_path, run):
    from geoenergy.config import Workspace

    ws = Workspace.create(tmp_path / "ws")
    code, _out, err = run("-w", ws.path, "status")
    assert code == 1
    assert "Traceback" not in err


def test_cli_runner(tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "Workspace ready" in result.output


def test_installed_script(tmp_path):
    exe = _geoenergy_script()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOENERGY_")}
    done = subprocess.run(
        [exe, "--help"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ingest" in done.stdout
    done = subprocess.run(
        [exe, "-w", str(tmp_path), "ingest", "readings", str(tmp_path / "missing.xlsx")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error:" in done.stderr


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    exe = _geoenergy_script()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOENERGY_")}
    env["COLUMNS"] = "200"
    target = tmp_path / "demo"
    done = subprocess.run(
        [exe, "demo", str(target), "--meters", "200"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "SYNTHETIC" in out
    assert "What the workspace holds" in out
    # 200 sample-city meters plus the two of the live data centre (issue 17)
    assert "202 (202 with readings)" in out
    assert "Done in" in out
    assert "unsupervised detector: precision@20" in out
    assert "data centres" in out and "used heat" in out  # issue 14: used, not usable
    index = target / "published" / "index.html"
    assert f"Open the published site: {index}" in " ".join(out.split()) or str(index) in out
    assert index.exists() and (target / "published" / "officials.html").exists()
    assert not (target / "published" / "enforcement.html").exists()  # addresses stay out
    assert (target / "heat" / "heat_opportunities.gpkg").exists()

    from geoenergy.config import Workspace
    from geoenergy.readings import ReadingsStore, open_readings

    ws = Workspace(target)
    assert ReadingsStore(ws.readings_path).files()
    ds = open_readings(ws, resolution="daily")
    assert ds.sizes["meter"] == 202  # with the live data centre's two meters
    assert float(ds.kwh.sum()) > 0

    export = tmp_path / "rejected.csv"
    assert main(["-w", str(target), "rejected", "--export", str(export)]) == 0
    rej = pd.read_csv(export, keep_default_na=False)
    reasons = " ".join(rej["reason"])
    for words in (
        "is out of range",  # negative kwh
        "is not a finite number",  # non-numeric kwh
        "is not an ISO 8601 timestamp",
        "meter_id is empty",
        "is not in the meter registry",
        "never overwritten",  # conflicting duplicate of a stored reading
    ):
        assert words in reasons, words


def _districts(path, crs=4326, swap=False, gcj=False):
    import geopandas as gpd
    import shapely

    from layers.coords import wgs84_to_gcj02

    boxes = [shapely.box(116.30, 39.90, 116.35, 39.95), shapely.box(116.35, 39.90, 116.40, 39.95)]
    if gcj:
        boxes = [
            shapely.transform(b, lambda c: __import__("numpy").column_stack(wgs84_to_gcj02(*c.T)))
            for b in boxes
        ]
    if swap:
        boxes = [shapely.transform(b, lambda c: c[:, ::-1]) for b in boxes]
    gdf = gpd.GeoDataFrame({"name": ["西区", "东区"]}, geometry=boxes, crs=crs)
    gdf.to_file(path)
    return path


def test_layers_add_list_check(ws_path, tmp_path, run):
    good = _districts(tmp_path / "districts.gpkg", gcj=True)
    code, out, err = run("-w", ws_path, "layers", "check", "districts", good)
    assert code == 0, err
    assert "OK: no problems found" in out
    code, out, err = run(
        "-w", ws_path, "layers", "add", "districts", good, "--coord-system", "gcj02"
    )
    assert code == 0, err
    assert "2 accepted" in out
    code, out, err = run("-w", ws_path, "layers", "list")
    assert code == 0, err
    assert "districts" in out and "EPSG:4326" in out
    # The GCJ-02 corners went back to WGS84 within half a metre.
    from geoenergy.config import Workspace
    from geoenergy.layerstore import load_layer

    west = load_layer(Workspace(ws_path), "districts").geometry.iloc[0]
    assert abs(west.bounds[0] - 116.30) * 85_000 < 0.5
    assert abs(west.bounds[1] - 39.90) * 111_000 < 0.5


def test_layers_check_reports_swapped_and_fails(ws_path, tmp_path, run):
    bad = _districts(tmp_path / "swapped.geojson", swap=True)
    code, out, err = run("-w", ws_path, "layers", "check", "districts", bad)
    assert code == 1
    assert "swap" in out.lower()
    code, out, err = run("-w", ws_path, "layers", "add", "districts", bad)
    assert code == 1
    assert "swap" in err.lower()
    code, out, err = run("-w", ws_path, "layers", "add", "districts", bad, "--swap-xy")
    assert code == 0, err


def test_layers_bad_study_area_option(ws_path, tmp_path, run):
    good = _districts(tmp_path / "d.gpkg")
    code, _out, err = run(
        "-w", ws_path, "layers", "add", "districts", good, "--study-area", "1,2,3"
    )
    assert code == 1
    assert "MINLON,MINLAT,MAXLON,MAXLAT" in err
    code, _out, err = run(
        "-w", ws_path, "layers", "add", "districts", good, "--study-area", "117,40,118,41"
    )
    assert code == 1
    assert "outside the study area" in err


def test_dask_scheduler_from_the_environment(ingested, run, monkeypatch):
    """GEOENERGY_DASK_SCHEDULER sends the readings work to a dask.distributed cluster."""
    distributed = pytest.importorskip("distributed")
    from geoenergy import cli

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("GEOENERGY_DASK_SCHEDULER", cluster.scheduler_address)
        code, _out, err = run("-w", ingested, "status")
        assert code == 0, err
        client = cli.state.dask_client
        assert client is not None and client.scheduler.address == cluster.scheduler_address
        from geoenergy.config import Workspace
        from geoenergy.readings import open_readings

        ds = open_readings(Workspace(ingested), resolution="hourly")
        with distributed.get_task_stream(client) as stream:
            total = ds.kwh.sum().compute()
        assert float(total) == 3.0  # M1: 1 + 2 kWh; the -1 and "abc" rows were rejected
        assert len(stream.data) > 0  # the tasks ran on the cluster's worker


def test_dask_scheduler_unreachable_is_one_clear_error(ingested, run, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("GEOENERGY_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    code, _out, err = run("-w", ingested, "status")
    assert code == 1
    assert "cannot reach the dask scheduler tcp://127.0.0.1:9" in " ".join(err.split())


def test_run_exits_with_the_code_after_the_exit_handlers(tmp_path):
    # run() ends the process without Python's teardown: the exit handlers still run,
    # every line printed reaches the pipe, and the command's code is the process's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOENERGY_")}
    log = tmp_path / "handler.txt"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(log)!r}, 'w').write('ran'))\n"
        "sys.argv = ['geoenergy', *sys.argv[1:]]\n"
        "from geoenergy.cli import run\n"
        "run()\n"
    )
    ok = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("geoenergy ")
    assert log.read_text() == "ran"
    bad = subprocess.run(
        [sys.executable, "-c", code, "-w", str(tmp_path), "ingest", "readings", "nope.csv"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1
    assert "error:" in bad.stderr
