"""``geoenergy layers``: load, list and check the spatial layers of a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli._common import ForceOpt, console, open_workspace, print_report
from geoenergy.errors import ConfigError

KindArg = Annotated[
    str,
    typer.Argument(
        help="districts, buildings, heating_network, heat_demand or data_centres.",
    ),
]
LayerFileArg = Annotated[
    Path, typer.Argument(help="GeoPackage, GeoJSON, Shapefile, FlatGeobuf or GeoParquet.")
]
LayerOpt = Annotated[
    str | None, typer.Option("--layer", help="Layer inside a multi-layer file (GeoPackage).")
]
CoordOpt = Annotated[
    str | None,
    typer.Option(
        "--coord-system",
        help="Coordinates of a lon/lat file geocoded by a Chinese map provider: "
        "wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu).",
    ),
]
MakeValidOpt = Annotated[
    bool, typer.Option("--make-valid", help="Repair invalid geometries (reports how many).")
]
SwapOpt = Annotated[
    bool, typer.Option("--swap-xy", help="The file stores (lat, lon): swap x and y.")
]
AreaOpt = Annotated[
    str | None,
    typer.Option(
        "--study-area",
        help="Refuse features outside this box: MINLON,MINLAT,MAXLON,MAXLAT [deg, WGS84].",
    ),
]


def _study_area(text: str | None):
    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise ConfigError(
            f"--study-area {text!r} is not MINLON,MINLAT,MAXLON,MAXLAT with min < max, "
            "e.g. --study-area 115.4,39.4,117.5,41.1 for Beijing."
        )
    return box


layers_app = typer.Typer(
    help="Spatial layers: load them into the store, list them, check a file.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@layers_app.command("add")
def add(
    kind: KindArg,
    file: LayerFileArg,
    layer: LayerOpt = None,
    coord_system: CoordOpt = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the layer in the store (default: kind).")
    ] = None,
    make_valid: MakeValidOpt = False,
    swap_xy: SwapOpt = False,
    study_area: AreaOpt = None,
    force: ForceOpt = False,
):
    """Check a layer file and store it in WGS84, replacing the kind's previous version."""
    from geoenergy.ingest import ingest_layer
    from layers.schemas import LayerError

    box = _study_area(study_area)
    with open_workspace() as ws:
        try:
            report = ingest_layer(
                ws,
                kind,
                file,
                name=name,
                layer=layer,
                make_valid=make_valid,
                force=force,
                coord_system=coord_system,
                swap_xy=swap_xy,
                study_area=box,
                store=ws.store,
            )
        except LayerError as exc:
            raise ConfigError(str(exc)) from None
    print_report(report)


@layers_app.command("list")
def list_cmd():
    """The layers in the workspace's store."""
    from geoenergy.layerstore import list_layers

    with open_workspace() as ws:
        df = list_layers(ws, store=ws.store)
    if df.empty:
        console.print("No layers. Load one with `geoenergy layers add KIND FILE`.")
        return
    t = Table(title="Layers")
    for c in ("kind", "name", "features", "source CRS", "loaded (UTC)", "file"):
        t.add_column(c, overflow="fold")
    for r in df.itertuples():
        t.add_row(
            escape(r.kind),
            escape(r.name),
            f"{r.n_features:,}",
            escape(r.crs or ""),
            r.loaded_at.strftime("%Y-%m-%d %H:%M"),
            escape(Path(r.source_path).name),
        )
    console.print(t)


@layers_app.command("check")
def check(
    kind: KindArg,
    file: LayerFileArg,
    layer: LayerOpt = None,
    coord_system: CoordOpt = None,
    make_valid: MakeValidOpt = False,
    swap_xy: SwapOpt = False,
    study_area: AreaOpt = None,
):
    """Validate a layer file and print a report, without loading it (exit 1 on problems)."""
    from layers.io import check_layer
    from layers.schemas import LayerError

    try:
        report = check_layer(
            file,
            kind,
            layer=layer,
            coord_system=coord_system,
            make_valid=make_valid,
            swap_xy=swap_xy,
            study_area=_study_area(study_area),
        )
    except LayerError as exc:
        raise ConfigError(str(exc)) from None
    t = Table(title=f"{kind} layer {file.name}", show_header=False)
    for key in ("features", "crs", "geometry_types", "bounds"):
        if key in report:
            t.add_row(key, escape(str(report[key])))
    console.print(t)
    problems = report.get("problems", [])
    if not problems:
        console.print("[green]OK[/]: no problems found.")
        return
    for p in problems:
        console.print(f"[red]problem[/]: {escape(p['message'])}")
    raise typer.Exit(1)
