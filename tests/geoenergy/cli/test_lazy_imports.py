"""Heavy libraries are imported only on the paths that use them (issue 15).

``geoenergy detect`` from files is timed against reading the file with pandas;
every library it imports without using is start-up time the user waits for.
Each case runs in a fresh interpreter and lists the heavy top-level packages
it ended up with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = (
    "alembic",
    "dask",
    "distributed",
    "geopandas",
    "pandas",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "xarray",
)


def _imported(code: str, **env: str) -> set[str]:
    """The packages of :data:`HEAVY` loaded after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"print('IMPORTED', json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("IMPORTED "))
    return set(json.loads(line.removeprefix("IMPORTED ")))


def _cli(*args: str) -> str:
    return f"from geoenergy.cli import main\ncode = main({list(args)!r})\nassert code == 0, code\n"


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["detect", "--help"]])
def test_version_and_help_import_no_heavy_library(args):
    assert _imported(_cli(*args)) == set()


def test_checking_a_store_at_head_does_not_load_alembic(tmp_path):
    from geoenergy.store import upgrade

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    loaded = _imported(
        f"from geoenergy.store import Store, upgrade\n"
        f"with Store({url!r}) as s:\n"
        f"    s.check()\n"
        f"    s.upgrade()  # already at head: nothing to migrate\n"
    )
    assert "sqlalchemy" in loaded
    assert "alembic" not in loaded


def test_detect_from_files_loads_no_migrations_and_no_cluster_machinery(city, tmp_path):
    out = tmp_path / "scores.csv"
    args = ["detect", "--readings", str(city.readings), "--registry", str(city.registry)]
    code = _cli(*args, "--weather", str(city.weather), "--out", str(out))
    cache = tmp_path / "cache"
    first = _imported(code, GEOENERGY_CACHE_DIR=str(cache))
    assert {"sklearn", "xarray"} <= first  # it did detect
    # The first throw-away store is migrated (by the process that ingests: a forked
    # child on Linux, see geoenergy.adhoc), then kept as the template.
    (template,) = cache.glob("store-*.sqlite")
    built = template.stat().st_mtime_ns
    rows = out.read_text(encoding="utf-8")
    out.unlink()
    later = _imported(code, GEOENERGY_CACHE_DIR=str(cache))
    assert "alembic" not in later
    assert list(cache.glob("store-*.sqlite")) == [template]
    assert template.stat().st_mtime_ns == built  # copied, not migrated again
    assert "distributed" not in first | later
    assert out.read_text(encoding="utf-8") == rows
    assert len(rows.splitlines()) > 100
