"""The sample city as a ready workspace: generated, ingested once, then reused.

The notebooks, a tutorial or a quick experiment want a workspace with data in
it, not a folder of files. :func:`sample_workspace` writes the synthetic city
with :func:`geoenergy.samplecity.generate_city` and ingests it through exactly
the code path users' files take (``ingest_registry``, ``ingest_readings``,
...). The workspace is kept under a folder named after the city's size, span
and seed, so a second call (another notebook, a re-run) opens it as it is;
a ``READY`` marker is written only after the last file is ingested, so an
interrupted run simply starts again (ingestion is idempotent). A reused
sample store is migrated to this version's schema first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SAMPLE_ENV", "SampleWorkspace", "sample_workspace"]

SAMPLE_ENV = {
    "n_meters": ("GEOENERGY_NB_METERS", 3000),
    "start": ("GEOENERGY_NB_START", "2023-09-01"),
    "end": ("GEOENERGY_NB_END", "2024-01-31"),
    "path": ("GEOENERGY_NB_DIR", "sample-workspace"),
}
"""``{argument: (environment variable, default)}`` read by :func:`sample_workspace`
for the arguments left at None (the test suite shrinks the city through them)."""


@dataclass
class SampleWorkspace:
    """What :func:`sample_workspace` returns.

    Attributes
    ----------
    ws : geoenergy.config.Workspace
        The ingested workspace.
    truth : pathlib.Path
        The city's ground truth (``meter_id, archetype, is_mining,
        onset_date``), for evaluation only: it is never ingested.
    files : pathlib.Path
        The generated input files (registry, readings, labels, layers, ...).
    created : bool
        True when this call generated and ingested the city, False when it
        reused a ready one.
    """

    ws: object
    truth: Path
    files: Path
    created: bool


def _check_sample_workspace(n_meters, seed) -> None:
    if isinstance(n_meters, bool) or not isinstance(n_meters, int):
        raise TypeError(f"n_meters must be an int, got {type(n_meters).__name__} {n_meters!r}.")
    if n_meters < 100:
        raise ValueError(
            f"n_meters must be at least 100 (so every archetype occurs), got {n_meters}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}.")


def _setting(name, value):
    if value is not None:
        return value
    env, default = SAMPLE_ENV[name]
    raw = os.environ.get(env)
    if raw is None:
        return default
    return int(raw) if isinstance(default, int) else raw


def sample_workspace(
    path=None,
    *,
    n_meters: int | None = None,
    start=None,
    end=None,
    seed: int = 20231115,
    quiet: bool = False,
) -> SampleWorkspace:
    """The synthetic sample city's workspace, generated and ingested on first use.

    Parameters
    ----------
    path : str or Path, optional
        Folder that holds sample workspaces; default ``$GEOENERGY_NB_DIR`` or
        ``sample-workspace`` (relative to the working directory). The city is
        kept in ``<path>/city-<n_meters>-<start>-<end>[-<seed>]/`` and the
        folder gets a ``.gitignore`` that ignores everything in it.
    n_meters : int, optional
        Meters of the city (at least 100); default ``$GEOENERGY_NB_METERS``
        or 3000.
    start, end : str, optional
        Span of the readings ``[start, end)``, naive local dates; default
        ``$GEOENERGY_NB_START`` / ``$GEOENERGY_NB_END`` or 2023-09-01 /
        2024-01-31.
    seed : int, default 20231115
        Seed of the generator (the generator's default).
    quiet : bool, default False
        Do not print the ingestion summaries.

    Returns
    -------
    SampleWorkspace
        The workspace, the path of the ground truth and of the input files.

    Examples
    --------
    >>> sample = sample_workspace("sample-workspace", n_meters=300)  # doctest: +SKIP
    >>> run_detection(sample.ws)  # doctest: +SKIP
    """
    from geoenergy.config import Workspace
    from geoenergy.ingest import (
        ingest_labels,
        ingest_layer,
        ingest_readings,
        ingest_registry,
        ingest_weather,
    )
    from geoenergy.samplecity.write import generate_city
    from geoenergy.store import upgrade

    n_meters = _setting("n_meters", n_meters)
    start, end = _setting("start", start), _setting("end", end)
    _check_sample_workspace(n_meters, seed)
    folder = Path(_setting("path", path)).expanduser().resolve()
    suffix = "" if seed == 20231115 else f"-{seed}"
    root = folder / f"city-{n_meters}-{start}-{end}{suffix}"
    root.mkdir(parents=True, exist_ok=True)
    # Generated data never belongs in git: the folder ignores itself.
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    ws = Workspace.create(root / "workspace")
    files = root / "files"
    ready = root / "READY"
    # The sample's own store follows this GeoEnergy's schema, also when it is reused
    # after an upgrade (migrations are idempotent; a user's workspace is never touched).
    upgrade(ws.db_url)
    if ready.exists():
        return SampleWorkspace(ws, files / "truth.csv", files, created=False)
    city = generate_city(
        files, n_meters=n_meters, start=start, end=end, seed=seed, inject_errors=False
    )
    say = (lambda *a: None) if quiet else print
    for ingest, file in (
        (ingest_registry, city.registry),
        (ingest_readings, city.readings),
        (ingest_weather, city.weather),
        (ingest_labels, city.labels),
    ):
        say(ingest(ws, file).summary())
    for kind, file in city.layers.items():
        say(kind, ingest_layer(ws, kind, file).summary())
    ready.write_text("ingested\n", encoding="utf-8")
    return SampleWorkspace(ws, Path(city.truth), files, created=True)
