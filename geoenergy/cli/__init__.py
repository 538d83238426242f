"""The ``geoenergy`` command line: the Typer app, its root options and :func:`main`.

Every command works on a workspace folder (``--workspace``, default the
environment variable ``GEOENERGY_WORKSPACE`` or the current folder) and its
store (``--db`` / ``GEOENERGY_DB``, default the workspace's SpatiaLite file).
Errors print one clear message and exit non-zero; ``--verbose`` adds the
traceback.

One module per command group, each of which only parses arguments, calls the
library and prints:

==================  ==========================================================
:mod:`.workspace`   ``init``, ``status``, ``rejected``, ``demo``
:mod:`.db`          ``db upgrade``, ``db current``
:mod:`.ingest`      ``ingest readings|registry|labels|weather|layer``
:mod:`.layers`      ``layers add|list|check``
:mod:`.detect`      ``detect``, ``train``, ``models list|register``
:mod:`.heat`        ``heat``
:mod:`.publish`     ``publish``
:mod:`.web`         ``serve``
:mod:`.users`       ``users add|list|deactivate|passwd``
:mod:`.tokens`      ``tokens add|list|revoke`` (ingest API tokens)
==================  ==========================================================

What they share (consoles, root options, opening the workspace) is in
:mod:`._common`. The commands are added to :data:`app` here, in one place;
importing a command module registers nothing. No library module imports this
package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from geoenergy.cli import db, detect, heat, ingest, layers, publish, tokens, users, web, workspace
from geoenergy.cli._common import (
    connect_dask,
    console,
    err_console,
    report_error,
    state,
)
from geoenergy.errors import GeoEnergyError

__all__ = ["app", "console", "err_console", "main", "state"]

app = typer.Typer(
    name="geoenergy",
    help="Find illegal crypto-mining in meter data and map data-centre waste heat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"geoenergy {version('geoenergy')}", highlight=False)
        raise typer.Exit()


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
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed GeoEnergy version and exit.",
        ),
    ] = None,
):
    state.workspace = workspace
    state.db = db
    state.verbose = verbose
    connect_dask()


# -- the commands, in the order of the help text --------------------------------------
app.command()(workspace.init)
app.add_typer(db.db_app, name="db")
app.add_typer(ingest.ingest_app, name="ingest")
app.command()(workspace.rejected)
app.command()(workspace.status)
app.command()(workspace.demo)
app.add_typer(layers.layers_app, name="layers")
app.command()(detect.detect)
app.command()(detect.train)
app.add_typer(detect.models_app, name="models")
app.command("heat")(heat.heat)
app.command()(publish.publish)
app.command("serve")(web.serve)
app.add_typer(users.users_app, name="users")
app.add_typer(tokens.tokens_app, name="tokens")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one clear message.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 on success, 1 for a user error (bad input, missing
        file, configuration), 2 for an internal error, 130 when aborted.
    """
    try:
        # With standalone_mode=False click returns the code of a `typer.Exit`.
        code = app(args=argv, standalone_mode=False)
    except GeoEnergyError as exc:
        report_error(exc)
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
            report_error(exc)
            return 1
        report_error(exc, internal=True)
        return 2
    return code if isinstance(code, int) else 0


def run() -> None:
    """The ``geoenergy`` command: :func:`main`, then end the process at once.

    Once a command has returned, its files are written and closed and its
    threads joined; what is left is Python's own shutdown, which frees the
    modules one by one: about half a second after a detection, which imports
    some 2,500 (scikit-learn, SciPy, pandas, dask, SQLAlchemy). So the exit
    handlers registered with :mod:`atexit` run (logging is flushed and closed
    by one of them), the standard streams are flushed, and the process exits
    with the command's code without that teardown. In-process callers (tests,
    notebooks) use :func:`main`, which returns.
    """
    import atexit
    import contextlib

    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (`geoenergy ... | head`) or stream has nothing left to flush
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
