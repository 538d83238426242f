"""``geoenergy init``, ``status``, ``rejected`` and ``demo``: the workspace as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli._common import console, open_workspace, state


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

    with open_workspace() as ws:
        store = ws.store
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


def status():
    """What the workspace holds: meters, readings, labels, weather, layers, ingestions."""
    from geoenergy.summary import workspace_summary

    with open_workspace() as ws:
        summary = workspace_summary(ws, ws.store)
    t = Table(title=f"Workspace {ws.path}", show_header=False)
    for k, v in summary.items():
        t.add_row(escape(k), escape(str(v)))
    console.print(t)


def demo(
    path: Annotated[Path | None, typer.Argument(help="Workspace folder for the demo.")] = None,
    meters: Annotated[int, typer.Option(help="Meters in the synthetic city.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic city.")] = 20231115,
):
    """Build a SYNTHETIC sample city, ingest it like user files, run every pipeline step."""
    from geoenergy.demo import run_demo

    target = path or state.workspace or Path("geoenergy-demo")
    run_demo(target, n_meters=meters, seed=seed, db_url=state.db, console=console)
