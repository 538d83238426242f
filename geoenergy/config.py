"""Workspaces and settings.

A workspace is a folder holding everything one city's analysis needs::

    geoenergy.toml      settings (this module)
    store.sqlite        the embedded SpatiaLite store (unless ``db_url`` points elsewhere)
    readings/           meter readings as partitioned Parquet (:mod:`geoenergy.readings`)
    staging/            scratch space of ingestions in progress (safe to delete when idle)

Settings come from, in order of precedence: explicit arguments (CLI options),
environment variables (``GEOENERGY_DB``, ``GEOENERGY_TIMEZONE``), the
workspace's ``geoenergy.toml``, and the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geoenergy.errors import ConfigError

CONFIG_NAME = "geoenergy.toml"
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass
class Settings:
    """Settings of one workspace.

    Parameters
    ----------
    timezone : str
        IANA time zone in which naive meter timestamps are read and in which
        local days and hours are counted. Default ``"Asia/Shanghai"``.
    db_url : str or None
        SQLAlchemy URL of the relational store. ``None`` means the embedded
        SpatiaLite file ``store.sqlite`` inside the workspace; use
        ``postgresql+psycopg://user:pass@host/db`` for PostGIS.
    readings_buckets : int
        Number of hash partitions of the meter readings store. Each partition
        becomes one dask chunk along ``meter``; raise it for millions of
        meters so one partition stays well below memory.
    """

    timezone: str = DEFAULT_TIMEZONE
    db_url: str | None = None
    readings_buckets: int = 64
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        _check_timezone(self.timezone)
        if not isinstance(self.readings_buckets, int) or not 1 <= self.readings_buckets <= 65536:
            raise ConfigError(
                f"readings_buckets must be an integer from 1 to 65536, got "
                f"{self.readings_buckets!r}. Fix it in {CONFIG_NAME}."
            )


def _check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"timezone {name!r} is not an IANA time zone name; use one such as "
            f"'Asia/Shanghai' or 'UTC'."
        ) from None


class Workspace:
    """A workspace folder and its settings.

    Parameters
    ----------
    path : str or Path
        The workspace folder.
    db_url : str, optional
        Overrides the store URL (the CLI's ``--db`` / ``GEOENERGY_DB``).
    timezone : str, optional
        Overrides the time zone (``GEOENERGY_TIMEZONE``).
    """

    def __init__(self, path, *, db_url: str | None = None, timezone: str | None = None):
        self.path = Path(path).expanduser().resolve()
        self.settings = self._load_settings()
        self._store = None
        self._readings = None
        db_url = db_url or os.environ.get("GEOENERGY_DB") or None
        if db_url:
            self.settings.db_url = db_url
        timezone = timezone or os.environ.get("GEOENERGY_TIMEZONE") or None
        if timezone:
            _check_timezone(timezone)
            self.settings.timezone = timezone

    # -- creation -----------------------------------------------------------------
    @classmethod
    def create(cls, path, *, exist_ok: bool = True, **settings) -> Workspace:
        """Create the workspace folder and its ``geoenergy.toml``.

        An existing workspace is opened unchanged when ``exist_ok``.
        """
        path = Path(path).expanduser().resolve()
        cfg = path / CONFIG_NAME
        if cfg.exists():
            if not exist_ok:
                raise ConfigError(f"{path} is already a GeoEnergy workspace ({cfg} exists).")
            return cls(path)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path} exists and is not a folder; choose another workspace path.")
        # Owner only: the folder holds the store (addresses, password hashes,
        # audit trail), the readings and the session secret.
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        s = Settings(**settings)
        cfg.write_text(_to_toml(s), encoding="utf-8")
        for sub in ("readings", "staging"):
            (path / sub).mkdir(exist_ok=True)
        return cls(path)

    def _load_settings(self) -> Settings:
        cfg = self.path / CONFIG_NAME
        if not cfg.exists():
            raise ConfigError(
                f"{self.path} is not a GeoEnergy workspace (no {CONFIG_NAME}). "
                f"Create one with `geoenergy init {self.path}` or pass --workspace."
            )
        try:
            data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{cfg}: not valid TOML ({exc}). Fix or recreate the file."
            ) from None
        known = {f.name for f in fields(Settings)} - {"extra"}
        core = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return Settings(**core, extra=extra)

    # -- the open handle -----------------------------------------------------------
    @property
    def store(self):
        """The workspace's relational store, opened once and shared.

        Every library function that is handed this workspace uses this one
        :class:`geoenergy.store.Store` (one engine, one connection pool)
        instead of opening the store again from the URL. :meth:`close`
        disposes of it.

        Returns
        -------
        geoenergy.store.Store
        """
        if self._store is None:
            from geoenergy.store import Store

            self._store = Store(self.db_url)
        return self._store

    @property
    def readings(self):
        """The workspace's meter-readings store (partitioned Parquet), opened once.

        Returns
        -------
        geoenergy.readings.ReadingsStore
        """
        if self._readings is None:
            from geoenergy.readings import ReadingsStore

            self._readings = ReadingsStore(self.readings_path, self.settings.readings_buckets)
        return self._readings

    def close(self) -> None:
        """Dispose of the open store's connections; the workspace may be used again."""
        if self._store is not None:
            self._store.dispose()
            self._store = None
        self._readings = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- paths --------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def readings_path(self) -> Path:
        return self.path / "readings"

    @property
    def staging_path(self) -> Path:
        return self.path / "staging"

    @property
    def db_url(self) -> str:
        """The store URL: the configured one, else the workspace's SpatiaLite file."""
        if self.settings.db_url:
            return self.settings.db_url
        return f"sqlite:///{self.path / 'store.sqlite'}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r}, db={_redact(self.db_url)!r})"


def _redact(url: str) -> str:
    """Hide a password in a database URL for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _to_toml(s: Settings) -> str:
    lines = ["# GeoEnergy workspace settings", ""]
    for key, value in asdict(s).items():
        if key == "extra" or value is None:
            if key == "db_url":
                lines.append('# db_url = "postgresql+psycopg://user:password@host/dbname"')
            continue
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"
