"""Stream table files (CSV, Parquet) in chunks, with column-name mapping.

A file is never read into one giant table: :meth:`TableSource.iter_arrow`
yields Arrow tables of at most ``chunk_rows`` rows with the 1-based data-row
number of each row, so every later message can name the row;
:meth:`TableSource.iter_chunks` yields the same chunks as pandas DataFrames
indexed by row number.

CSV is parsed by ``pyarrow.csv`` in blocks of whole lines, each on all cores.
Arrow's parallel parser cannot number a line it rejects, so a block holding a
bad line is parsed again on one thread, which does. CSV values arrive as
strings (nothing is guessed by the parser), so a bad value reaches the
validators exactly as it stood in the file. Parquet is read a row group at a
time and its values keep their stored types.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from geoenergy.contracts import CONTRACTS
from geoenergy.errors import InputFileError

CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
DEFAULT_CHUNK_ROWS = 500_000
CSV_BLOCK_BYTES = 1 << 24
"""Bytes of CSV text parsed at once (whole lines; Arrow parses each block in parallel)."""
PARQUET_GROUP_ROWS = 2_000_000
"""A Parquet row group of at most this many rows is read in one piece."""


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

    def iter_arrow(
        self,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
        *,
        dictionary: bool = False,
    ) -> Iterator[tuple[pa.Table, np.ndarray]]:
        """Yield ``(table, row_numbers)`` chunks of the file as Arrow tables.

        The table has the contract column names; ``row_numbers`` holds the
        1-based data-row number of each of its rows (CSV lines the parser
        rejected are skipped, see :attr:`bad_lines`). CSV values are strings
        exactly as in the file; Parquet values keep their stored types.

        Parameters
        ----------
        chunk_rows : int
            At most this many rows per chunk.
        progress : callable, optional
            Called with the bytes (CSV) or rows (Parquet) consumed since the
            previous call.
        dictionary : bool
            Read Parquet string columns as dictionary arrays (each distinct
            value decoded once).
        """
        if self.format == "parquet":
            yield from self._arrow_parquet(chunk_rows, progress, dictionary)
        else:
            yield from self._arrow_csv(chunk_rows, progress)

    def _arrow_parquet(self, chunk_rows, progress, dictionary):
        schema = pq.ParquetFile(self.path).schema_arrow
        strings = [
            c
            for c in self.source_columns
            if pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        ]
        pf = pq.ParquetFile(self.path, read_dictionary=strings if dictionary else None)
        row = 1
        for i in range(pf.metadata.num_row_groups):
            n_rg = pf.metadata.row_group(i).num_rows
            if n_rg <= max(4 * chunk_rows, PARQUET_GROUP_ROWS):
                # A whole row group at once: several times faster than iter_batches
                # (which decodes dictionaries batch by batch), and still bounded.
                tables = [pf.read_row_group(i, columns=self.source_columns)]
            else:
                tables = (
                    pa.Table.from_batches([b])
                    for b in pf.iter_batches(
                        batch_size=chunk_rows, row_groups=[i], columns=self.source_columns
                    )
                )
            for table in tables:
                table = table.rename_columns(self.columns)
                for lo in range(0, table.num_rows, chunk_rows):
                    part = table.slice(lo, chunk_rows)
                    if progress:
                        progress(part.num_rows)
                    yield part, np.arange(row, row + part.num_rows, dtype=np.int64)
                    row += part.num_rows

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
        for table, rows in self._arrow_csv(chunk_rows, progress):
            df = table.to_pandas()
            df.index = pd.Index(rows, name="row")
            yield int(rows[0]), df

    def _arrow_csv(self, chunk_rows, progress):
        """Parse the CSV in blocks of whole lines, each with Arrow's parallel parser.

        Arrow's multi-threaded parser cannot tell the line number of a line it
        rejects, so a block in which it rejected any line is parsed again on
        one thread, which numbers them (:attr:`bad_lines`).
        """
        self.bad_lines.clear()
        raw = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below
        stream = gzip.GzipFile(fileobj=raw) if self.path.name.lower().endswith(".gz") else raw
        next_row = 1  # data-row number of the next block's first line
        last_pos = 0
        try:
            try:
                stream.readline()  # the header (its names are known: source_columns)
                blocks = _line_blocks(stream, CSV_BLOCK_BYTES)
                for block in blocks:
                    table, rows, n_lines = self._parse_block(block, next_row)
                    next_row += n_lines
                    if progress:
                        pos = raw.tell()
                        progress(pos - last_pos)
                        last_pos = pos
                    for lo in range(0, table.num_rows, chunk_rows):
                        yield table.slice(lo, chunk_rows), rows[lo : lo + chunk_rows]
            except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError) as exc:
                raise InputFileError(
                    self.path,
                    f"stopped being readable after data row {next_row - 1} ({exc}).",
                    "check the encoding (--encoding) and that the file is not truncated.",
                ) from None
        finally:
            raw.close()
        if progress:
            progress(max(self.size - last_pos, 0))

    def _csv_options(self, careful: bool, on_invalid):
        read_opts = pacsv.ReadOptions(
            encoding=self.encoding,
            use_threads=not careful,
            block_size=1 << 20,
            column_names=self.source_columns,
            skip_rows=0,
        )
        parse_opts = pacsv.ParseOptions(
            delimiter=self.delimiter, invalid_row_handler=on_invalid, newlines_in_values=False
        )
        conv_opts = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in self.source_columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        return {
            "read_options": read_opts,
            "parse_options": parse_opts,
            "convert_options": conv_opts,
        }

    def _parse_block(self, block: bytes, first_row: int):
        """Parse one block of whole lines; returns ``(table, row_numbers, n_rows)``.

        ``n_rows`` counts the block's data rows, the rejected lines included.
        """
        flagged = []

        def fast(_invalid):
            flagged.append(True)
            return "skip"

        table = pacsv.read_csv(pa.py_buffer(block), **self._csv_options(False, fast))
        if not flagged:
            table = table.rename_columns(self.columns)
            n = table.num_rows
            return table, np.arange(first_row, first_row + n, dtype=np.int64), n
        # Parse again on one thread: only then does Arrow number the lines it rejects
        # (from 1 at the block's first line, blank lines not counted, as data rows are).
        bad: list[BadLine] = []

        def careful(invalid):
            bad.append(
                BadLine(
                    first_row + invalid.number - 1 if invalid.number is not None else None,
                    invalid.text[:500],
                    f"line has {invalid.actual_columns} fields, the header has "
                    f"{invalid.expected_columns}; check the delimiter and quoting of this line",
                )
            )
            return "skip"

        table = pacsv.read_csv(pa.py_buffer(block), **self._csv_options(True, careful))
        table = table.rename_columns(self.columns)
        self.bad_lines.extend(bad)
        n = table.num_rows + len(bad)
        skipped = np.asarray([b.row_number for b in bad if b.row_number is not None], np.int64)
        rows = np.setdiff1d(np.arange(first_row, first_row + n, dtype=np.int64), skipped)
        return table, rows[: table.num_rows], n


def _line_blocks(stream, size: int) -> Iterator[bytes]:
    """Read ``stream`` in blocks of about ``size`` bytes that end at a line end."""
    carry = b""
    while True:
        data = stream.read(size)
        if not data:
            if carry.strip():
                yield carry
            return
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            continue
        block, carry = buf[: cut + 1], buf[cut + 1 :]
        if block.strip():
            yield block


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
