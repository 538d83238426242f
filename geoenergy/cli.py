"""The ``geoenergy`` command line.

Every command works on a workspace folder (``--workspace``, default the
environment variable ``GEOENERGY_WORKSPACE`` or the current folder) and its
store (``--db`` / ``GEOENERGY_DB``, default the workspace's SpatiaLite file).
Errors print one clear message and exit non-zero; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geoenergy.errors import ConfigError, GeoEnergyError

app = typer.Typer(
    name="geoenergy",
    help="Find illegal crypto-mining in meter data and map data-centre waste heat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
ingest_app = typer.Typer(
    help="Ingest data-contract files into the workspace.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_app = typer.Typer(
    help="The relational store: schema migrations.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    workspace: Path | None = None
    db: str | None = None
    verbose: bool = False
    dask_client: object = None


state = State()


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="GEOENERGY_WORKSPACE",
            help="Workspace folder (default: current folder).",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="GEOENERGY_DB",
            help="Store URL: sqlite:///FILE (SpatiaLite) or postgresql+psycopg://USER:PW@HOST/DB.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
):
    state.workspace = workspace
    state.db = db
    state.verbose = verbose
    _connect_dask()


def _connect_dask() -> None:
    """Send dask work to the scheduler named by ``GEOENERGY_DASK_SCHEDULER``, if set.

    The readings are read by the workers from the workspace folder, so it must
    be on a file system the workers see at the same path.
    """
    address = os.environ.get("GEOENERGY_DASK_SCHEDULER", "").strip()
    if not address or state.dask_client is not None:
        return
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "GEOENERGY_DASK_SCHEDULER is set but dask.distributed is not installed; "
            "`pip install distributed`, or unset the variable to compute locally."
        ) from None
    try:
        state.dask_client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach the dask scheduler {address} (GEOENERGY_DASK_SCHEDULER): {exc}. "
            "Start it (`dask scheduler`) or unset the variable to compute locally."
        ) from None


def _workspace():
    from geoenergy.config import Workspace

    return Workspace(state.workspace or Path.cwd(), db_url=state.db)


def _store(ws):
    return ws.store


def _parse_map(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(
                f"--map {item!r} is not FILE_COLUMN=CONTRACT_COLUMN, e.g. --map 电表号=meter_id."
            )
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


# -- init / db ------------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[
        Path | None, typer.Argument(help="Folder to create (default: --workspace or .)")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA zone of naive meter timestamps.")
    ] = "Asia/Shanghai",
    buckets: Annotated[int, typer.Option(help="Hash partitions of the readings store.")] = 64,
):
    """Create a workspace (settings file and store) and migrate its schema."""
    from geoenergy.config import Workspace
    from geoenergy.store import redact_url, upgrade

    target = path or state.workspace or Path.cwd()
    ws = Workspace.create(target, timezone=timezone, readings_buckets=buckets)
    if state.db:
        ws = Workspace(ws.path, db_url=state.db)
    upgrade(ws.db_url)
    console.print(f"Workspace ready at [bold]{ws.path}[/] (store {redact_url(ws.db_url)}).")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head"):
    """Create or migrate the store schema to the newest revision."""
    from geoenergy.store import current_revision, redact_url, upgrade

    ws = _workspace()
    before = current_revision(ws.db_url)
    upgrade(ws.db_url, revision)
    after = current_revision(ws.db_url)
    console.print(f"Store {redact_url(ws.db_url)}: schema {before or 'empty'} -> {after}.")


@db_app.command("current")
def db_current():
    """Show the store's schema revision and the one this GeoEnergy needs."""
    from geoenergy.store import current_revision, head_revision, redact_url

    ws = _workspace()
    console.print(
        f"Store {redact_url(ws.db_url)}: schema {current_revision(ws.db_url) or 'empty'}; "
        f"this GeoEnergy needs {head_revision()}."
    )


