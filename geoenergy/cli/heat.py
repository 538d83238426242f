"""``geoenergy heat``: data-centre waste heat, PUE and connection opportunities.

Two ways to run it::

    geoenergy heat [--config FILE] [--out FILE]          # the workspace's layers and readings
    geoenergy heat --data-centres FILE --network FILE [--demand FILE] [--buildings FILE]
                   [--streets FILE] [--config FILE] --out FILE

The output has one row per data centre with every quantity and its unit in
the column name (GeoPackage layer ``data_centres``, or CSV by the extension),
plus the connection lines (GeoPackage layer ``connections``; for CSV a
sibling ``<name>_connections.csv``). Metered monthly PUE goes to
``<name>_pue_monthly.csv`` and, with ``--grid FILE.nc``, the heat-density grid
to NetCDF. Writing the files is the library's
:func:`geoenergy.heat.write_result`; this module parses, calls and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoenergy.cli._common import console, open_workspace
from geoenergy.errors import ConfigError


def _check_heat_options(data_centres, network, demand, buildings, streets, out):
    if (data_centres is None) != (network is None):
        given, missing = (
            ("--data-centres", "--network") if network is None else ("--network", "--data-centres")
        )
        raise ConfigError(
            f"{given} needs {missing} too: give both files, or neither to use the workspace."
        )
    if data_centres is None and any(x is not None for x in (demand, buildings, streets)):
        raise ConfigError(
            "--demand, --buildings and --streets only apply with --data-centres and --network; "
            "in the workspace, load those layers with `geoenergy layers add`."
        )
    if data_centres is not None and out is None:
        raise ConfigError("--out FILE (.gpkg or .csv) is required with --data-centres.")
    if out is not None and Path(out).suffix.lower() not in (".gpkg", ".csv"):
        raise ConfigError(f"--out {out}: use a .gpkg or .csv file name.")


def heat(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML file of heat assumptions (see geoenergy.heat.config)."
        ),
    ] = None,
    data_centres: Annotated[
        Path | None,
        typer.Option("--data-centres", help="data_centres layer file (skips the workspace)."),
    ] = None,
    network: Annotated[
        Path | None, typer.Option("--network", help="heating_network layer file.")
    ] = None,
    demand: Annotated[
        Path | None, typer.Option("--demand", help="heat_demand layer file (optional).")
    ] = None,
    buildings: Annotated[
        Path | None,
        typer.Option("--buildings", help="buildings layer file for demand (optional)."),
    ] = None,
    streets: Annotated[
        Path | None,
        typer.Option("--streets", help="street centre lines for routing (optional)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output .gpkg or .csv (workspace default: heat/heat_opportunities.gpkg).",
        ),
    ] = None,
    grid: Annotated[
        Path | None,
        typer.Option("--grid", help="Also write the heat-density grid [MWh/ha/yr] to NetCDF."),
    ] = None,
    sensitivity_out: Annotated[
        Path | None,
        typer.Option(
            "--sensitivity",
            help="Also re-run over ranges of the main assumptions and write a tidy CSV.",
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="Ranked sites to print.")] = 10,
):
    """Data-centre waste heat: PUE compliance, recoverable heat, network match, cost, rank."""
    from rich.markup import escape
    from rich.table import Table

    from geoenergy.heat import HeatConfig, analyse, sensitivity, write_result
    from geoenergy.heat.entry import load_file_inputs, load_workspace_inputs, workspace_config
    from layers.schemas import LayerError

    _check_heat_options(data_centres, network, demand, buildings, streets, out)
    if sensitivity_out is not None and sensitivity_out.suffix.lower() != ".csv":
        raise ConfigError(f"--sensitivity {sensitivity_out}: use a .csv file name.")
    cfg = HeatConfig.from_toml(config) if config is not None else None
    notes: list[str] = []
    try:
        if data_centres is not None:
            inputs = load_file_inputs(
                data_centres, network, demand=demand, buildings=buildings, streets=streets
            )
        else:
            with open_workspace() as ws:
                inputs, notes = load_workspace_inputs(ws, store=ws.store)
            cfg = cfg or workspace_config(ws)
            out = out or ws.path / "heat" / "heat_opportunities.gpkg"
    except LayerError as exc:
        raise ConfigError(str(exc)) from None
    res = analyse(**inputs, config=cfg)
    if grid is not None and res.heat_density is None:
        raise ConfigError(
            "--grid needs heat demand: give --demand or --buildings (or load a "
            "heat_demand or buildings layer into the workspace)."
        )
    res.notes[:0] = notes
    written = write_result(res, out, grid=grid)
    if sensitivity_out is not None:
        table = sensitivity(**inputs, config=res.config)
        sensitivity_out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(sensitivity_out, index=False)
        written.append(sensitivity_out)

    s = res.sites
    ranked = s[s["eligible"]].sort_values("rank").head(top)
    t = Table(title="Waste-heat opportunities (best first)")
    for c in (
        "rank",
        "data centre",
        "network",
        "route [m]",
        "used [MWh_th/yr]",
        "available [MWh_th/yr]",
        "LCOH [CNY/MWh]",
        "PUE / limit",
    ):
        t.add_column(c, justify="left" if c in ("data centre", "network") else "right")
    for _, r in ranked.iterrows():
        t.add_row(
            str(r["rank"]),
            escape(str(r["name"])),
            escape(f"{r['network_kind']} {r['network_supply_temp_c']:.0f} degC"),
            f"{r['route_length_m']:,.0f}",
            f"{r['used_heat_mwh_th_per_yr']:,.0f}",
            f"{r['available_heat_mwh_th_per_yr']:,.0f}",
            f"{r['lcoh_cny_per_mwh']:,.0f}",
            f"{r['pue']:.2f} / {r['pue_limit']:.2f}",
        )
    console.print(t)
    console.print(escape(res.summary()))
    for note in res.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    for path in written:
        console.print(f"wrote {escape(str(path))}")
