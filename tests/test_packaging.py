"""The distributions work on their own: the wheel carries the web-map assets.

The wheel and the sdist are built in-process with hatchling (about a second
each), the way ``pip`` and ``python -m build`` build them, so the build hook
``hatch_build.py`` runs for real. ``scripts/check-wheel.sh`` (``make
check-wheel``, part of ``make test``) goes further: it installs the wheel into
a fresh venv and runs the demo and the review app there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tarfile
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "webmap" / "assets" / "node_modules"
VENDOR = "webmap/assets/vendor"
DIRECT = {
    "leaflet",
    "leaflet.markercluster",
    "leaflet.fullscreen",
    "leaflet-measure",
    "leaflet.awesome-markers",
    "supercluster",
    "jquery",
    "bootstrap",
    "@fortawesome/fontawesome-free",
}


def _hook():
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def npm_assets():
    """The checkout's node_modules (scripts/install-web.sh); skip locally, fail in CI."""
    if not (NODE_MODULES / "leaflet" / "dist" / "leaflet.js").is_file():
        reason = f"{NODE_MODULES} holds no Leaflet; run scripts/install-web.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the web-map npm assets are required in CI (CI=true): {reason}")
        pytest.skip(reason)
    return NODE_MODULES


def _build(builder_cls, root: Path, out: Path) -> Path:
    builder = builder_cls(str(root))
    return Path(next(iter(builder.build(directory=str(out), versions=["standard"]))))


@pytest.fixture(scope="module")
def dists(npm_assets, tmp_path_factory):
    """(wheel, sdist) built from this checkout."""
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("dist")
    return _build(WheelBuilder, ROOT, out), _build(SdistBuilder, ROOT, out)


def test_wheel_carries_every_registered_asset_and_its_licence(dists):
    from webmap.assets import ASSETS

    wheel = zipfile.ZipFile(dists[0])
    names = set(wheel.namelist())
    for name, asset in ASSETS.items():
        for rel in (asset.path, *asset.extra):
            path = f"{VENDOR}/{asset.package}/{rel}"
            assert path in names or any(n.startswith(path + "/") for n in names), (name, path)
    # The copies are the installed files, byte for byte.
    assert (
        wheel.read(f"{VENDOR}/leaflet/dist/leaflet.js")
        == (NODE_MODULES / "leaflet/dist/leaflet.js").read_bytes()
    )
    assert f"{VENDOR}/leaflet/dist/images/marker-icon.png" in names
    assert f"{VENDOR}/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2" in names

    manifest = json.loads(wheel.read(f"{VENDOR}/manifest.json"))["packages"]
    lock = json.loads((ROOT / "webmap/assets/package-lock.json").read_text())["packages"]
    assert {p for p, e in manifest.items() if e["files"]} >= DIRECT
    for package, entry in manifest.items():
        assert entry["version"] == lock[f"node_modules/{package}"]["version"], package
        for licence in entry["license_files"]:
            assert f"{VENDOR}/{package}/{licence}" in names, (package, licence)
        if package in DIRECT:
            assert entry["license_files"], f"{package} ships without its licence"
    # Code bundled into the dist files has its licence too (Popper in Bootstrap's bundle).
    assert manifest["@popperjs/core"]["license_files"] == ["LICENSE.md"]
    assert f"{VENDOR}/leaflet.markercluster/MIT-LICENCE.txt" in names

    # Only what the maps use, not node_modules; no build tooling in the wheel.
    assert not any(n.startswith("webmap/assets/node_modules/") for n in names)
    assert not any(n.startswith(f"{VENDOR}/brfs/") and "licen" not in n.lower() for n in names)
    assert "hatch_build.py" not in names
    vendored = [n for n in names if n.startswith(VENDOR)]
    assert sum(wheel.getinfo(n).file_size for n in vendored) < 5_000_000


def test_sdist_builds_the_same_wheel(dists, tmp_path):
    from hatchling.builders.wheel import WheelBuilder

    wheel, sdist = dists
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
        tar.extractall(tmp_path)  # our own sdist (3.11.2 has no filter=)
    top = f"geoenergy-{version('geoenergy')}"
    assert f"{top}/hatch_build.py" in members
    assert f"{top}/webmap/assets/node_modules/leaflet/dist/leaflet.js" in members
    assert not any(m.startswith((f"{top}/tests/", f"{top}/bench/")) for m in members)
    again = _build(WheelBuilder, tmp_path / top, tmp_path / "out")
    first, second = zipfile.ZipFile(wheel), zipfile.ZipFile(again)
    assert sorted(first.namelist()) == sorted(second.namelist())
    for name in first.namelist():
        assert first.read(name) == second.read(name), name


def _copy_needed(tmp_path: Path) -> Path:
    """A project root with the registry, the lock and only the needed node_modules files."""
    hook = _hook()
    planned = hook.plan(ROOT)
    root = tmp_path / "project"
    for rel in ("webmap/assets.py", "webmap/assets/package-lock.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, root / rel)
    for rel in planned["files"] + planned["package_json"]:
        dest = root / hook.NODE_MODULES / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(NODE_MODULES / rel, dest)
    return root


def test_a_missing_asset_stops_the_build_naming_the_file_and_the_fix(npm_assets, tmp_path):
    hook = _hook()
    root = _copy_needed(tmp_path)
    assert hook.plan(root)["files"] == hook.plan(ROOT)["files"]
    (root / hook.NODE_MODULES / "jquery/dist/jquery.min.js").unlink()
    with pytest.raises(
        hook.AssetsBuildError, match=r"jquery/dist/jquery\.min\.js.*install-web\.sh"
    ):
        hook.plan(root)
    shutil.rmtree(root / hook.NODE_MODULES)
    with pytest.raises(hook.AssetsBuildError, match=r"node_modules does not exist.*npm ci"):
        hook.plan(root)


def test_an_installed_version_other_than_the_lock_stops_the_build(npm_assets, tmp_path):
    hook = _hook()
    root = _copy_needed(tmp_path)
    info = root / hook.NODE_MODULES / "leaflet/package.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "version": "1.7.1"}))
    with pytest.raises(hook.AssetsBuildError, match=r"leaflet is version 1\.7\.1.*wants 1\.9\.4"):
        hook.plan(root)


def test_an_editable_install_reads_node_modules_instead(tmp_path):
    hook = _hook()
    instance = hook.WebAssetsBuildHook(
        str(tmp_path), {}, None, None, str(tmp_path), "wheel"
    )  # an empty root: a standard build would fail
    build_data = {"force_include": {}}
    instance.initialize("editable", build_data)
    assert build_data == {"force_include": {}}


def test_the_version_has_one_source_and_a_changelog_section():
    import geoenergy

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert geoenergy.__version__ == version("geoenergy") == meta["version"]
    assert "version" not in meta.get("dynamic", [])
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{meta['version']}] - " in changelog


def test_a_postgis_url_without_the_driver_names_the_extra(monkeypatch):
    from geoenergy.errors import StoreError
    from geoenergy.store.engine import make_engine

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in a plain `pip install geoenergy`
    with pytest.raises(StoreError, match=r"pip install 'geoenergy\[postgis\]'") as info:
        make_engine("postgresql+psycopg://geoenergy:SECRET@127.0.0.1:5432/city")
    assert "SECRET" not in str(info.value)
