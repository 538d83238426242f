"""Exceptions raised by GeoEnergy.

Every error a user can cause derives from :class:`GeoEnergyError` so the CLI
can print it as one clear message instead of a traceback.
"""

from __future__ import annotations


class GeoEnergyError(Exception):
    """Base class of all errors a user can cause and fix."""


class ConfigError(GeoEnergyError, ValueError):
    """A setting, option or workspace is missing or wrong."""


class InputFileError(GeoEnergyError, ValueError):
    """A whole input file is unusable (format, required column, empty).

    Raised before anything is written: a file-level problem never leaves a
    partial ingestion behind.
    """

    def __init__(self, path, problem: str, fix: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        msg = f"{self.path}: {problem}"
        if fix:
            msg += f" Fix: {fix}"
        super().__init__(msg)


class StoreError(GeoEnergyError):
    """The relational store is unreachable, outdated or inconsistent."""
