"""Fixtures shared by the application tests: an ingested sample-city workspace."""

from __future__ import annotations

import shutil

import pytest

from geoenergy.config import Workspace


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    from geoenergy.samplecity import generate_city

    return generate_city(
        tmp_path_factory.mktemp("city"), n_meters=600, start="2023-11-01", end="2023-12-06"
    )


@pytest.fixture(scope="session")
def _city_ws(city, tmp_path_factory, _migrated_sqlite):
    from geoenergy.ingest import (
        ingest_labels,
        ingest_layer,
        ingest_readings,
        ingest_registry,
        ingest_weather,
    )

    root = tmp_path_factory.mktemp("cityws") / "ws"
    ws = Workspace.create(root, readings_buckets=4)
    shutil.copy(_migrated_sqlite, ws.path / "store.sqlite")
    ingest_registry(ws, city.registry)
    ingest_readings(ws, city.readings)
    ingest_weather(ws, city.weather)
    ingest_labels(ws, city.labels)
    for kind in ("districts", "buildings", "data_centres", "heating_network", "heat_demand"):
        ingest_layer(ws, kind, city.layers[kind])
    return root


@pytest.fixture
def city_ws(_city_ws, tmp_path):
    """A private copy of the ingested sample-city workspace."""
    dst = tmp_path / "ws"
    shutil.copytree(_city_ws, dst)
    return Workspace(dst)