# -- ingest ----------------------------------------------------------------------------

MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="Map a file column to a contract column: FILE_COLUMN=CONTRACT_COLUMN (repeatable).",
    ),
]
EncOpt = Annotated[str, typer.Option(help="Text encoding of a CSV file, e.g. utf-8 or gbk.")]
DelimOpt = Annotated[
    str | None, typer.Option(help="CSV delimiter (default ',' or tab for .tsv), e.g. ';'.")
]
ForceOpt = Annotated[
    bool, typer.Option(help="Process a file again even if it was ingested before.")
]
FileArg = Annotated[Path, typer.Argument(help="CSV or Parquet file.")]


def _run_ingest(kind: str, file: Path, column_map, encoding, force, delimiter=None):
    from geoenergy.ingest import INGESTERS

    ws = _workspace()
    fn = INGESTERS[kind]
    with _Progress(f"ingest {kind}") as (total, advance):
        kw = {"total": total} if kind == "readings" else {}
        report = fn(
            ws,
            file,
            column_map=_parse_map(column_map),
            encoding=encoding,
            delimiter=delimiter,
            force=force,
            progress=advance,
            **kw,
        )
    _print_report(report)


def _contract_help(kind: str) -> str:
    from geoenergy.contracts import CONTRACTS

    c = CONTRACTS[kind]
    cols = "; ".join(
        f"{col.name}{'' if col.required else ' (optional)'}: {col.description}"
        for col in c.columns
    )
    return f"Ingest {c.description}. Columns: {cols}."


def _make_ingest_command(kind: str):
    def command(
        file: FileArg,
        map: MapOpt = None,
        encoding: EncOpt = "utf-8",
        delimiter: DelimOpt = None,
        force: ForceOpt = False,
    ):
        _run_ingest(kind, file, map, encoding, force, delimiter)

    command.__doc__ = _contract_help(kind)
    ingest_app.command(kind)(command)


for _kind in ("readings", "registry", "labels", "weather"):
    _make_ingest_command(_kind)


