"""The package layout and dependency direction of DESIGN.md hold."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("detectors", "layers", "webmap")
SPATIAL = {
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "fiona",
    "folium",
    "geoalchemy2",
    "rasterio",
}


def _imports(package: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize("package", LIBRARIES)
def test_libraries_never_import_the_application(package):
    offenders = {f: n for f, n in _imports(package).items() if "geoenergy" in n}
    assert not offenders, f"{package} must not import geoenergy: {offenders}"


def test_detectors_import_no_spatial_library():
    offenders = {f: n & SPATIAL for f, n in _imports("detectors").items() if n & SPATIAL}
    assert not offenders, f"detectors must not import spatial libraries: {offenders}"


def test_top_level_layout():
    for name in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "geoenergy",
        "detectors",
        "layers",
        "notebooks",
        "webmap",
        "tests",
        "bench",
        ".ci/run",
    ):
        assert (ROOT / name).exists(), f"{name} is missing at the top level"


def test_distribution_ships_the_four_packages_with_pinned_dependencies():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert sorted(wheel) == ["detectors", "geoenergy", "layers", "webmap"]
    deps = meta["project"]["dependencies"]
    for required in (
        "geopandas",
        "shapely",
        "pyogrio",
        "pyproj",
        "scikit-learn",
        "xarray",
        "dask",
        "pyarrow",
        "folium",
        "sqlalchemy",
        "geoalchemy2",
        "alembic",
        "typer",
        "rich",
    ):
        spec = next((d for d in deps if d.lower().startswith(required)), None)
        assert spec is not None, f"{required} is not a dependency"
        assert ">=" in spec, f"{required} has no minimum version: {spec!r}"


def _names(specs):
    return {
        s.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for s in specs
    }


def test_extras_hold_the_optional_parts_and_every_requirement_is_pinned():
    """Every command runs on the core dependencies; optional parts are extras.

    ``pip install geoenergy`` must be enough for demo, detect, train, heat,
    publish and serve; the PostGIS driver, Jupyter and the benchmark tools
    are extras, so a plain install does not pull them in.
    """
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = meta["project"]["dependencies"]
    extras = meta["project"]["optional-dependencies"]
    assert {"postgis", "notebooks", "bench", "test"} <= set(extras)
    for spec in deps + [s for group in extras.values() for s in group]:
        assert ">=" in spec, f"{spec!r} has no minimum version"
    # What serve, publish and the XLSX export need is in the core.
    assert {"fastapi", "uvicorn", "argon2-cffi", "jinja2", "openpyxl", "h3"} <= _names(deps)
    assert _names(deps).isdisjoint({"psycopg", "jupyterlab", "matplotlib", "tsfresh", "locust"})
    assert "psycopg" in _names(extras["postgis"])
    assert {"jupyterlab", "matplotlib"} <= _names(extras["notebooks"])
    assert {"tsfresh", "locust"} <= _names(extras["bench"])
    # The test suite runs the PostGIS tests, the notebooks and the packaging tests.
    assert {"psycopg", "matplotlib", "nbclient", "hatchling", "build"} <= _names(extras["test"])
    # The wheel's web-map assets come from the build hook (hatch_build.py).
    assert "custom" in meta["tool"]["hatch"]["build"]["hooks"]
    assert (ROOT / "hatch_build.py").is_file()
