"""File-level checks (``open_table``) and streaming of table files."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from geoenergy.errors import InputFileError
from geoenergy.ingest import ingest_readings, ingest_registry, open_table
from geoenergy.store import Meter

GOOD_ROWS = [("M1", "2023-11-15 00:00", 1), ("M1", "2023-11-15 01:00", 2)]


@pytest.fixture
def nothing_written(ws_reg, kit):
    """Assert after the test that a failed readings ingestion left no trace."""
    n_ingests = len(kit.ingests(ws_reg))
    yield ws_reg
    assert len(kit.ingests(ws_reg)) == n_ingests
    assert kit.rejected_rows(ws_reg) == []
    assert kit.parquet_files(ws_reg) == []
    assert not (ws_reg.readings_path / "_manifest.json").exists()
    assert list(ws_reg.staging_path.iterdir()) == []


# -- file-level errors: the file is named, the fix is given, nothing is written -------


def test_missing_file(nothing_written, tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputFileError, match=r"nope\.csv: file not found\. Fix: check the path"):
        ingest_readings(nothing_written, path)


def test_empty_file(nothing_written, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.csv: the file is empty \(0 bytes\)"):
        ingest_readings(nothing_written, path)


def test_header_only(nothing_written, tmp_path, kit):
    path = kit.write(tmp_path / "header.csv", "meter_id,timestamp,kwh\n")
    with pytest.raises(InputFileError, match=r"header\.csv: the file has no data rows.*Fix"):
        ingest_readings(nothing_written, path)


def test_header_only_parquet(nothing_written, tmp_path):
    path = tmp_path / "header.parquet"
    pd.DataFrame({"meter_id": [], "timestamp": [], "kwh": []}).astype(str).to_parquet(path)
    with pytest.raises(InputFileError, match=r"header\.parquet: the file has no data rows"):
        ingest_readings(nothing_written, path)


def test_unsupported_extension(nothing_written, tmp_path):
    path = tmp_path / "readings.xlsx"
    path.write_bytes(b"PK\x03\x04 not really excel")
    with pytest.raises(
        InputFileError, match=r"readings\.xlsx: unsupported file type '\.xlsx'.*CSV.*Parquet"
    ):
        ingest_readings(nothing_written, path)


def test_directory_is_not_a_file(nothing_written, tmp_path):
    with pytest.raises(InputFileError, match="is not a file"):
        ingest_readings(nothing_written, tmp_path)


def test_missing_required_column_suggests_map(nothing_written, tmp_path, kit):
    path = kit.write(tmp_path / "r.csv", "meter_id,time,kwh\nM1,2023-11-15 00:00,1\n")
    with pytest.raises(InputFileError) as info:
        ingest_readings(nothing_written, path)
    msg = str(info.value)
    assert "r.csv" in msg
    assert "['timestamp'] missing" in msg
    assert "['meter_id', 'time', 'kwh']" in msg  # the columns the file has
    assert "--map YOUR_NAME=timestamp" in msg


def test_map_names_a_column_the_file_lacks(nothing_written, tmp_path, kit):
    path = kit.readings_csv(tmp_path / "r.csv", GOOD_ROWS)
    with pytest.raises(
        InputFileError, match=r"r\.csv: column mapping names column\(s\) \['zeit'\].*--map"
    ):
        ingest_readings(nothing_written, path, column_map={"zeit": "timestamp"})


def test_map_creating_duplicate_columns(nothing_written, tmp_path, kit):
    path = kit.write(tmp_path / "r.csv", "meter_id,timestamp,kwh,t2\nM1,2023-11-15 00:00,1,x\n")
    with pytest.raises(InputFileError, match=r"\['timestamp'\] appear more than once"):
        ingest_readings(nothing_written, path, column_map={"t2": "timestamp"})


def test_corrupt_parquet(nothing_written, tmp_path):
    path = tmp_path / "r.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file PAR1")
    with pytest.raises(InputFileError, match=r"r\.parquet: cannot be read as Parquet.*Fix"):
        ingest_readings(nothing_written, path)


def test_readings_before_registry(ws, tmp_path, kit):
    path = kit.readings_csv(tmp_path / "r.csv", GOOD_ROWS)
    with pytest.raises(
        InputFileError,
        match=r"r\.csv: no meter registry has been ingested.*geoenergy ingest registry",
    ):
        ingest_readings(ws, path)
    assert kit.ingests(ws) == []
    assert kit.parquet_files(ws) == []


def test_unknown_kind(tmp_path, kit):
    path = kit.readings_csv(tmp_path / "r.csv", GOOD_ROWS)
    with pytest.raises(ValueError, match="kind must be one of"):
        open_table(path, "meters")


# -- encodings -------------------------------------------------------------------------


def test_gbk_file_needs_encoding_option(ws, tmp_path, kit):
    path = kit.write(tmp_path / "registry.csv", kit.REGISTRY, encoding="gbk")
    with pytest.raises(
        InputFileError, match=r"registry\.csv: is not valid utf-8 text.*--encoding gbk"
    ):
        ingest_registry(ws, path)
    assert kit.ingests(ws) == []
    assert kit.count(ws, Meter) == 0

    rep = ingest_registry(ws, path, encoding="gbk")
    assert (rep.n_rows, rep.n_accepted, rep.n_rejected) == (3, 3, 0)
    from geoenergy.store import Store

    with Store.for_workspace(ws) as store, store.session() as s:
        assert s.get(Meter, 1).address == "北京市朝阳区建国路1号"


def test_gbk_header_mapped(ws_reg, tmp_path, kit):
    text = "电表编号,时间,电量\nM1,2023-11-15 00:00,1\nM1,2023-11-15 01:00,2\n"
    path = kit.write(tmp_path / "读数.csv", text, encoding="gbk")
    rep = ingest_readings(
        ws_reg,
        path,
        encoding="gbk",
        column_map={"电表编号": "meter_id", "时间": "timestamp", "电量": "kwh"},
    )
    assert (rep.n_rows, rep.n_accepted, rep.n_rejected) == (2, 2, 0)


def test_bad_bytes_late_in_file_leave_nothing(nothing_written, tmp_path):
    # The header and first line decode; a later line does not.
    lines = [b"meter_id,timestamp,kwh", b"M1,2023-11-15 00:00,1", b"M1,2023-11-15 01:00,1"]
    lines.append("M1,2023-11-15 02:00,\u7535".encode("gbk"))
    path = tmp_path / "late.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputFileError, match=r"late\.csv: .*--encoding"):
        ingest_readings(nothing_written, path)


def test_utf8_bom_header(ws_reg, tmp_path, kit):
    path = kit.write(tmp_path / "bom.csv", "\ufeffmeter_id,timestamp,kwh\nM1,2023-11-15 00:00,1\n")
    rep = ingest_readings(ws_reg, path)
    assert (rep.n_accepted, rep.n_rejected) == (1, 0)


# -- streaming ---------------------------------------------------------------------------


def _frames(src, chunk_rows=2):
    return list(src.iter_chunks(chunk_rows))


def test_csv_values_arrive_as_text_with_row_numbers(tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv", [("M1", "2023-11-15 00:00", "1.50"), ("007", "x", " 2 ")]
    )
    (first, df), *_ = _frames(open_table(path, "readings"))
    assert first == 1
    assert df.index.tolist() == [1, 2]
    assert df.index.name == "row"
    assert df["kwh"].tolist() == ["1.50", " 2 "]  # nothing guessed or stripped yet
    assert df["meter_id"].tolist() == ["M1", "007"]


def test_bad_line_numbers_and_later_rows(tmp_path, kit):
    text = (
        "meter_id,timestamp,kwh\n"
        "M1,2023-11-15 00:00,1\n"
        "M1,2023-11-15 01:00,1,EXTRA\n"
        "M1,2023-11-15 02:00,3\n"
        "M1\n"
        "M1,2023-11-15 04:00,5\n"
    )
    src = open_table(kit.write(tmp_path / "r.csv", text), "readings")
    frames = _frames(src)
    df = pd.concat([f for _, f in frames])
    assert df.index.tolist() == [1, 3, 5]
    assert df["kwh"].tolist() == ["1", "3", "5"]
    assert [(b.row_number, b.text) for b in src.bad_lines] == [
        (2, "M1,2023-11-15 01:00,1,EXTRA"),
        (4, "M1"),
    ]
    assert "header has 3" in src.bad_lines[0].reason


def test_tsv_and_gzip_read_like_csv(tmp_path, kit):
    rows = "meter_id,timestamp,kwh\nM1,2023-11-15 00:00,1\nM2,2023-11-15 00:00,2\n"
    csv_path = kit.write(tmp_path / "r.csv", rows)
    tsv_path = kit.write(tmp_path / "r.tsv", rows.replace(",", "\t"))
    gz_path = tmp_path / "r.csv.gz"
    gz_path.write_bytes(gzip.compress(rows.encode()))
    expected = pd.concat(f for _, f in _frames(open_table(csv_path, "readings")))
    for p in (tsv_path, gz_path):
        got = pd.concat(f for _, f in _frames(open_table(p, "readings")))
        pd.testing.assert_frame_equal(got, expected)


def test_parquet_chunks_keep_types_and_numbers(tmp_path):
    path = tmp_path / "r.parquet"
    pd.DataFrame(
        {
            "meter_id": ["M1", "M1", "M2"],
            "timestamp": pd.to_datetime(["2023-11-15 00:00"] * 3),
            "kwh": [1.0, 2.0, 3.0],
            "ignored": [0, 0, 0],
        }
    ).to_parquet(path)
    src = open_table(path, "readings")
    assert src.columns == ["meter_id", "timestamp", "kwh"]
    frames = _frames(src, chunk_rows=2)
    assert [first for first, _ in frames] == [1, 3]
    assert [f.index.tolist() for _, f in frames] == [[1, 2], [3]]
    assert frames[1][1]["kwh"].tolist() == [3.0]
    assert pd.api.types.is_datetime64_any_dtype(frames[0][1]["timestamp"])
