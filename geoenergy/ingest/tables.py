"""Ingest the small tables into the relational store: registry, labels, weather.

Each file is streamed in chunks, validated row by row, and written in one
transaction: a crash or a file-level error leaves the store as it was.
Rejected rows are kept with their reason.

Re-ingesting is idempotent: rows identical to what is stored count as
duplicates and change nothing. A registry row that changes a stored meter
(new address, class, location) updates it and writes an audit record with
the values before and after; labels and weather never overwrite a stored
value that differs (the row is rejected with the conflict).
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geoenergy.config import Workspace
from geoenergy.contracts import CONTRACTS, CUSTOMER_CLASSES, LABELS
from geoenergy.ingest.checks import (
    RowChecks,
    check_choice,
    check_float,
    check_text,
    parse_dates,
    rejects_frame,
)
from geoenergy.ingest.core import (
    IngestReport,
    RejectLog,
    begin_ingest,
    finish_ingest,
    previous_ingest,
    unchanged_report,
)
from geoenergy.ingest.sources import DEFAULT_CHUNK_ROWS, open_table, sha256_file
from geoenergy.store import InspectionLabel, Meter, Store, Weather, point, record_audit
from geoenergy.store.bulk import insert_rows
from layers.coords import COORD_SYSTEMS, to_wgs84

MAX_PARAMS = 5000
METER_FIELDS = (
    "address",
    "customer_class",
    "lon",
    "lat",
    "source_lon",
    "source_lat",
    "coord_system",
    "contracted_kw",
    "floor_area_m2",
    "attributes",
)


@dataclass
class _Run:
    """What the per-chunk steps of one ingestion share."""

    ws: Workspace
    report: IngestReport
    rejects: RejectLog
    ingest_id: int
    seen: dict = field(default_factory=dict)  # key -> (digest, row) across chunks


def _run(
    ws,
    kind,
    path,
    *,
    store,
    column_map,
    encoding,
    force,
    chunk_rows,
    progress,
    apply,
    delimiter=None,
):
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    store = store or ws.store
    store.check()
    src = open_table(path, kind, column_map=column_map, encoding=encoding, delimiter=delimiter)
    sha = sha256_file(src.path)
    prev = previous_ingest(store, kind, sha)
    if prev is not None and not force:
        return unchanged_report(prev, src.path)
    report = IngestReport(kind=kind, path=str(src.path), sha256=sha)
    rejects = RejectLog()
    with store.session() as s:
        ing = begin_ingest(
            s,
            report,
            started_at=started,
            options={"column_map": dict(column_map or {}), "encoding": encoding},
            replace=prev is not None,
        )
        run = _Run(ws=ws, report=report, rejects=rejects, ingest_id=ing.id)
        for _first, df in src.iter_chunks(chunk_rows, progress=progress):
            report.n_rows += len(df)
            apply(s, df, run)
        if src.format == "csv":
            rejects.add_bad_lines(src.bad_lines)
            report.n_rows += len(src.bad_lines)
        finish_ingest(s, ing, report, rejects)
    report.seconds = time.perf_counter() - t0
    return report


def _in_chunks(values):
    """``values`` in lists short enough for one SQL ``IN (...)``."""
    values = list(values)
    for i in range(0, len(values), MAX_PARAMS):
        yield values[i : i + MAX_PARAMS]


def _against_stored(keys, values, stored: dict, same):
    """Compare rows with what the store holds for their keys.

    Returns the masks of new rows and of rows identical to the stored value
    (``same(stored, value)``), and the stored values (None where new); the
    remaining rows differ from what is stored.
    """
    olds = [stored.get(k) for k in keys]
    new = np.array([o is None for o in olds], dtype=bool)
    dup = np.array(
        [o is not None and bool(same(o, v)) for o, v in zip(olds, values, strict=True)],
        dtype=bool,
    )
    return new, dup, olds


def _conflicts_within_file(seen: dict, keys, digests, rows):
    """Rows whose key appeared earlier in the file with another content.

    Returns (duplicate mask, conflict mask, earlier row numbers for conflicts).
    ``seen`` maps key -> (digest, row) across chunks of one file.
    """
    dup = np.zeros(len(keys), dtype=bool)
    conflict = np.zeros(len(keys), dtype=bool)
    earlier = np.zeros(len(keys), dtype=np.int64)
    for i, (k, d, r) in enumerate(zip(keys, digests, rows, strict=True)):
        if k in seen:
            d0, r0 = seen[k]
            if d0 == d:
                dup[i] = True
            else:
                conflict[i] = True
                earlier[i] = r0
        else:
            seen[k] = (d, r)
    return dup, conflict, earlier


def _digest(frame: pd.DataFrame, cols) -> list[str]:
    return [
        json.dumps(r, sort_keys=True, ensure_ascii=False, default=str)
        for r in frame[list(cols)].to_dict(orient="records")
    ]


# -- registry -----------------------------------------------------------------------


def ingest_registry(
    ws: Workspace,
    path,
    *,
    store: Store | None = None,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    force: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest a meter registry (CSV or Parquet) into the store.

    Columns: ``meter_id``, ``address``, ``customer_class``, ``lon``, ``lat``
    [deg]; optional ``coord_system`` (wgs84, gcj02, bd09; default wgs84),
    ``contracted_kw`` [kW], ``floor_area_m2`` [m2]. Other columns are kept
    as the meter's ``attributes``. GCJ-02 and BD-09 coordinates are converted
    to WGS84 (:func:`layers.coords.to_wgs84`); the file's values are kept in
    ``source_lon``/``source_lat``.

    A meter already stored is updated when its row differs, with an audit
    record of the change; an identical row is a duplicate.
    """
    return _run(
        ws,
        "registry",
        path,
        store=store,
        column_map=column_map,
        encoding=encoding,
        delimiter=delimiter,
        force=force,
        chunk_rows=chunk_rows,
        progress=progress,
        apply=_apply_registry,
    )


