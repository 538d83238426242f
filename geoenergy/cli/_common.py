"""What every command module shares: the consoles, the root options, the workspace.

The root callback (:mod:`geoenergy.cli`) stores ``--workspace``, ``--db`` and
``--verbose`` in :data:`state`; a command opens its one
:class:`~geoenergy.config.Workspace` with :func:`open_workspace` (in a
``with`` block, so the store's connections are closed when the command
ends) and hands that workspace down to the library. Nothing here imports a
command module.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geoenergy.errors import ConfigError

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    """The root options of the current call (set by the root callback)."""

    workspace: Path | None = None
    db: str | None = None
    verbose: bool = False
    dask_client: object = None


state = State()

ForceOpt = Annotated[
    bool, typer.Option(help="Process a file again even if it was ingested before.")
]


def open_workspace():
    """The workspace of ``--workspace`` (default the current folder) and ``--db``.

    Returns
    -------
    geoenergy.config.Workspace
        Use it as a context manager: its store (``ws.store``) is opened once,
        on first use, and closed when the ``with`` block ends.
    """
    from geoenergy.config import Workspace

    return Workspace(state.workspace or Path.cwd(), db_url=state.db)


def connect_dask() -> None:
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


class Preload:
    """Import modules on a background thread while the command does other work.

    ``geoenergy detect`` from files spends about a second of its life importing
    scikit-learn, SciPy, xarray and dask, which it needs only once the files
    are ingested; the ingestion spends much of its time in Arrow and NumPy
    code that releases the GIL. Importing them on a thread meanwhile overlaps
    the two. Call :meth:`join` before the command itself imports any of them
    or anything that might import them in turn, so that two threads never
    import the same modules at once (Python detects the deadlock such a
    circle would make by raising in one of them). A module that fails to
    import here is simply left out: the command imports it again and reports
    the error as usual.

    Parameters
    ----------
    *modules : str
        Dotted module names, imported in this order once :meth:`start` is called.
    """

    def __init__(self, *modules: str):
        self.modules = [m for m in modules if m not in sys.modules]
        self.thread = threading.Thread(target=self._run, name="geoenergy-preload", daemon=True)

    def start(self) -> None:
        """Start importing (once)."""
        if self.modules and self.thread.ident is None:
            self.thread.start()

    def _run(self) -> None:
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception:  # the command imports it again and reports why
                return

    def join(self) -> None:
        """Wait until every module is imported (or given up on)."""
        if self.thread.is_alive():
            self.thread.join()


def print_report(report) -> None:
    """Print an ingestion report and its table of rejected rows by problem."""
    console.print(report.summary())
    if report.problems:
        t = Table(title="Rejected rows by problem", show_lines=False)
        t.add_column("problem")
        t.add_column("rows", justify="right")
        t.add_column("example")
        for problem, (n, example) in report.problems.items():
            t.add_row(escape(problem), f"{n:,}", escape(example))
        console.print(t)


class ProgressBar:
    """A rich progress bar fed by the ingesters' callbacks.

    ``with ProgressBar(label) as (total, advance)``: ``total(n)`` sets the
    number of steps once known, ``advance(k)`` moves the bar by ``k``. The bar
    shows only on a terminal (on standard error).
    """

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


def report_error(exc: BaseException, internal: bool = False) -> None:
    """Print one clear error line (and the traceback with ``--verbose``)."""
    if state.verbose or os.environ.get("GEOENERGY_DEBUG"):
        traceback.print_exception(exc)
    prefix = "internal error" if internal else "error"
    err_console.print(
        f"[bold red]{prefix}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
    )
    if not state.verbose:
        err_console.print("(run with --verbose for the traceback)", style="dim")
