"""Stream table files (CSV, Parquet) in chunks, with column-name mapping.

A file is never read into one giant DataFrame: :func:`iter_chunks` yields
pandas DataFrames of at most ``chunk_rows`` rows together with the 1-based
number of their first data row, so every later message can name the row.

CSV values arrive as strings (nothing is guessed by the parser), so a bad
value reaches the validators exactly as it stood in the file. Parquet values
keep their stored types.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from geoenergy.contracts import CONTRACTS
from geoenergy.errors import InputFileError

CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
DEFAULT_CHUNK_ROWS = 500_000


@dataclass
class BadLine:
    """A CSV line the parser could not split into the header's columns."""

    row_number: int | None
    text: str
    reason: str


@dataclass
class TableSource:
    """An input table file, checked at file level and ready to stream.

    Use :func:`open_table` to make one.
    """

    path: Path
    kind: str
    format: str  # "csv" | "parquet"
    columns: list[str]  # contract names, after mapping
    source_columns: list[str]  # names as in the file
    encoding: str = "utf-8"
    delimiter: str = ","
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def rename(self) -> dict[str, str]:
        return dict(zip(self.source_columns, self.columns, strict=True))

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def iter_chunks(
        self,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """Yield ``(first_row_number, DataFrame)`` chunks of the file.

        ``first_row_number`` is 1-based and counts data rows (the header is
        not a row). ``progress`` is called with the number of bytes (CSV) or
        rows (Parquet) consumed since the previous call.
        """
        if self.format == "parquet":
            yield from self._iter_parquet(chunk_rows, progress)
        else:
            yield from self._iter_csv(chunk_rows, progress)

    def _iter_parquet(self, chunk_rows, progress):
        pf = pq.ParquetFile(self.path)
        row = 1
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=self.source_columns):
            df = batch.to_pandas()
            df.columns = self.columns
            df.index = pd.RangeIndex(row, row + len(df), name="row")
            if progress:
                progress(batch.num_rows)
            if len(df):
                yield row, df
            row += batch.num_rows

    def _iter_csv(self, chunk_rows, progress):
        self.bad_lines.clear()
        rows_seen = [0]

        def on_invalid(invalid):
            # pyarrow numbers rows from 1 including the header line.
            number = invalid.number - 1 if invalid.number is not None else None
            self.bad_lines.append(
                BadLine(
                    number,
                    invalid.text[:500],
                    f"line has {invalid.actual_columns} fields, the header has "
                    f"{invalid.expected_columns}; check the delimiter and quoting of this line",
                )
            )
            return "skip"

        # Single-threaded: only then does pyarrow report the line number of an
        # invalid row, which the data-row numbering of every later row relies on.
        read_opts = pacsv.ReadOptions(
            encoding=self.encoding,
            use_threads=False,
            block_size=1 << 22,
            column_names=self.source_columns,
            skip_rows=1,
        )
        parse_opts = pacsv.ParseOptions(
            delimiter=self.delimiter, invalid_row_handler=on_invalid, newlines_in_values=False
        )
        conv_opts = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in self.source_columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        raw = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below
        stream = gzip.GzipFile(fileobj=raw) if self.path.name.lower().endswith(".gz") else raw
        try:
            reader = pacsv.open_csv(
                stream, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raw.close()
            raise InputFileError(
                self.path,
                f"cannot be read as {self.encoding} CSV ({exc}).",
                "check the file is CSV text; pass --encoding gbk for GBK files.",
            ) from None
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        last_pos = 0
        try:
            for batch in reader:
                pending.append(batch)
                pending_rows += batch.num_rows
                if progress:
                    pos = raw.tell()
                    progress(pos - last_pos)
                    last_pos = pos
                if pending_rows >= chunk_rows:
                    first = rows_seen[0] + 1
                    yield first, self._to_frame(pending, first)
                    rows_seen[0] += pending_rows
                    pending, pending_rows = [], 0
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            raise InputFileError(
                self.path,
                f"stopped being readable after data row {rows_seen[0] + pending_rows} ({exc}).",
                "check the encoding (--encoding) and that the file is not truncated.",
            ) from None
        finally:
            raw.close()
        if pending_rows:
            first = rows_seen[0] + 1
            yield first, self._to_frame(pending, first)
        if progress:
            progress(max(self.size - last_pos, 0))

    def _to_frame(self, batches, first_row):
        df = pa.Table.from_batches(batches).to_pandas()
        df.columns = self.columns
        return _number_rows(df, first_row, self.bad_lines)


def _number_rows(df: pd.DataFrame, first_row: int, bad_lines: list[BadLine]) -> pd.DataFrame:
    """Give ``df`` an index of 1-based data-row numbers, skipping rejected lines."""
    n = len(df)
    skipped = sorted(b.row_number for b in bad_lines if b.row_number is not None)
    numbers = []
    row = first_row
    skip_iter = iter(s for s in skipped if s >= first_row)
    next_skip = next(skip_iter, None)
    while len(numbers) < n:
        if next_skip is not None and row == next_skip:
            next_skip = next(skip_iter, None)
            row += 1
            continue
        numbers.append(row)
        row += 1
    df.index = pd.Index(numbers, name="row")
    return df


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputFileError(
        path,
        f"unsupported file type {''.join(path.suffixes) or '(no extension)'!r}.",
        "save the table as CSV (.csv) or Parquet (.parquet).",
    )


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def open_table(
    path,
    kind: str,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> TableSource:
    """Check a table file at file level and prepare to stream it.

    Parameters
    ----------
    path : str or Path
        A CSV (optionally gzip-compressed) or Parquet file.
    kind : {"readings", "registry", "labels", "weather"}
        Which data contract the file follows.
    column_map : mapping, optional
        ``{name in file: contract name}`` for files that use other column
        names, e.g. ``{"电表编号": "meter_id"}``.
    encoding : str
        Text encoding of a CSV file (``"utf-8"``, ``"gbk"``, ...).
    delimiter : str, optional
        CSV delimiter; default ``","`` (``"\\t"`` for ``.tsv``).

    Raises
    ------
    InputFileError
        The file is missing, empty, of an unsupported type, unreadable, or
        lacks a required column. Nothing has been written when this is raised.
    """
    if kind not in CONTRACTS:
        raise ValueError(f"kind must be one of {sorted(CONTRACTS)}, got {kind!r}")
    contract = CONTRACTS[kind]
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "file not found.", "check the path.")
    if not path.is_file():
        raise InputFileError(path, "is not a file.", "give the path of a CSV or Parquet file.")
    fmt = file_format(path)
    if path.stat().st_size == 0:
        raise InputFileError(path, "the file is empty (0 bytes).", "export the table again.")
    column_map = dict(column_map or {})
    if delimiter is None:
        delimiter = "\t" if ".tsv" in path.name.lower() else ","

    if fmt == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFileError(
                path, f"cannot be read as Parquet ({exc}).", "check that it is a Parquet file."
            ) from None
        source_columns = list(pf.schema_arrow.names)
        n_rows = pf.metadata.num_rows
    else:
        source_columns = _csv_header(path, encoding, delimiter)
        n_rows = None

    mapped = [column_map.get(c, c) for c in source_columns]
    unknown_map = sorted(set(column_map) - set(source_columns))
    if unknown_map:
        raise InputFileError(
            path,
            f"column mapping names column(s) {unknown_map} that the file does not have "
            f"(it has {source_columns}).",
            "correct the --map option (FILE_COLUMN=CONTRACT_COLUMN).",
        )
    dupes = sorted({c for c in mapped if mapped.count(c) > 1})
    if dupes:
        raise InputFileError(
            path,
            f"column(s) {dupes} appear more than once after mapping.",
            "rename or drop the duplicate columns.",
        )
    missing = [c for c in contract.required if c not in mapped]
    if missing and fmt == "csv" and len(source_columns) == 1:
        other = next((d for d in (";", "\t", "|") if d in source_columns[0]), None)
        if other:
            shown = "\\t" if other == "\t" else other
            raise InputFileError(
                path,
                f"the header {source_columns[0]!r} looks separated by {shown!r}, not "
                f"{delimiter!r}.",
                f"pass --delimiter '{shown}'.",
            )
    if missing:
        hint = ", ".join(f"--map YOUR_NAME={m}" for m in missing)
        raise InputFileError(
            path,
            f"required column(s) {missing} missing for a {kind} file; the file has "
            f"columns {source_columns}.",
            f"rename the columns in the file or map them with {hint}.",
        )
    if n_rows == 0:
        raise InputFileError(path, "the file has no data rows.", "export the table again.")

    keep = [i for i, c in enumerate(mapped) if c in contract.names or kind == "registry"]
    src = TableSource(
        path=path,
        kind=kind,
        format=fmt,
        columns=[mapped[i] for i in keep],
        source_columns=[source_columns[i] for i in keep],
        encoding=encoding,
        delimiter=delimiter,
    )
    if fmt == "csv":
        src.columns, src.source_columns = mapped, source_columns
    return src


def _csv_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    enc = "utf-8-sig" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding
    try:
        with opener(path, "rt", encoding=enc, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            first = next(reader, None)
    except UnicodeDecodeError:
        raise InputFileError(
            path,
            f"is not valid {encoding} text.",
            "pass the file's encoding, e.g. --encoding gbk, or save it as UTF-8.",
        ) from None
    except (OSError, csv.Error) as exc:
        raise InputFileError(path, f"cannot be read as CSV ({exc}).", "check the file.") from None
    if not header or all(not h.strip() for h in header):
        raise InputFileError(path, "has no header line.", "the first line must name the columns.")
    header = [h.strip() for h in header]
    if "" in header:
        raise InputFileError(
            path,
            f"header has an empty column name at position {header.index('') + 1}.",
            "name every column in the first line.",
        )
    if first is None:
        raise InputFileError(path, "the file has no data rows.", "export the table again.")
    return header