def validate_registry(df: pd.DataFrame) -> tuple[pd.DataFrame, RowChecks]:
    """Check registry rows; returns the clean rows (contract columns) and the checks."""
    checks = RowChecks(df)
    meter = check_text(checks, df["meter_id"], "meter_id", "the meter's id")
    address = check_text(checks, df["address"], "address", "the postal address")
    cls = check_choice(checks, df["customer_class"], "customer_class", CUSTOMER_CLASSES)
    lon = check_float(checks, df["lon"], "lon", unit="deg")
    lat = check_float(checks, df["lat"], "lat", unit="deg")
    swapped = ((np.abs(lat) > 90) & (np.abs(lon) <= 90)) | (
        (lat >= 73) & (lat <= 136) & (lon >= 18) & (lon <= 54)
    )
    checks.add(
        swapped,
        "lat",
        "swapped_lon_lat",
        [
            f"lon and lat look swapped (lon={a:g}, lat={b:g}); longitude goes in lon, "
            f"latitude in lat."
            for a, b in zip(lon[swapped], lat[swapped], strict=True)
        ],
    )
    bad_lon = (np.abs(lon) > 180) & ~swapped
    checks.add(
        bad_lon,
        "lon",
        "out_of_range",
        [f"lon={a:g} is outside -180..180 [deg]; check the coordinates." for a in lon[bad_lon]],
    )
    bad_lat = (np.abs(lat) > 90) & ~swapped
    checks.add(
        bad_lat,
        "lat",
        "out_of_range",
        [f"lat={a:g} is outside -90..90 [deg]; check the coordinates." for a in lat[bad_lat]],
    )
    checks.add(
        (lon == 0) & (lat == 0),
        "lon",
        "null_island",
        "lon=0, lat=0 is a placeholder, not a location; geocode the address.",
    )
    if "coord_system" in df:
        crs = check_choice(
            checks, df["coord_system"], "coord_system", COORD_SYSTEMS, default="wgs84"
        )
    else:
        crs = pd.Series("wgs84", index=df.index)
    kw = (
        check_float(
            checks, df["contracted_kw"], "contracted_kw", unit="kW", required=False, minimum=0
        )
        if "contracted_kw" in df
        else np.full(len(df), np.nan)
    )
    area = (
        check_float(
            checks,
            df["floor_area_m2"],
            "floor_area_m2",
            unit="m2",
            required=False,
            minimum=0,
            min_inclusive=False,
        )
        if "floor_area_m2" in df
        else np.full(len(df), np.nan)
    )
    good = ~checks.bad
    extra_cols = [c for c in df.columns if c not in CONTRACTS["registry"].names]
    clean = pd.DataFrame(
        {
            "meter_id": meter[good].to_numpy(),
            "address": address[good].to_numpy(),
            "customer_class": cls[good].to_numpy(),
            "source_lon": lon[good],
            "source_lat": lat[good],
            "coord_system": crs[good].to_numpy(),
            "contracted_kw": kw[good],
            "floor_area_m2": area[good],
        },
        index=df.index[good],
    )
    if len(clean):
        wlon, wlat = to_wgs84(
            clean["source_lon"].to_numpy(),
            clean["source_lat"].to_numpy(),
            clean["coord_system"].to_numpy(),
        )
        clean["lon"], clean["lat"] = np.round(wlon, 7), np.round(wlat, 7)
    else:
        clean["lon"], clean["lat"] = [], []
    if extra_cols:
        extras = df.loc[good, extra_cols]
        clean["attributes"] = [
            {k: (None if pd.isna(v) else str(v)) for k, v in r.items()} or None
            for r in extras.to_dict(orient="records")
        ]
    else:
        clean["attributes"] = None
    return clean, checks


