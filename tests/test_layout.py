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
