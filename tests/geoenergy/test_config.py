"""Workspaces and settings."""

from __future__ import annotations

import pytest

from geoenergy.config import CONFIG_NAME, Settings, Workspace
from geoenergy.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("GEOENERGY_DB", raising=False)
    monkeypatch.delenv("GEOENERGY_TIMEZONE", raising=False)


def test_create_writes_settings_and_folders(tmp_path):
    ws = Workspace.create(tmp_path / "ws", timezone="Europe/Berlin", readings_buckets=8)
    assert (ws.path / CONFIG_NAME).is_file()
    assert ws.readings_path.is_dir() and ws.staging_path.is_dir()
    again = Workspace(tmp_path / "ws")
    assert again.settings.timezone == "Europe/Berlin"
    assert again.settings.readings_buckets == 8
    assert str(again.tz) == "Europe/Berlin"
    assert again.db_url == f"sqlite:///{ws.path / 'store.sqlite'}"


def test_defaults(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    assert ws.settings.timezone == "Asia/Shanghai"
    assert ws.settings.readings_buckets == 64
    assert ws.settings.db_url is None
    assert "# db_url" in ws.config_path.read_text(encoding="utf-8")


def test_create_existing(tmp_path):
    Workspace.create(tmp_path / "ws", timezone="UTC")
    assert Workspace.create(tmp_path / "ws", timezone="Asia/Tokyo").settings.timezone == "UTC"
    with pytest.raises(ConfigError, match="already a GeoEnergy workspace"):
        Workspace.create(tmp_path / "ws", exist_ok=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        Workspace.create(tmp_path / "file")


def test_not_a_workspace(tmp_path):
    with pytest.raises(ConfigError, match=r"not a GeoEnergy workspace.*geoenergy init"):
        Workspace(tmp_path)


def test_bad_toml(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    ws.config_path.write_text("timezone = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"geoenergy\.toml: not valid TOML"):
        Workspace(ws.path)


def test_bad_settings(tmp_path):
    with pytest.raises(ConfigError, match=r"timezone 'Mars/Olympus' is not an IANA"):
        Settings(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="readings_buckets must be an integer from 1 to 65536"):
        Settings(readings_buckets=0)
    ws = Workspace.create(tmp_path / "ws")
    ws.config_path.write_text('readings_buckets = "many"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="readings_buckets"):
        Workspace(ws.path)


def test_unknown_keys_are_kept_as_extra(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    with open(ws.config_path, "a", encoding="utf-8") as f:
        f.write('city = "Beijing"\n')
    assert Workspace(ws.path).settings.extra == {"city": "Beijing"}


def test_precedence(tmp_path, monkeypatch):
    ws = Workspace.create(tmp_path / "ws", timezone="UTC")
    monkeypatch.setenv("GEOENERGY_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("GEOENERGY_DB", "sqlite:////tmp/env.sqlite")
    w = Workspace(ws.path)
    assert (w.settings.timezone, w.db_url) == ("Asia/Tokyo", "sqlite:////tmp/env.sqlite")
    w = Workspace(ws.path, timezone="Europe/Berlin", db_url="sqlite:////tmp/arg.sqlite")
    assert (w.settings.timezone, w.db_url) == ("Europe/Berlin", "sqlite:////tmp/arg.sqlite")
    monkeypatch.setenv("GEOENERGY_TIMEZONE", "Nowhere/Land")
    with pytest.raises(ConfigError, match="Nowhere/Land"):
        Workspace(ws.path)


def test_repr_hides_password(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    w = Workspace(ws.path, db_url="postgresql+psycopg://user:secret@db/geo")
    assert "secret" not in repr(w)
    assert "user" in repr(w)
