"""``geoenergy ingest``: data-contract files into the workspace's stores.

One command per table of the contract (``readings``, ``registry``, ``labels``,
``weather``; built from :data:`geoenergy.ingest.INGESTERS`, so the help text
is the contract's own) and ``layer`` for a spatial layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoenergy.cli._common import ForceOpt, ProgressBar, open_workspace, print_report
from geoenergy.errors import ConfigError

ingest_app = typer.Typer(
    help="Ingest data-contract files into the workspace.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

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
FileArg = Annotated[Path, typer.Argument(help="CSV or Parquet file.")]

TABLE_KINDS = ("readings", "registry", "labels", "weather")
"""The contract's tables, one ``geoenergy ingest KIND`` command each."""


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


def _run_ingest(kind: str, file: Path, column_map, encoding, force, delimiter=None):
    from geoenergy.ingest import INGESTERS

    fn = INGESTERS[kind]
    with open_workspace() as ws, ProgressBar(f"ingest {kind}") as (total, advance):
        kw = {"total": total} if kind == "readings" else {}
        report = fn(
            ws,
            file,
            column_map=_parse_map(column_map),
            encoding=encoding,
            delimiter=delimiter,
            force=force,
            progress=advance,
            store=ws.store,
            **kw,
        )
    print_report(report)


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
    return command


for _kind in TABLE_KINDS:
    ingest_app.command(_kind)(_make_ingest_command(_kind))


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
                store=ws.store,
            )
        except LayerError as exc:
            raise ConfigError(str(exc)) from None
    print_report(report)
