"""Build hook: the web-map assets (Leaflet and its plugins) go inside the package.

A published site must work on an intranet without internet, so it carries
its own copies of Leaflet and the plugins (:mod:`webmap.assets`). In a
checkout they come from ``webmap/assets/node_modules`` (``npm ci``, run by
``scripts/install-web.sh``); an administrator who installs a wheel has no
npm and no such folder. This hook therefore copies, at build time:

- into the **wheel**, under ``webmap/assets/vendor/<package>/<file>`` (the
  first place :func:`webmap.assets.node_modules` looks): every file the
  registry :data:`webmap.assets.ASSETS` names (scripts, styles and the
  images and fonts they refer to), each package's licence file, the licence
  files of the packages they depend on (``leaflet-measure`` and the
  Bootstrap bundle include their dependencies' code), and a
  ``manifest.json`` listing package, version, licence and files;
- into the **sdist**, the same files at their ``node_modules`` paths plus
  each package's ``package.json``, so that a wheel built from the sdist is
  the same wheel.

Only what the registry names is copied (about 2 MB), not all of
``node_modules``. The versions come from ``webmap/assets/package-lock.json``;
a missing file or a package whose installed version differs from the lock
stops the build with the file and the fix. Nothing is fetched at build or
run time. Editable installs (``pip install -e .``) are left alone: they read
``node_modules`` in the checkout.

The registry is read from ``webmap/assets.py`` with :mod:`ast` rather than
imported, because the build environment has no folium.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Folder of ``package.json`` and ``package-lock.json``, relative to the project root.
ASSETS_DIR = "webmap/assets"
#: Where ``npm ci`` installs the packages, relative to the project root.
NODE_MODULES = f"{ASSETS_DIR}/node_modules"
#: Where the wheel carries the copies, relative to the wheel root.
VENDOR = f"{ASSETS_DIR}/vendor"
#: The module that holds the :data:`ASSETS` registry, relative to the project root.
REGISTRY_MODULE = "webmap/assets.py"
#: The manifest written into the vendor folder.
MANIFEST = "manifest.json"
#: How to get the files when they are missing.
FIX = (
    "Install them with `scripts/install-web.sh` (as root; it runs `npm ci` in "
    f"{ASSETS_DIR}), or run `npm ci --ignore-scripts` in {ASSETS_DIR}, then build again."
)

_LICENCE = re.compile(r"(^|[-_.])licen[cs]e([-_.]|$)|^copying([-_.]|$)", re.IGNORECASE)


class AssetsBuildError(RuntimeError):
    """The web-map assets cannot be put into the distribution."""


def registry(root: Path) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """The :data:`webmap.assets.ASSETS` registry, read from the source.

    Parameters
    ----------
    root : Path
        Project root.

    Returns
    -------
    dict
        ``{name: (package, path, extra)}`` as in ``Asset(package, path, extra)``.
    """
    path = root / REGISTRY_MODULE
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "ASSETS" and node.value is not None:
            break
    else:
        raise AssetsBuildError(f"{path} has no ASSETS registry; the build hook reads it.")
    out = {}
    try:
        for key, call in zip(node.value.keys, node.value.values, strict=True):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Asset"):
                raise ValueError(ast.unparse(call))
            args = [ast.literal_eval(a) for a in call.args]
            fields = dict(zip(("package", "path", "extra")[: len(args)], args, strict=True))
            fields |= {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            out[ast.literal_eval(key)] = (
                fields["package"],
                fields["path"],
                tuple(fields.get("extra", ())),
            )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise AssetsBuildError(
            f"{path}: ASSETS must map literal names to Asset('package', 'path', (extra, ...)) "
            f"with literal arguments so the build hook can read it; cannot read {exc}."
        ) from None
    return out


def _lock(root: Path) -> dict[str, dict]:
    path = root / ASSETS_DIR / "package-lock.json"
    if not path.is_file():
        raise AssetsBuildError(f"{path} is missing; it names the web-map asset versions.")
    return json.loads(path.read_text(encoding="utf-8"))["packages"]


def _resolve(lock: dict[str, dict], parent: str, dep: str) -> str | None:
    """The lock key npm installs ``dep`` at for the package at ``parent`` (node's lookup)."""
    here = parent
    while True:
        key = f"{here}/node_modules/{dep}"
        if key in lock:
            return key
        cut = here.rfind("/node_modules/")
        if cut < 0:
            return f"node_modules/{dep}" if f"node_modules/{dep}" in lock else None
        here = here[:cut]


def _licence_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and _LICENCE.search(p.name))


