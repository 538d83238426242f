"""``geoenergy detect``, ``geoenergy train`` and ``geoenergy models``: the mining detector.

``detect`` and ``train`` work either straight from files (a temporary
workspace from :func:`geoenergy.adhoc.workspace_from_files`) or on the
workspace; ``models`` lists and registers saved detector models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geoenergy.cli._common import Preload, console, err_console, open_workspace
from geoenergy.errors import ConfigError

FileOpt = Annotated[Path | None, typer.Option(help="CSV or Parquet file (data contract).")]
DetectorOpt = Annotated[
    str,
    typer.Option(
        help="auto (the registered model, else unsupervised), rule, unsupervised, "
        "or the path of a saved model.",
    ),
]

models_app = typer.Typer(
    help="Saved detector models: list and register.", no_args_is_help=True, rich_markup_mode=None
)


def _write_table(df, out: Path) -> None:
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        df.to_parquet(out, index=False)
    elif suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        raise ConfigError(f"--out {out}: use a .csv or .parquet file name.")


def _check_out(out: Path | None, *suffixes: str) -> None:
    if out is not None and out.suffix.lower() not in suffixes:
        raise ConfigError(f"--out {out}: the file name must end in {' or '.join(suffixes)}.")


def _result_table(scores, top: int, title: str) -> Table:
    t = Table(title=title)
    for c in ("rank", "meter", "class", "district", "score", "reasons"):
        t.add_column(c, overflow="fold")
    for r in scores.head(top).itertuples():
        t.add_row(
            str(r.rank),
            escape(r.meter_id),
            escape(str(r.customer_class)),
            escape("" if r.district is None or r.district != r.district else str(r.district)),
            f"{r.score:.3f}",
            escape(str(r.reasons)),
        )
    return t


def _report_files(fw, out: Path | None) -> None:
    for kind, rep in fw.reports.items():
        # The temporary workspace is gone afterwards: point at the file written below instead.
        console.print(f"{kind:<9} {rep.summary().replace(' (see `geoenergy rejected`)', '')}")
    if fw.n_rejected and out is not None:
        rej = out.with_name(out.stem + ".rejected.csv")
        fw.rejected_rows().to_csv(rej, index=False)
        err_console.print(
            f"{fw.n_rejected:,} input rows were rejected; they are listed with the reason in {rej}."
        )


def _checked(name: str, li: dict) -> str:
    """Whether the main list's expected precision was checked against inspections.

    Without inspections it comes from the simulated null alone, which does not
    know the benign flat loads that score like rigs (:mod:`detectors.flagging`),
    so the real precision can be lower; the user is told so.
    """
    if name != "main":
        return ""
    n = li.get("n_labels")
    if li.get("expected_precision_labels") is not None and n:
        return f", checked against {int(n):,} inspections"
    return ", not yet checked against inspections"


def summary_line(res) -> str:
    """One line on a detection result: meters scored (score present), flagged, hotspots, time.

    A meter is scored when it has a score; its ``status`` is then ``"ok"``
    (features that could not be computed are listed in ``notes`` and do not
    make it "not scored"). Each flagged list (the main one, and registered
    data centres among themselves) is followed by its expected precision
    (:mod:`detectors.flagging`).
    """
    s = res.scores
    n_scored = int(s["score"].notna().sum())
    n_not = len(s) - n_scored
    why = ""
    if n_not:
        counts = s.loc[s["score"].isna(), "status"].astype(str).value_counts()
        why = " (" + ", ".join(f"{k}: {v:,}" for k, v in counts.items()) + ")"
    flagging = getattr(res, "flagging", None) or {}
    lists = flagging.get("lists") or {"main": flagging}
    parts = []
    for name, li in lists.items():
        n = li.get("n_flagged", 0)
        prec = li.get("expected_precision")
        expect = "" if prec is None else f" (expected precision {prec:.0%}{_checked(name, li)})"
        label = "flagged" if name == "main" else f"{name.replace('_', ' ')}s flagged among them"
        fdr = flagging.get("fdr") if name == "main" else None  # None: not chosen by a rate
        at = "" if fdr is None else f" at FDR {fdr:.0%}"
        parts.append(f"{label} {n:,}{at}{expect}")
    flagged = "; ".join(parts) if parts else f"flagged {res.n_flagged:,}"
    return (
        f"Scored {n_scored:,} of {len(s):,} meters; {n_not:,} not scored{why}; "
        f"{flagged}; {len(res.hotspots):,} hotspot(s); {res.seconds:.1f} s."
    )


#: What detection imports that ingestion does not, in import order (see :class:`Preload`).
#: dask early: the end of the ingestion (:func:`geoenergy.adhoc.workspace_from_files`)
#: sets dask's scheduler.
DETECTION_MODULES = (
    "geoenergy.detection",
    "dask",
    "dask.threaded",
    "scipy.stats",
    "sklearn.base",
    "detectors.model",
    "detectors.features",
    "sklearn.cluster",
    "scipy.spatial",
    "xarray",
    "dask.array",
    "layers.joins",
    "layers.peers",
    "layers.hotspots",
    "geoenergy.layerstore",
)


def _preload_detection() -> Preload:
    """Import detection's libraries on a thread while the files are ingested (not started).

    What ingestion itself imports lazily is imported first, here, so that the
    two never import the same module at once, and so that a forked ingestion
    (:func:`geoenergy.adhoc.workspace_from_files`) finds them imported.
    """
    import sqlite3  # noqa: F401 - the store's driver

    import pyarrow.pandas_compat  # noqa: F401 - Arrow tables to pandas (rejected rows)
    import pyogrio  # noqa: F401 - with pyproj and shapely, loaded by a new SpatiaLite engine
    import pyproj  # noqa: F401
    import shapely  # noqa: F401

    import geoenergy.store.template  # noqa: F401 - the throw-away store

    return Preload(*DETECTION_MODULES)


def detect(
    readings: FileOpt = None,
    registry: FileOpt = None,
    weather: FileOpt = None,
    detector: DetectorOpt = "auto",
    out: Annotated[
        Path | None,
        typer.Option(help="Write one row per meter here (.csv or .parquet by the extension)."),
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA zone of naive timestamps (file mode).")
    ] = "Asia/Shanghai",
    top: Annotated[int, typer.Option(help="Rows of the ranking to print.")] = 15,
    eps_m: Annotated[float, typer.Option(help="Hotspot radius [m].")] = 300.0,
    fdr: Annotated[
        float | None,
        typer.Option(
            help="False-discovery rate of the flagged list, in (0, 1): the share of false "
            "alarms the team accepts (default: the model's; 0.02 for a new one). Larger "
            "flags more.",
        ),
    ] = None,
):
    """Score every meter for crypto-mining, rank and explain; from files or the workspace.

    With --readings and --registry (and optionally --weather) it works straight
    from files and needs no workspace; without them it scores the workspace and
    stores a detection run (with hotspots) for the review app.
    """
    _check_out(out, ".csv", ".parquet")
    if fdr is not None:
        from geoenergy.detection import check_fdr

        check_fdr(fdr)
    if (readings is None) != (registry is None):
        raise ConfigError("file mode needs both --readings and --registry.")
    if readings is None and weather is not None:
        raise ConfigError("--weather only applies with --readings and --registry.")
    if readings is not None:
        if out is None:
            raise ConfigError("file mode needs --out FILE (.csv or .parquet).")
        import geoenergy.ingest  # noqa: F401 - before the preload thread starts (or a fork)
        from geoenergy.adhoc import workspace_from_files

        # The files are ingested (in a forked child where possible) while the detection's
        # libraries are imported here.
        warm = _preload_detection()
        try:
            with workspace_from_files(
                readings=readings,
                registry=registry,
                weather=weather,
                timezone=timezone,
                meanwhile=warm.start,
            ) as fw:
                warm.join()
                from geoenergy.detection import run_detection

                _report_files(fw, out)
                res = run_detection(
                    fw.ws,
                    detector="unsupervised" if detector == "auto" else detector,
                    save=False,
                    keep_cache=False,  # the workspace is thrown away: no cache to write
                    fdr=fdr,
                )
        finally:
            warm.join()
    else:
        from geoenergy.detection import run_detection

        with open_workspace() as ws:
            res = run_detection(ws, detector=detector, store=ws.store, eps_m=eps_m, fdr=fdr)
    cols = ["meter_id", "score", "rank", "flagged", "status", "reasons"]
    extra = [
        "onset_date",
        "customer_class",
        "district",
        "building_use",
        "peer_group",
        "hotspot",
        "notes",
        "p_value",
        "list",
    ]
    table = res.scores[cols + extra]
    if out is not None:
        _write_table(table, out)
    for note in res.notes:
        console.print(note)
    console.print(summary_line(res))
    if res.run_id is not None:
        console.print(f"Stored as detection run {res.run_id}.")
    if out is not None:
        console.print(f"Wrote {len(table):,} rows to {out}.")
    scores = res.scores
    own = scores["list"] != "main" if "list" in scores.columns else scores["score"].isna()
    console.print(_result_table(scores[~own], top, "Most suspicious meters"))
    dc = scores[own & scores["score"].notna()]
    if len(dc):
        # Registered data centres: their own list, ranked among themselves on
        # data-centre evidence (detectors.datacentre), never in the queue above.
        dc = dc.assign(rank=range(1, len(dc) + 1))
        title = (
            f"Registered data centres ({len(dc):,}, ranked among themselves on data-centre "
            "evidence: utilisation of contract, step-up, hosting rhythm, PUE)"
        )
        console.print(_result_table(dc, top, title))


def train(
    labels: Annotated[
        Path | None, typer.Option(help="Inspection labels file (default: the workspace's).")
    ] = None,
    readings: FileOpt = None,
    registry: FileOpt = None,
    weather: FileOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Model file to write (.joblib); its card goes beside it."),
    ] = None,
    register: Annotated[
        bool, typer.Option(help="Make the new model the workspace's detector.")
    ] = False,
    timezone: Annotated[
        str, typer.Option(help="IANA zone of naive timestamps (file mode).")
    ] = "Asia/Shanghai",
):
    """Train the supervised detector on inspection labels; write the model and its card.

    With --readings, --registry and --labels it trains straight from files;
    without file options it uses the workspace (its labels, plus --labels if
    given, e.g. the review app's export).
    """
    from geoenergy.detection import register_model, train_model

    _check_out(out, ".joblib")
    if (readings is None) != (registry is None):
        raise ConfigError("file mode needs both --readings and --registry (and --labels).")
    if readings is not None:
        if labels is None or out is None:
            raise ConfigError("file mode needs --labels FILE and --out MODEL.joblib.")
        if register:
            raise ConfigError("--register needs a workspace; drop the file options.")
        from geoenergy.adhoc import workspace_from_files

        with workspace_from_files(
            readings=readings, registry=registry, weather=weather, labels=labels, timezone=timezone
        ) as fw:
            _report_files(fw, out)
            model, metrics = train_model(fw.ws)
        _save_model(model, metrics, out)
        return
    with open_workspace() as ws:
        if labels is not None:
            from geoenergy.ingest import ingest_labels

            rep = ingest_labels(ws, labels, store=ws.store)
            console.print(f"labels    {rep.summary()}")
        model, metrics = train_model(ws, store=ws.store)
        if out is None:
            import datetime as dt

            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            out = ws.path / "models" / f"mining-supervised-{stamp}.joblib"
        _save_model(model, metrics, out)
        if register:
            rec = register_model(ws, out, store=ws.store)
            console.print(f"Registered as the workspace's detector (model {rec.id}).")


def _save_model(model, metrics: dict, out: Path) -> None:
    """Save a trained model and its card, and print the hold-out metrics."""
    card_path = model.save(out)
    console.print(f"Wrote model {out} and its card {card_path}.")
    det = model.card.get("detector") or {}
    if det.get("learner"):
        sel = det.get("selection") or {}
        what = (sel.get("candidates") or {}).get(det["learner"], {}).get("what") or sel.get("why")
        console.print(
            f"Ranks with {escape(str(det['learner']))}"
            + (f": {escape(str(what))}" if what else "")
            + " (card: detector.selection)."
        )
    if metrics:
        t = Table(title=f"Hold-out ({metrics.get('split', '')})", show_header=False)
        for key, value in metrics.items():
            if key != "split":
                t.add_row(
                    escape(str(key)), f"{value:.3f}" if isinstance(value, float) else str(value)
                )
        console.print(t)
    else:
        console.print(
            "Too few labels for a hold-out evaluation; the card has no hold-out metrics."
        )


@models_app.command("list")
def models_list():
    """Registered detector models (the active one scores new runs)."""
    import sqlalchemy as sa

    from geoenergy.store import DetectorModel

    with open_workspace() as ws, ws.store.session() as s:
        rows = s.execute(sa.select(DetectorModel).order_by(DetectorModel.id)).scalars().all()
    if not rows:
        console.print("No registered models; `geoenergy detect` uses the unsupervised detector.")
        return
    t = Table(title="Detector models")
    for c in ("id", "active", "name", "detector", "registered (UTC)", "by", "path"):
        t.add_column(c, overflow="fold")
    for m in rows:
        t.add_row(
            str(m.id),
            "yes" if m.active else "",
            escape(m.name),
            escape(m.detector),
            m.registered_at.strftime("%Y-%m-%d %H:%M"),
            escape(m.registered_by),
            escape(m.path),
        )
    console.print(t)


@models_app.command("register")
def models_register(
    path: Annotated[Path, typer.Argument(help="A model saved by `geoenergy train`.")],
    name: Annotated[str | None, typer.Option(help="Name shown in lists.")] = None,
):
    """Make a saved model the workspace's active detector (its card is checked first)."""
    from geoenergy.detection import register_model

    with open_workspace() as ws:
        rec = register_model(ws, path, name=name, store=ws.store)
    console.print(f"Registered {path} as model {rec.id}; `geoenergy detect` now uses it.")