def _none(v):
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.floating):
        return float(v)
    return v


def _apply_registry(s, df, run: _Run):
    report, rejects = run.report, run.rejects
    clean, checks = validate_registry(df)
    rejects.add(checks.rejects())
    if not len(clean):
        return
    digests = _digest(clean, [c for c in METER_FIELDS if c in clean])
    dup, conflict, earlier = _conflicts_within_file(
        run.seen, clean["meter_id"].tolist(), digests, clean.index.tolist()
    )
    if conflict.any():
        c = clean[conflict]
        rejects.add(
            _records(
                df.loc[c.index],
                "meter_id",
                "conflicting_duplicate",
                [
                    f"meter_id={m!r} appears again with different values (first on row {r}); "
                    f"the first row was kept. Keep one row per meter."
                    for m, r in zip(c["meter_id"], earlier[conflict], strict=True)
                ],
            )
        )
    report.n_duplicates += int(dup.sum())
    clean = clean[~dup & ~conflict]
    stored = {}
    for ids in _in_chunks(clean["meter_id"]):
        for m in s.scalars(sa.select(Meter).where(Meter.meter_id.in_(ids))):
            stored[m.meter_id] = m
    inserts = []
    for rec in clean.to_dict(orient="records"):
        rec = {k: _none(v) for k, v in rec.items()}
        m = stored.get(rec["meter_id"])
        if m is None:
            rec["geom"] = point(rec["lon"], rec["lat"])
            rec["ingest_id"] = run.ingest_id
            inserts.append(rec)
            continue
        before = {f: getattr(m, f) for f in METER_FIELDS}
        changed = {f: rec[f] for f in METER_FIELDS if not _same(before[f], rec[f])}
        if not changed:
            report.n_duplicates += 1
            continue
        for f, v in changed.items():
            setattr(m, f, v)
        if "lon" in changed or "lat" in changed:
            m.geom = point(rec["lon"], rec["lat"])
        m.ingest_id = run.ingest_id
        record_audit(
            s,
            actor="ingest",
            action="registry_update",
            entity="meter",
            entity_id=m.meter_id,
            before={f: before[f] for f in changed},
            after=changed,
        )
        report.n_accepted += 1
    # One driver executemany on the session's connection (same transaction), values
    # converted once by the columns' types: 1,615 meters 0.3 s -> 0.05 s.
    insert_rows(s.connection(), Meter.__table__, inserts)
    report.n_accepted += len(inserts)
    s.flush()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return bool(np.isclose(a, b, rtol=0, atol=1e-9))
    return a == b


def _records(raw_rows: pd.DataFrame, column, problem, reasons):
    n = len(raw_rows)
    return rejects_frame(raw_rows, np.ones(n, dtype=bool), [column] * n, [problem] * n, reasons)


# -- labels --------------------------------------------------------------------------