def plan(root: str | Path) -> dict:
    """What the distributions carry: files under ``node_modules`` and the manifest.

    Parameters
    ----------
    root : str or Path
        Project root (a checkout or an unpacked sdist).

    Returns
    -------
    dict
        ``files``: paths relative to ``node_modules`` for the wheel;
        ``package_json``: each used package's ``package.json`` (sdist only);
        ``manifest``: ``{package: {version, license, license_files, files}}``.

    Raises
    ------
    AssetsBuildError
        When a file is missing, a package is not in the lock file, or the
        installed version differs from the lock; the message names the
        file and the fix.
    """
    root = Path(root)
    modules = root / NODE_MODULES
    lock = _lock(root)
    if not modules.is_dir():
        raise AssetsBuildError(
            f"{NODE_MODULES} does not exist, so the wheel would publish maps without "
            f"Leaflet (it must carry webmap/assets/node_modules/leaflet/dist/leaflet.js and "
            f"the other files webmap/assets.py names). {FIX}"
        )
    manifest: dict[str, dict] = {}
    missing: list[str] = []
    for package, file, extra in registry(root).values():
        key = f"node_modules/{package}"
        if key not in lock:
            raise AssetsBuildError(
                f"webmap/assets.py uses the npm package {package!r}, which "
                f"{ASSETS_DIR}/package-lock.json does not name; add it to "
                f"{ASSETS_DIR}/package.json and run `npm install` there."
            )
        entry = manifest.setdefault(package, {"files": []})
        for rel in (file, *extra):
            src = modules / package / rel
            if src.is_dir():
                found = sorted(p for p in src.rglob("*") if p.is_file())
                entry["files"] += [p.relative_to(modules / package).as_posix() for p in found]
                if not found:
                    missing.append(f"{NODE_MODULES}/{package}/{rel}/ (empty)")
            elif src.is_file() and src.stat().st_size > 0:
                entry["files"].append(rel)
            else:
                missing.append(f"{NODE_MODULES}/{package}/{rel}")
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise AssetsBuildError(
            "The web-map assets are not all installed, so the wheel would publish broken "
            f"maps. Missing: {', '.join(missing[:5])}{more}. {FIX}"
        )
    for package in manifest:
        want = lock[f"node_modules/{package}"].get("version")
        info = json.loads((modules / package / "package.json").read_text(encoding="utf-8"))
        if info.get("version") != want:
            raise AssetsBuildError(
                f"{NODE_MODULES}/{package} is version {info.get('version')}, but "
                f"{ASSETS_DIR}/package-lock.json wants {want}. {FIX}"
            )
    # The packages the used ones depend on: their code may be bundled into the dist
    # files (leaflet-measure bundles its dependencies, Bootstrap's bundle Popper).
    todo = [f"node_modules/{p}" for p in manifest]
    seen: set[str] = set()
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for dep in (*lock[key].get("dependencies", {}), *lock[key].get("peerDependencies", {})):
            found = _resolve(lock, key, dep)
            if found:
                todo.append(found)
    for key in sorted(seen):
        name = key.removeprefix("node_modules/")
        entry = manifest.setdefault(name, {"files": []})
        entry["version"] = lock[key].get("version")
        entry["license"] = lock[key].get("license")
        entry["license_files"] = _licence_files(modules / name)
        if entry["files"] and not entry["license_files"]:
            raise AssetsBuildError(
                f"{NODE_MODULES}/{name} has no licence file (LICENSE, LICENCE.txt, ...); "
                f"the wheel must carry it. {FIX}"
            )
    for entry in manifest.values():
        entry["files"] = sorted(set(entry["files"]))
    files = sorted(
        {f"{name}/{f}" for name, e in manifest.items() for f in e["files"] + e["license_files"]}
    )
    package_json = sorted(f"{name}/package.json" for name, e in manifest.items() if e["files"])
    return {
        "files": files,
        "package_json": package_json,
        "manifest": dict(sorted(manifest.items())),
    }


class WebAssetsBuildHook(BuildHookInterface):
    """Put the web-map assets into the wheel (and their sources into the sdist)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        """Add the files of :func:`plan` to ``build_data['force_include']``."""
        if self.target_name == "wheel" and version == "editable":
            return  # an editable install reads node_modules in the checkout
        root = Path(self.root)
        planned = plan(root)
        force = build_data["force_include"]
        modules = root / NODE_MODULES
        if self.target_name == "sdist":
            for rel in planned["files"] + planned["package_json"]:
                force[str(modules / rel)] = f"{NODE_MODULES}/{rel}"
            return
        for rel in planned["files"]:
            force[str(modules / rel)] = f"{VENDOR}/{rel}"
        self._tmp = tempfile.mkdtemp(prefix="geoenergy-build-")
        manifest = Path(self._tmp) / MANIFEST
        manifest.write_text(
            json.dumps(
                {"source": f"{ASSETS_DIR}/package-lock.json", "packages": planned["manifest"]},
                indent=1,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        force[str(manifest)] = f"{VENDOR}/{MANIFEST}"

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        """Remove the temporary manifest."""
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
