"""The notebooks run top to bottom on the sample city, and are committed clean.

* Every notebook is executed headless (nbclient, the ``python3`` kernel of this
  interpreter) on a small synthetic sample city; any cell that raises fails the test.
* The committed files carry no outputs, execution counts or run metadata (the
  nbstripout check), start with a paragraph on what they are for, and have one
  ``DATA = None`` setting that points them at real data.
* Their code uses only public names: no ``_private`` imports or attributes, and
  nothing from the CLI (``geoenergy.cli``), not even indirectly.
* They start from the package's ``sample_workspace()``, not a pasted copy of it.
* Executed, their outputs load no script from the network (maps carry the package's
  own Leaflet files), and ``01`` registers a new detector only when it beats the
  current one on the same hold-out: run again, it registers nothing.
"""

from __future__ import annotations

import ast
import html
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_retrain_mining_detector.ipynb",
    "02_explore_waste_heat.ipynb",
    "03_mining_hotspots.ipynb",
]

#: A sample city small enough for CI: 1,000 meters over seven weeks around the start of
#: the heating season (15 November), so the heating-season features have both sides.
SAMPLE_ENV = {
    "GEOENERGY_NB_METERS": "1000",
    "GEOENERGY_NB_START": "2023-10-25",
    "GEOENERGY_NB_END": "2023-12-13",
    "MPLBACKEND": "Agg",  # no display in the headless kernel
}

#: What each notebook leaves in the sample workspace (glob under the workspace folder).
PRODUCES = {
    "01_retrain_mining_detector.ipynb": "models/mining-supervised-*.card.json",
    "02_explore_waste_heat.ipynb": "heat/heat_scenario*.gpkg",
    "03_mining_hotspots.ipynb": "campaigns/campaign-*.csv",
}

#: A script or style loaded from the network, in an output (raw or inside an escaped srcdoc).
REMOTE_SCRIPT = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
)
#: The CDNs folium links by default.
CDN = re.compile(
    r"cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|code\.jquery\.com|unpkg\.com|bootstrapcdn"
)

#: Appended to each executed notebook: which CLI modules the kernel imported.
CLI_PROBE = (
    "import sys\n"
    "print('CLI modules:', sorted(m for m in sys.modules if m.split('.')[:2] == ['geoenergy', 'cli']))"
)

#: Cell metadata Jupyter may keep in a committed notebook; everything else is run state.
CELL_METADATA = {"tags"}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}


def _code_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def private_names(source: str) -> list[str]:
    """Private names a piece of notebook code uses: ``_x`` imports, ``._x`` attributes.

    Dunder names (``__version__``) are public. ``getattr(obj, "_x")`` counts too.
    """

    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(map(private, a.name.split(".")))]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(map(private, module.split("."))):
                found.append(module)
            found += [f"{module}.{a.name}" for a in node.names if private(a.name)]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            found.append(f".{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and private(node.args[1].value)
        ):
            found.append(f"{node.func.id}(..., {node.args[1].value!r})")
    return found


