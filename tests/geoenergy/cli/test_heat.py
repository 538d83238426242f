"""``geoenergy heat`` on files and on a workspace."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import typer
from typer.testing import CliRunner

from geoenergy.cli.heat import heat
from geoenergy.errors import ConfigError


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()

    @app.callback()
    def _root():
        """Test root."""

    app.command("heat")(heat)
    return app


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from geoenergy.samplecity import generate_city

    return generate_city(
        tmp_path_factory.mktemp("heat") / "city",
        n_meters=300,
        start="2023-11-01",
        end="2023-11-22",
    )


def _run(app, *args):
    return CliRunner().invoke(app, ["heat", *map(str, args)])


def test_files_to_geopackage(app, city, tmp_path):
    out = tmp_path / "heat.gpkg"
    grid = tmp_path / "grid.nc"
    lay = city.layers
    res = _run(
        app,
        "--data-centres",
        lay["data_centres"],
        "--network",
        lay["heating_network"],
        "--demand",
        lay["heat_demand"],
        "--out",
        out,
        "--grid",
        grid,
    )
    assert res.exit_code == 0, res.output
    assert "Waste-heat opportunities" in res.output
    layers = dict(pyogrio.list_layers(out))
    assert layers == {
        "data_centres": "Point",
        "connections": "LineString",
        "networks": "MultiLineString",  # issue 14: the networks' balance
    }
    sites = gpd.read_file(out, layer="data_centres")
    assert len(sites) == 8
    for col in (
        "recoverable_heat_mw_th",
        "usable_heat_mwh_th_per_yr",
        "lcoh_cny_per_mwh",
        "pue_excess_energy_mwh_per_yr",
        "heat_demand_within_1000m_mwh_per_yr",
        "available_heat_mwh_th_per_yr",
        "connected_heat_mwh_th_per_yr",
        "used_heat_mwh_th_per_yr",
        "demand_covered_share",
    ):
        assert col in sites.columns
    nets = gpd.read_file(out, layer="networks")
    assert {"demand_mwh_per_yr", "used_heat_mwh_th_per_yr", "investment_cny"} <= set(nets.columns)
    assert (nets["used_heat_mwh_th_per_yr"] <= nets["demand_mwh_per_yr"] + 1e-6).all()
    assert "used heat" in res.output
    assert grid.exists()


def test_files_to_csv_with_config(app, city, tmp_path):
    cfg = tmp_path / "heat.toml"
    cfg.write_text("carnot_fraction = 0.4\ndetour_factor = 1.5\n", encoding="utf-8")
    out = tmp_path / "heat.csv"
    sens = tmp_path / "sens.csv"
    lay = city.layers
    res = _run(
        app,
        "--data-centres",
        lay["data_centres"],
        "--network",
        lay["heating_network"],
        "--config",
        cfg,
        "--out",
        out,
        "--sensitivity",
        sens,
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert len(table) == 8 and {"lon", "lat", "geometry_wkt"} <= set(table.columns)
    con = table[table["connected"]]
    assert (con["route_length_m"] / con["distance_m"]).round(6).eq(1.5).all()
    table = pd.read_csv(sens)
    assert {"parameter", "value", "is_base", "name", "lcoh_cny_per_mwh"} <= set(table.columns)
    assert set(table["parameter"]) >= {"carnot_fraction", "heating_season", "pipe_cost_factor"}
    lines = pd.read_csv(tmp_path / "heat_connections.csv")
    assert lines["geometry_wkt"].str.startswith("LINESTRING").all()


def test_workspace_mode(app, city, tmp_path, monkeypatch):
    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_layer, ingest_readings, ingest_registry
    from geoenergy.store import Store, upgrade

    ws = Workspace.create(tmp_path / "ws")
    upgrade(ws.db_url)
    store = Store.for_workspace(ws)
    ingest_registry(ws, city.registry, store=store)
    ingest_readings(ws, city.readings, store=store)
    for kind in ("data_centres", "heating_network", "heat_demand"):
        ingest_layer(ws, kind, city.layers[kind], store=store)
    monkeypatch.chdir(ws.path)
    res = _run(app)
    assert res.exit_code == 0, res.output
    out = ws.path / "heat" / "heat_opportunities.gpkg"
    sites = gpd.read_file(out, layer="data_centres")
    assert "metered_facility" in set(sites["it_load_source"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--data-centres", "dc.gpkg"], "--data-centres needs --network"),
        (["--demand", "d.gpkg"], "only apply with --data-centres"),
        (["--data-centres", "a.gpkg", "--network", "b.gpkg"], "--out FILE"),
        (
            ["--data-centres", "a.gpkg", "--network", "b.gpkg", "--out", "x.shp"],
            "use a .gpkg or .csv",
        ),
        (
            [
                "--config",
                "missing.toml",
                "--data-centres",
                "a",
                "--network",
                "b",
                "--out",
                "o.csv",
            ],
            "file not found",
        ),
    ],
)
def test_option_errors_are_one_line(app, args, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _run(app, *args)
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError)
    assert match in str(res.exception)


def test_missing_layer_file_is_a_config_error(app, city, tmp_path):
    res = _run(
        app,
        "--data-centres",
        tmp_path / "nope.gpkg",
        "--network",
        city.layers["heating_network"],
        "--out",
        tmp_path / "o.gpkg",
    )
    assert isinstance(res.exception, ConfigError)
    assert "file not found" in str(res.exception)
