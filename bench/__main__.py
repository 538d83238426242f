"""``python -m bench``: run the GeoEnergy benchmarks and print their figures.

    python -m bench                 every suite at its default size
    python -m bench --small         every suite at smoke size (a few minutes in all)
    python -m bench NAME [ARGS...]  one suite, with that suite's own options
    python -m bench --list          the suites

Every suite compares GeoEnergy with the tool a user would otherwise pick, in
the same run, and prints a table of figures (see bench/README.md).
"""

from __future__ import annotations

import importlib
import sys
import time

#: name -> (module, what it compares, arguments for a smoke run)
SUITES: dict[str, tuple[str, str, list[str]]] = {
    "readings": (
        "bench.bench_readings",
        "ingest CSV/Parquet and open as xarray vs pandas",
        ["--size", "small"],
    ),
    "features": (
        "bench.bench_features",
        "feature extraction, streamed 100k meters x 1 year, vs tsfresh and a numpy pass",
        ["--small"],
    ),
    "quality": (
        "bench.bench_quality",
        "detector precision on synthetic populations vs IsolationForest",
        ["--small"],
    ),
    "joins": (
        "bench.bench_joins",
        "1M meters to 200k buildings and 16 districts: geopandas vs PostGIS",
        ["--small"],
    ),
    "webmap": (
        "bench.bench_webmap",
        "map HTML size and Chromium open time vs one folium Marker per meter",
        ["--meters", "20"],  # 1,000 flags instead of 100,000
    ),
    "heat": (
        "bench.bench_heat",
        "hourly waste-heat balance, 200 data centres x 50 networks x 8,760 h, vs a spreadsheet",
        ["--small"],
    ),
    "review": (
        "bench.bench_review",
        "review app under 50 concurrent users on PostGIS (locust)",
        ["--small"],
    ),
    "realtime": (
        "bench.bench_realtime",
        "live readings API: 500 data centres x 2 meters a minute, then a day's backlog",
        ["--small"],
    ),
    "detect_files": (
        "bench.bench_detect_files",
        "geoenergy detect from files (4.7 M readings) vs read + pivot + one numpy pass",
        ["--meters", "300", "--start", "2023-11-01", "--end", "2023-11-22", "--rounds", "1"],
    ),
    "city": (
        "bench.bench_city",
        "100k meters x 120 days hourly: ingest, detect and store, append a day",
        ["--meters", "2000", "--days", "30"],
    ),
}
#: ``python -m bench ingest`` and ``open`` still run the readings suite's parts.
ALIASES = {"ingest": ("readings", ["ingest"]), "open": ("readings", ["open"])}


def _run(name: str, argv: list[str]) -> None:
    module, what, _ = SUITES[name]
    print(f"\n=== {name}: {what} ===", flush=True)
    importlib.import_module(module).main(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv and argv[0] == "--list":
        for name, (module, what, _) in SUITES.items():
            print(f"{name:<9} {what}  (python -m {module} --help)")
        return 0
    if argv and argv[0] in ALIASES:
        name, pre = ALIASES[argv[0]]
        _run(name, pre + argv[1:])
        return 0
    if argv and argv[0] in SUITES:
        _run(argv[0], argv[1:])
        return 0
    small = argv == ["--small"]
    if argv and not small:
        print(f"unknown arguments {argv}; see `python -m bench --help`.", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    failed = []
    for name, (_module, _what, smoke) in SUITES.items():
        try:
            _run(name, smoke if small else [])
        except (Exception, SystemExit) as exc:  # one suite failing must not hide the others
            failed.append(name)
            print(f"[{name}] failed: {exc!r}", file=sys.stderr)
    print(f"\nAll suites done in {time.perf_counter() - t0:.0f} s; failed: {failed or 'none'}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
