"""Fixtures of the store tests: a migrated store on each backend."""

from __future__ import annotations

import pytest

from geoenergy.store import Store, upgrade


@pytest.fixture
def store(store_url):
    """A :class:`Store` at the head revision, on SpatiaLite and on PostGIS."""
    upgrade(store_url)
    with Store(store_url) as s:
        yield s
