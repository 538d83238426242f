"""Vectorised row checks shared by the ingesters.

A :class:`RowChecks` collects, for one chunk of a file, the first problem of
every bad row: which column, which value, what is wrong and how to fix it.
The rejected rows leave with their original values (``raw``), so nothing is
lost: they are stored in the quarantine (``rejected_rows``) for the user to
list, fix and ingest again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

REJECT_COLUMNS = ["row_number", "column", "value", "reason", "problem", "raw"]

# A UTC offset after a time of day; a bare date such as 2023-11-15 must not read
# its "-15" as an offset.
_OFFSET_RE = r"[T ]\d{1,2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


class RowChecks:
    """First problem per row of one chunk.

    Parameters
    ----------
    df : DataFrame or None
        The chunk as read, indexed by 1-based data-row number. ``None`` for a
        chunk whose problems only arrive through :meth:`absorb` (give ``n``).
    n : int, optional
        Number of rows when ``df`` is None.
    """

    def __init__(self, df: pd.DataFrame | None, n: int | None = None):
        self.df = df
        self.n = len(df) if df is not None else int(n or 0)
        self._problem = self._column = self._reason = None
        self._bad = np.zeros(self.n, dtype=bool)

    def _texts(self):
        # The per-row texts are allocated at the first problem: a clean chunk of
        # millions of rows never pays for three object arrays.
        if self._problem is None:
            self._problem = np.full(self.n, None, dtype=object)
            self._column = np.full(self.n, None, dtype=object)
            self._reason = np.full(self.n, None, dtype=object)

    @property
    def problem(self) -> np.ndarray:
        """Problem name per row (None where the row is fine)."""
        self._texts()
        return self._problem

    @property
    def column(self) -> np.ndarray:
        """Column of the problem per row (None where the row is fine)."""
        self._texts()
        return self._column

    @property
    def reason(self) -> np.ndarray:
        """Message per row: what is wrong and how to fix it (None where fine)."""
        self._texts()
        return self._reason

    @property
    def bad(self) -> np.ndarray:
        """Boolean mask of rows with a problem (a copy)."""
        return self._bad.copy()

    def add(self, mask, column: str | None, problem: str, reason) -> None:
        """Record ``problem`` for rows in ``mask`` that have none yet.

        ``reason`` is a string; a sequence of strings, one per True row of
        ``mask``; or a callable ``f(values) -> array of str`` given the raw
        values of ``column`` for the newly bad rows.
        """
        given = np.asarray(mask, dtype=bool)
        mask = given & ~self._bad
        if not mask.any():
            return
        self._texts()
        self._bad |= mask
        self._problem[mask] = problem
        self._column[mask] = column
        if callable(reason):
            vals = self.df[column].to_numpy()[mask] if column else np.full(mask.sum(), None)
            self._reason[mask] = np.asarray(reason(vals), dtype=object)
        elif isinstance(reason, str):
            self._reason[mask] = reason
        else:
            # Reasons are aligned with ``given``; keep those of rows not already bad.
            self._reason[mask] = np.asarray(reason, dtype=object)[mask[given]]

    def absorb(self, other: RowChecks, codes: np.ndarray | None) -> None:
        """Take the problems ``other`` found in distinct values for the rows holding them.

        Parameters
        ----------
        other : RowChecks
            Checks of the distinct values of a column (see :func:`distinct`).
        codes : ndarray of int or None
            For each row of this chunk, the row of ``other`` holding its value;
            ``None`` when ``other`` checked this chunk's rows one for one.

        Rows that already have a problem keep it, so absorbing the columns in
        the order they would have been checked gives the same first problem.
        """
        if not other._bad.any():
            return
        hit = other._bad if codes is None else other._bad[codes]
        mask = hit & ~self._bad
        if not mask.any():
            return
        idx = np.flatnonzero(mask) if codes is None else codes[mask]
        self._texts()
        self._bad |= mask
        self._problem[mask] = other._problem[idx]
        self._column[mask] = other._column[idx]
        self._reason[mask] = other._reason[idx]

    def rejects(self) -> pd.DataFrame:
        """The rejected rows as a frame with :data:`REJECT_COLUMNS`."""
        mask = self.bad
        return rejects_frame(
            self.df, mask, self.column[mask], self.problem[mask], self.reason[mask]
        )


def distinct(values) -> tuple[np.ndarray, pd.Series]:
    """Number the distinct values of an Arrow column, so checks run once per value.

    A readings file of millions of rows holds a few thousand meter ids and
    timestamps: parsing and checking those once and handing the verdicts back
    to the rows (:meth:`RowChecks.absorb`) gives the same per-row result.

    Parameters
    ----------
    values : pyarrow.Array or pyarrow.ChunkedArray
        One column of a chunk (dictionary-encoded or not).

    Returns
    -------
    codes : ndarray of int64
        For each row, the position of its value in ``uniques``.
    uniques : Series
        The distinct values (a missing value is one of them), with the pandas
        type the column would have had in a DataFrame of the chunk.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type):
            values = values.unify_dictionaries()
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values, null_encoding="encode")
    dictionary = values.dictionary
    indices = values.indices
    if indices.null_count:
        dictionary = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
        indices = indices.fill_null(len(dictionary) - 1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, dictionary.to_pandas()


def rejects_frame(df, mask, columns, problems, reasons) -> pd.DataFrame:
    """Build rejected-row records for ``df[mask]``."""
    sub = df[mask]
    if not len(sub):
        return pd.DataFrame(columns=REJECT_COLUMNS)
    raw = [json.dumps(r, ensure_ascii=False, default=str) for r in _raw_records(sub)]
    values = []
    for col, (_, row) in zip(columns, sub.iterrows(), strict=True):
        v = row[col] if col is not None and col in row.index else None
        values.append(None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return pd.DataFrame(
        {
            "row_number": sub.index.to_numpy(dtype=np.int64),
            "column": list(columns),
            "value": values,
            "reason": list(reasons),
            "problem": list(problems),
            "raw": raw,
        }
    )


def _raw_records(sub: pd.DataFrame) -> list[dict]:
    out = []
    for rec in sub.to_dict(orient="records"):
        out.append(
            {
                k: (None if _isna(v) else v if isinstance(v, str) else str(v))
                for k, v in rec.items()
            }
        )
    return out


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# -- field parsers -------------------------------------------------------------------


def as_text(s: pd.Series) -> pd.Series:
    """Strip strings; missing values become ``""``."""
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        return s.fillna("").astype(str).str.strip()
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def check_text(checks: RowChecks, s: pd.Series, column: str, what: str) -> pd.Series:
    """Require a non-empty text value; returns the stripped text."""
    text = as_text(s)
    checks.add(
        (text == "").to_numpy(),
        column,
        "empty",
        f"{column} is empty; every row needs {what}.",
    )
    return text


def check_float(
    checks: RowChecks,
    s: pd.Series,
    column: str,
    *,
    unit: str,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
) -> np.ndarray:
    """Parse a numeric column; record empty, non-numeric and out-of-range values.

    Returns float64 values with NaN where empty or bad.
    """
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        empty = np.isnan(values)
        non_numeric = np.zeros(len(s), dtype=bool)
    else:
        text = as_text(s)
        # Accept a decimal comma only when there is no dot (e.g. "1,5" from some locales).
        text = text.where(
            text.str.contains(".", regex=False), text.str.replace(",", ".", regex=False)
        )
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        empty = (text == "").to_numpy()
        non_numeric = np.isnan(values) & ~empty
    inf = np.isinf(values)
    if required:
        checks.add(empty, column, "empty", f"{column} is empty; give a number [{unit}].")
    checks.add(
        non_numeric | inf,
        column,
        "not_a_number",
        lambda v: [f"{column}={x!r} is not a finite number; give a number [{unit}]." for x in v],
    )
    if minimum is not None:
        low = values < minimum if min_inclusive else values <= minimum
        op = ">=" if min_inclusive else ">"
        checks.add(
            low,
            column,
            "out_of_range",
            lambda v: [
                f"{column}={x} is out of range; it must be {op} {minimum} [{unit}]." for x in v
            ],
        )
    if maximum is not None:
        checks.add(
            values > maximum,
            column,
            "out_of_range",
            lambda v: [
                f"{column}={x} is out of range; it must be <= {maximum} [{unit}]." for x in v
            ],
        )
    values = values.copy()
    values[inf] = np.nan
    return values


def parse_timestamps(checks: RowChecks, s: pd.Series, column: str, tz) -> pd.Series:
    """Parse timestamps to UTC.

    Naive values are local time in ``tz``; values with a UTC offset (``+08:00``,
    ``Z``) are honoured. Local times that do not exist or are ambiguous at a
    daylight-saving change are rejected with a request to give the offset.

    Returns a ``datetime64[ns, UTC]`` Series (NaT where bad).
    """
    tzname = str(tz)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ts = _drop_far(checks, s, np.ones(len(s), dtype=bool), column)
        if getattr(ts.dt, "tz", None) is None:
            local = ts.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            _flag_dst(checks, ts.notna() & local.isna(), column, tzname)
            ts = local
        ts = ts.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        checks.add(
            s.isna().to_numpy(),
            column,
            "empty",
            f"{column} is empty; give the start of the interval.",
        )
        return _check_plausible(checks, ts, column)
    if pd.api.types.is_numeric_dtype(s.dtype):
        checks.add(
            np.ones(len(s), dtype=bool),
            column,
            "wrong_type",
            f"{column} holds numbers, not timestamps; store ISO 8601 text or a timestamp column.",
        )
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")

    text = as_text(s)
    # Year/month/day with slashes is unambiguous; treat it as ISO.
    text = text.str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", regex=True)
    empty = (text == "").to_numpy()
    has_offset = text.str.contains(_OFFSET_RE, regex=True).to_numpy()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    naive_idx = ~has_offset & ~empty
    if naive_idx.any():
        parsed = pd.to_datetime(text[naive_idx], format="ISO8601", errors="coerce")
        parsed = _drop_far(checks, parsed, naive_idx, column)
        local = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        dst = np.zeros(len(s), dtype=bool)
        dst[naive_idx] = (parsed.notna() & local.isna()).to_numpy()
        _flag_dst(checks, dst, column, tzname)
        out[naive_idx] = local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if has_offset.any():
        parsed = pd.to_datetime(text[has_offset], format="ISO8601", errors="coerce", utc=True)
        parsed = _drop_far(checks, parsed, has_offset, column)
        out[has_offset] = parsed.astype("datetime64[ns, UTC]")
    checks.add(empty, column, "empty", f"{column} is empty; give the start of the interval.")
    checks.add(
        out.isna().to_numpy() & ~empty,
        column,
        "bad_timestamp",
        lambda v: [
            f"{column}={x!r} is not an ISO 8601 timestamp; write it like "
            f"2023-11-15 08:00 (local {tzname} time) or 2023-11-15T08:00+08:00."
            for x in v
        ],
    )
    return _check_plausible(checks, out, column)


def _drop_far(checks, parsed: pd.Series, rows: np.ndarray, column: str) -> pd.Series:
    """Reject parsed values that ``datetime64[ns]`` cannot hold (years before 1678 or
    after 2261, e.g. a typo like 2923) and return ``parsed`` with NaT there.

    ``parsed`` holds the rows of the chunk where ``rows`` is True.
    """
    years = parsed.dt.year
    far = (parsed.notna() & ((years < 1678) | (years > 2261))).to_numpy()
    if not far.any():
        return parsed
    mask = np.zeros(len(rows), dtype=bool)
    mask[np.flatnonzero(rows)[far]] = True
    checks.add(
        mask,
        column,
        "implausible_date",
        lambda v: [f"{column}={x!s} is not a plausible date; check the year." for x in v],
    )
    return parsed.mask(far)


def _flag_dst(checks, mask, column, tzname):
    checks.add(
        np.asarray(mask),
        column,
        "dst",
        lambda v: [
            f"{column}={x!s} does not exist or is ambiguous in {tzname} at a daylight-saving "
            f"change; give this timestamp with its UTC offset (e.g. +08:00)."
            for x in v
        ],
    )


def _check_plausible(checks, ts: pd.Series, column: str) -> pd.Series:
    now = pd.Timestamp(datetime.now().astimezone()).tz_convert("UTC")
    future = (ts > now + timedelta(days=1)).to_numpy()
    ancient = (ts < pd.Timestamp("1990-01-01", tz="UTC")).to_numpy()
    checks.add(
        future,
        column,
        "future",
        lambda v: [f"{column}={x!s} lies in the future; check the date and time zone." for x in v],
    )
    checks.add(
        ancient,
        column,
        "implausible_date",
        lambda v: [f"{column}={x!s} is before 1990; check the date format." for x in v],
    )
    return ts


def parse_dates(checks: RowChecks, s: pd.Series, column: str) -> pd.Series:
    """Parse calendar dates (no time of day); returns ``datetime64[ns]`` at midnight."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        d = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        d = _drop_far(checks, d, np.ones(len(s), dtype=bool), column)
        parsed = d.dt.normalize().astype("datetime64[ns]")
        empty = s.isna().to_numpy()
        bad = np.zeros(len(s), dtype=bool)
    else:
        text = as_text(s).str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", regex=True)
        empty = (text == "").to_numpy()
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        parsed = _drop_far(checks, parsed, np.ones(len(s), dtype=bool), column)
        parsed = parsed.astype("datetime64[ns]")
        bad = parsed.isna().to_numpy() & ~empty
        with_time = (parsed.notna() & (parsed != parsed.dt.normalize())).to_numpy()
        bad |= with_time
        parsed = parsed.dt.normalize()
    checks.add(empty, column, "empty", f"{column} is empty; give a date like 2023-11-15.")
    checks.add(
        bad,
        column,
        "bad_date",
        lambda v: [
            f"{column}={x!r} is not an ISO 8601 date; write it like 2023-11-15." for x in v
        ],
    )
    today = pd.Timestamp.now().normalize()
    checks.add(
        (parsed > today).to_numpy(),
        column,
        "future",
        lambda v: [f"{column}={x!s} lies in the future; check the date." for x in v],
    )
    checks.add(
        (parsed < pd.Timestamp("1990-01-01")).to_numpy(),
        column,
        "implausible_date",
        lambda v: [f"{column}={x!s} is before 1990; check the date format." for x in v],
    )
    return parsed


def check_choice(checks, s: pd.Series, column: str, allowed, *, default: str | None = None):
    """Normalise a categorical text column (case, spaces, hyphens) and check membership."""
    text = as_text(s).str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    if default is not None:
        text = text.where(text != "", default)
    checks.add(
        (text == "").to_numpy(),
        column,
        "empty",
        f"{column} is empty; use one of {', '.join(allowed)}.",
    )
    checks.add(
        (~text.isin(list(allowed)) & (text != "")).to_numpy(),
        column,
        "unknown_value",
        lambda v: [f"{column}={x!r} is not allowed; use one of {', '.join(allowed)}." for x in v],
    )
    return text
