"""The published site under /maps/, by role; nothing outside the site folder."""

from __future__ import annotations

import os

import pytest

from geoenergy.web.published import (
    MapForbiddenError,
    MapNotFoundError,
    permission_for,
    resolve_published,
)


@pytest.fixture
def site(tmp_path, kit):
    root = kit.published_site(tmp_path / "published")
    (tmp_path / "secret.txt").write_text("outside the site", "utf-8")
    os.symlink(root / "enforcement.html", root / "nice.html")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    (root / "enforcement_files").mkdir()
    (root / "enforcement_files" / "points.geojson").write_text("{}", "utf-8")
    return root


@pytest.mark.parametrize(
    ("rel", "permission"),
    [
        ("", "maps.aggregate"),
        ("officials.html", "maps.aggregate"),
        ("assets/leaflet/leaflet.js", "maps.aggregate"),
        ("enforcement.html", "maps.enforcement"),
        ("Enforcement.HTML", "maps.enforcement"),
        ("enforcement_files/points.geojson", "maps.enforcement"),
    ],
)
def test_permission_for(rel, permission):
    assert permission_for(rel) == permission


@pytest.mark.parametrize("role", ["planner", "official", "analyst"])
def test_aggregate_roles(site, role):
    assert resolve_published(site, "", role) == site.resolve() / "index.html"
    assert resolve_published(site, "officials.html", role).name == "officials.html"
    for rel in ("enforcement.html", "enforcement_files/points.geojson", "nice.html"):
        with pytest.raises(MapForbiddenError, match="for enforcement teams"):
            resolve_published(site, rel, role)


@pytest.mark.parametrize("role", ["enforcement", "admin"])
def test_enforcement_roles(site, role):
    assert resolve_published(site, "enforcement.html", role).name == "enforcement.html"


@pytest.mark.parametrize(
    "rel",
    [
        "../secret.txt",
        "escape.txt",
        ".secret",
        "assets/../../secret.txt",
        "/etc/passwd",
        "nope.html",
        "assets\\app.js",
        "a\x00b",
    ],
)
def test_nothing_outside_the_site(site, rel):
    with pytest.raises(MapNotFoundError):
        resolve_published(site, rel, "admin")


def test_site_manifest_can_restrict_any_map(site):
    (site / ".webmap-site.json").write_text('{"maps": ["cases"], "restricted": ["cases"]}')
    (site / "cases.html").write_text("<html>addresses</html>", "utf-8")
    with pytest.raises(MapForbiddenError):
        resolve_published(site, "cases.html", "official")
    assert resolve_published(site, "cases.html", "enforcement").name == "cases.html"
    assert resolve_published(site, "officials.html", "official").name == "officials.html"
    with pytest.raises(MapNotFoundError):
        resolve_published(site, ".webmap-site.json", "admin")  # never served


def test_no_site(tmp_path):
    with pytest.raises(MapNotFoundError, match="geoenergy publish"):
        resolve_published(tmp_path / "missing", "", "admin")
    with pytest.raises(MapNotFoundError):
        resolve_published(None, "", "admin")


def test_maps_over_http(ro_client_for):
    official = ro_client_for("official")
    r = official.get("/maps/officials.html")
    assert r.status_code == 200 and "officials map" in r.text
    assert "unsafe-inline" in r.headers["content-security-policy"]  # folium's inline scripts
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert official.get("/maps").status_code == 200  # redirected to /maps/
    assert official.get("/maps/enforcement.html").status_code == 403
    assert official.get("/maps/%2e%2e/secret_key").status_code == 404
    assert official.get("/maps/.secret").status_code == 404
    r = ro_client_for("enforcement").get("/maps/enforcement.html")
    assert r.status_code == 200 and "北京市朝阳区建国路1号" in r.text