@ingest_app.command("layer")
def ingest_layer_cmd(
    kind: Annotated[
        str,
        typer.Argument(help="districts, buildings, heating_network, heat_demand or data_centres."),
    ],
    file: Annotated[
        Path, typer.Argument(help="GeoPackage, GeoJSON, Shapefile, FlatGeobuf or GeoParquet.")
    ],
    name: Annotated[
        str | None, typer.Option(help="Name of the layer in the store (default: kind).")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Layer inside a multi-layer file.")] = None,
    make_valid: Annotated[bool, typer.Option(help="Repair invalid geometries.")] = False,
    force: ForceOpt = False,
):
    """A spatial layer of the data contract, checked and stored in WGS84."""
    from geoenergy.ingest import ingest_layer
    from layers.schemas import LayerError

    ws = _workspace()
    try:
        report = ingest_layer(
            ws, kind, file, name=name, layer=layer, make_valid=make_valid, force=force
        )
    except LayerError as exc:
        raise ConfigError(str(exc)) from None
    _print_report(report)


def _print_report(report):
    console.print(report.summary())
    if report.problems:
        t = Table(title="Rejected rows by problem", show_lines=False)
        t.add_column("problem")
        t.add_column("rows", justify="right")
        t.add_column("example")
        for problem, (n, example) in report.problems.items():
            t.add_row(escape(problem), f"{n:,}", escape(example))
        console.print(t)


class _Progress:
    """A rich progress bar fed by the ingesters' callbacks."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        )
        self.p.start()
        self.task = self.p.add_task(self.label, total=None)

        def total(n):
            self.p.update(self.task, total=n)

        def advance(k):
            self.p.advance(self.task, k)

        return total, advance

    def __exit__(self, *exc):
        self.p.stop()


# -- rejected / status ---------------------------------------------------------------


@app.command()
def rejected(
    kind: Annotated[
        str | None, typer.Option(help="readings, registry, labels or weather.")
    ] = None,
    file: Annotated[
        str | None, typer.Option(help="Only rows of files whose path contains this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    export: Annotated[
        Path | None, typer.Option(help="Write all matching rows to this CSV file.")
    ] = None,
):
    """List the quarantined rows with their reasons (and export them to fix and re-ingest)."""
    import sqlalchemy as sa

    from geoenergy.ingest.core import rejected_frame, rejected_query

    ws = _workspace()
    store = _store(ws)
    store.check()
    if export:
        df = rejected_frame(store, kind, file)
        df.to_csv(export, index=False)
        console.print(f"Wrote {len(df):,} rejected rows to {export}.")
        return
    q = rejected_query(kind, file)
    with store.session() as s:
        total = s.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = s.execute(q.limit(limit)).all()
    if not total:
        console.print("No rejected rows.")
        return
    t = Table(title=f"Rejected rows ({min(limit, total):,} of {total:,})")
    for c in ("file", "row", "column", "value", "reason"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(
            *(
                escape(x)
                for x in (
                    Path(r.source_path).name,
                    str(r.row_number),
                    r.column or "",
                    r.value or "",
                    r.reason,
                )
            )
        )
    console.print(t)


@app.command()
def status():
    """What the workspace holds: meters, readings, labels, weather, layers, ingestions."""
    ws = _workspace()
    from geoenergy.summary import workspace_summary

    summary = workspace_summary(ws, _store(ws))
    t = Table(title=f"Workspace {ws.path}", show_header=False)
    for k, v in summary.items():
        t.add_row(escape(k), escape(str(v)))
    console.print(t)


# -- demo ---------------------------------------------------------------------------


@app.command()
def demo(
    path: Annotated[Path | None, typer.Argument(help="Workspace folder for the demo.")] = None,
    meters: Annotated[int, typer.Option(help="Meters in the synthetic city.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic city.")] = 20231115,
):
    """Build a SYNTHETIC sample city, ingest it like user files, run every pipeline step."""
    from geoenergy.demo import run_demo

    target = path or state.workspace or Path("geoenergy-demo")
    run_demo(target, n_meters=meters, seed=seed, db_url=state.db, console=console)


# -- command groups defined in their own modules --------------------------------------
_COMMAND_MODULES = ("cli_layers", "cli_detect", "cli_heat", "cli_publish", "cli_web")
_registered: set[str] = set()


def ensure_registered(module) -> None:
    """Add a command module's commands to :data:`app` once.

    Each ``geoenergy.cli_*`` module calls this when it finishes importing, so
    importing one of them before ``geoenergy.cli`` (which imports them all)
    cannot leave the CLI without its commands.
    """
    if module.__name__ not in _registered:
        _registered.add(module.__name__)
        module.register(app)


def _register_commands() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        full = f"geoenergy.{name}"
        partial = sys.modules.get(full)
        if partial is not None and not hasattr(partial, "register"):
            continue  # being imported right now; it calls ensure_registered when done
        ensure_registered(importlib.import_module(full))


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one clear message."""
    try:
        # With standalone_mode=False click returns the code of a `typer.Exit`.
        code = app(args=argv, standalone_mode=False)
    except GeoEnergyError as exc:
        _fail(exc, 1)
        return 1
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("Aborted.")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, ValueError | OSError):
            _fail(exc, 1)
            return 1
        _fail(exc, 2, internal=True)
        return 2
    return code if isinstance(code, int) else 0


def _fail(exc, code, internal=False):
    if state.verbose or os.environ.get("GEOENERGY_DEBUG"):
        traceback.print_exception(exc)
    prefix = "internal error" if internal else "error"
    err_console.print(
        f"[bold red]{prefix}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
    )
    if not state.verbose:
        err_console.print("(run with --verbose for the traceback)", style="dim")


if __name__ == "__main__":
    sys.exit(main())