# -- the committed files ----------------------------------------------------------------


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    fix = f"strip it with `nbstripout {path.name}` (or Jupyter's 'Clear All Outputs' and save)"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs; {fix}."
            assert cell.execution_count is None, f"{path.name} cell {i} has a count; {fix}."
        extra = set(cell.metadata) - CELL_METADATA
        assert not extra, f"{path.name} cell {i} has run metadata {sorted(extra)}; {fix}."
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    assert not extra, f"{path.name} has notebook metadata {sorted(extra)}; {fix}."
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_starts_with_its_purpose_and_one_data_setting(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**Needs:**" in first.source and "**For " in first.source
    settings = next(c for c in nb.cells if c.cell_type == "code").source
    assert "\nDATA = None  #" in settings


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_uses_only_public_names(path):
    for i, source in _code_cells(path):
        bad = private_names(source)
        assert not bad, f"{path.name} cell {i} uses private names {bad}; use the public API."


def cli_imports(source: str) -> list[str]:
    """Modules of ``geoenergy.cli`` a piece of notebook code imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found += [n for n in names if n.split(".")[:2] == ["geoenergy", "cli"]]
    return sorted(set(found))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_nothing_from_the_cli(path):
    for i, source in _code_cells(path):
        bad = cli_imports(source)
        assert not bad, f"{path.name} cell {i} imports {bad}; the library has it, not the CLI."


def test_cli_imports_finds_them():
    assert cli_imports("from geoenergy.cli.heat import write_result") == [
        "geoenergy.cli.heat",
        "geoenergy.cli.heat.write_result",
    ]
    assert cli_imports("import geoenergy.cli") == ["geoenergy.cli"]
    assert cli_imports("from geoenergy.heat import write_result\nimport geoenergy") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_starts_from_the_package_sample_workspace(path):
    import geoenergy.samplecity

    assert callable(geoenergy.samplecity.sample_workspace)
    sources = [source for _, source in _code_cells(path)]
    assert any("sample_workspace()" in s for s in sources)
    assert not any("def sample_workspace" in s for s in sources), "use the package's helper"


def test_remote_script_pattern():
    assert REMOTE_SCRIPT.search('<script src="https://cdn.jsdelivr.net/npm/leaflet.js"></script>')
    assert REMOTE_SCRIPT.search("<link rel='stylesheet' href='//unpkg.com/x.css'/>")
    assert not REMOTE_SCRIPT.search("<script>var a = 'https://leafletjs.com';</script>")
    assert not REMOTE_SCRIPT.search('<a href="https://leafletjs.com">Leaflet</a>')


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from detectors._signature import Options", ["detectors._signature"]),
        ("import detectors._signature as sig", ["detectors._signature"]),
        (
            "from geoenergy.detection import _registry, meter_context",
            ["geoenergy.detection._registry"],
        ),
        ("model._platt(x)", ["._platt"]),
        ("getattr(model, '_features')", ["getattr(..., '_features')"]),
        ("import geoenergy\ngeoenergy.__version__\nx = _local = 1", []),
        ("from detectors.model import MiningModel\nMiningModel.load(p).card", []),
    ],
)
def test_private_names_finds_them(source, expected):
    assert private_names(source) == expected


# -- executed on the sample city ----------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One folder for the module: the notebooks share the sample workspace, built once."""
    return tmp_path_factory.mktemp("notebooks")


def _registered_models(run_dir: Path) -> int:
    """Detector models registered in the sample workspace (0 before it exists)."""
    import sqlalchemy as sa

    from geoenergy.config import Workspace
    from geoenergy.store import DetectorModel

    found = list(run_dir.glob("sample-workspace/*/workspace/store.sqlite"))
    if not found:
        return 0
    ws = Workspace(found[0].parent)
    try:
        with ws.store.session() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(DetectorModel))
    finally:
        ws.close()


def _outputs(nb) -> str:
    """Every text an executed notebook shows, HTML unescaped too (maps sit in srcdoc)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith(("json", "javascript")):
                    parts.append(value if isinstance(value, str) else str(value))
            if out.get("output_type") == "error":
                parts.append("\n".join(out.get("traceback", [])))
    text = "\n".join(parts)
    return text + "\n" + html.unescape(text)


def _execute(path: Path, run_dir: Path, monkeypatch) -> str:
    """Run a notebook headless on the small sample city; return its outputs."""
    from nbclient import NotebookClient

    for name, value in SAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GEOENERGY_NB_DIR", str(run_dir / "sample-workspace"))
    # The sample workspace is SpatiaLite in the temp folder, whatever the caller's store.
    monkeypatch.delenv("GEOENERGY_DB", raising=False)
    monkeypatch.delenv("GEOENERGY_TIMEZONE", raising=False)
    nb = nbformat.read(path, as_version=4)
    # The kernel must be this environment's Python, not some other python3 kernel.
    check = f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix"
    nb.cells.insert(0, nbformat.v4.new_code_cell(check))
    nb.cells.append(nbformat.v4.new_code_cell(CLI_PROBE))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(run_dir)}},  # the kernel's working folder
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell raises
    return _outputs(nb)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_sample_city(path, run_dir, monkeypatch):
    before = _registered_models(run_dir)
    shown = _execute(path, run_dir, monkeypatch)
    produced = list(run_dir.glob(f"sample-workspace/*/workspace/{PRODUCES[path.name]}"))
    assert produced, f"{path.name} ran but wrote no {PRODUCES[path.name]}"
    assert "CLI modules: []" in shown, f"{path.name} imported the CLI: {shown[-300:]}"
    remote = REMOTE_SCRIPT.findall(shown) + CDN.findall(shown)
    assert not remote, f"{path.name} shows something that loads from the network: {remote[:3]}"
    after = _registered_models(run_dir)
    if path.name.startswith("01_"):
        registered = "REGISTERED as" in shown
        assert registered != ("NOT REGISTERED" in shown), "01 must say whether it registered"
        assert after == before + int(registered)
    else:
        assert after == before, f"{path.name} registered a detector"


@pytest.mark.slow
def test_retraining_again_registers_nothing(run_dir, monkeypatch):
    """Run after the three above: a second 01 meets a baseline it cannot beat (itself,
    refitted, or the same unsupervised detector), says so and leaves the registry alone."""
    path = NOTEBOOK_DIR / EXPECTED[0]
    before = _registered_models(run_dir)
    shown = _execute(path, run_dir, monkeypatch)
    assert "NOT REGISTERED" in shown and "does not beat" in shown
    assert _registered_models(run_dir) == before