def ingest_labels(
    ws: Workspace,
    path,
    *,
    store: Store | None = None,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    force: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest inspection outcomes (``meter_id``, ``label``, ``inspected_on``).

    ``label`` is ``mining`` or ``not_mining``; the meter must be in the
    registry. One outcome per meter and date: a second, different outcome
    for the same meter and date is rejected.
    """
    return _run(
        ws,
        "labels",
        path,
        store=store,
        column_map=column_map,
        encoding=encoding,
        delimiter=delimiter,
        force=force,
        chunk_rows=chunk_rows,
        progress=progress,
        apply=_apply_labels,
    )


def _apply_labels(s, df, run: _Run):
    report, rejects = run.report, run.rejects
    checks = RowChecks(df)
    meter = check_text(checks, df["meter_id"], "meter_id", "the meter's id")
    label = check_choice(checks, df["label"], "label", LABELS)
    day = parse_dates(checks, df["inspected_on"], "inspected_on")
    known = set()
    for ids in _in_chunks(sorted(set(meter[~checks.bad]))):
        known.update(s.scalars(sa.select(Meter.meter_id).where(Meter.meter_id.in_(ids))))
    checks.add(
        (~meter.isin(known) & (meter != "")).to_numpy(),
        "meter_id",
        "unknown_meter",
        lambda v: [f"meter_id={x!r} is not in the meter registry; ingest it first." for x in v],
    )
    rejects.add(checks.rejects())
    good = ~checks.bad
    clean = pd.DataFrame(
        {
            "meter_id": meter[good].to_numpy(),
            "label": label[good].to_numpy(),
            "inspected_on": day[good].dt.date.to_numpy(),
        },
        index=df.index[good],
    )
    keys = list(zip(clean["meter_id"], clean["inspected_on"], strict=True))
    dup, conflict, earlier = _conflicts_within_file(
        run.seen, keys, clean["label"].tolist(), clean.index.tolist()
    )
    if conflict.any():
        rejects.add(
            _records(
                df.loc[clean.index[conflict]],
                "label",
                "conflicting_duplicate",
                [
                    f"meter {m} has another label for {d} on row {r}; keep one outcome per meter and date."
                    for m, d, r in zip(
                        clean["meter_id"][conflict],
                        clean["inspected_on"][conflict],
                        earlier[conflict],
                        strict=True,
                    )
                ],
            )
        )
    report.n_duplicates += int(dup.sum())
    clean = clean[~dup & ~conflict]
    stored = {}
    for mids in _in_chunks(sorted(set(clean["meter_id"]))):
        for lab in s.scalars(sa.select(InspectionLabel).where(InspectionLabel.meter_id.in_(mids))):
            stored[(lab.meter_id, lab.inspected_on)] = lab.label
    keys = list(zip(clean["meter_id"], clean["inspected_on"], strict=True))
    new, same, olds = _against_stored(keys, clean["label"], stored, operator.eq)
    differ = ~new & ~same
    report.n_duplicates += int(same.sum())
    if differ.any():
        rejects.add(
            _records(
                df.loc[clean.index[differ]],
                "label",
                "conflicts_with_stored",
                [
                    f"meter {m} already has label {old!r} for {d}; this row says {lab!r}. "
                    f"Stored outcomes are not overwritten; correct the file or record a new inspection."
                    for (m, d), lab, old, x in zip(keys, clean["label"], olds, differ, strict=True)
                    if x
                ],
            )
        )
    inserts = [
        {
            "meter_id": m,
            "label": lab,
            "inspected_on": d,
            "source": "file",
            "ingest_id": run.ingest_id,
        }
        for m, lab, d in clean.loc[new, ["meter_id", "label", "inspected_on"]].itertuples(
            index=False
        )
    ]
    if inserts:
        s.execute(sa.insert(InspectionLabel), inserts)
    report.n_accepted += len(inserts)


# -- weather -------------------------------------------------------------------------


def ingest_weather(
    ws: Workspace,
    path,
    *,
    store: Store | None = None,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    force: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest daily weather (``date``, ``temp_c`` [degC], daily mean air temperature)."""
    return _run(
        ws,
        "weather",
        path,
        store=store,
        column_map=column_map,
        encoding=encoding,
        delimiter=delimiter,
        force=force,
        chunk_rows=chunk_rows,
        progress=progress,
        apply=_apply_weather,
    )


def _apply_weather(s, df, run: _Run):
    report, rejects = run.report, run.rejects
    checks = RowChecks(df)
    day = parse_dates(checks, df["date"], "date")
    temp = check_float(checks, df["temp_c"], "temp_c", unit="degC", minimum=-60, maximum=60)
    rejects.add(checks.rejects())
    good = ~checks.bad
    clean = pd.DataFrame(
        {"date": day[good].dt.date.to_numpy(), "temp_c": temp[good]}, index=df.index[good]
    )
    dup, conflict, earlier = _conflicts_within_file(
        run.seen,
        clean["date"].tolist(),
        [round(t, 6) for t in clean["temp_c"]],
        clean.index.tolist(),
    )
    if conflict.any():
        rejects.add(
            _records(
                df.loc[clean.index[conflict]],
                "temp_c",
                "conflicting_duplicate",
                [
                    f"date {d} appears again with another temp_c (first on row {r}); keep one row per date."
                    for d, r in zip(clean["date"][conflict], earlier[conflict], strict=True)
                ],
            )
        )
    report.n_duplicates += int(dup.sum())
    clean = clean[~dup & ~conflict]
    stored = {}
    for dates in _in_chunks(clean["date"]):
        for w in s.scalars(sa.select(Weather).where(Weather.date.in_(dates))):
            stored[w.date] = w.temp_c
    new, same, olds = _against_stored(
        clean["date"], clean["temp_c"], stored, lambda a, b: np.isclose(a, b, atol=1e-6)
    )
    differ = ~new & ~same
    report.n_duplicates += int(same.sum())
    if differ.any():
        rejects.add(
            _records(
                df.loc[clean.index[differ]],
                "temp_c",
                "conflicts_with_stored",
                [
                    f"date {d} already has temp_c={old:g} stored; this row gives {t:g}. Stored "
                    f"weather is not overwritten; correct the file."
                    for d, t, old, x in zip(
                        clean["date"], clean["temp_c"], olds, differ, strict=True
                    )
                    if x
                ],
            )
        )
    inserts = [
        {"date": d, "temp_c": float(t), "ingest_id": run.ingest_id}
        for d, t in zip(clean["date"][new], clean["temp_c"][new], strict=True)
    ]
    if inserts:
        s.execute(sa.insert(Weather), inserts)
    report.n_accepted += len(inserts)
