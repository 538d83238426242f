"""The heat suite: the hourly waste-heat balance of many data centres and networks.

``python -m bench heat`` builds a synthetic city of 200 data centres and 50
separate heating networks (each a secondary network with its own heat-demand
area) and runs :func:`geoenergy.heat.analyse` on it: the whole year hour by
hour (8,760 h), networks, service-area demand on the Beijing weather year,
heat pumps, connection trees, merit-order dispatch, line sizing and costs.
Beside it runs what a planner would otherwise do in a spreadsheet: recoverable
heat x COP ratio x the share of hours in the heating season per site, never
compared with demand (the method this project used before issue 14). The
correctness note from the same run: how much of the networks' demand each
method claims to fill (the spreadsheet's total can exceed it; ours cannot).

It also times the sample city's analysis (8 sites, its layers from
:func:`geoenergy.samplecity.generate_city`), which should take well under 10 s.

Every case runs in a fresh subprocess (:func:`bench._common.run_case`); times
are wall-clock seconds of the analysis only (building the layers is not
timed); peak memory is the subprocess's peak RSS [MiB], interpreter and
imports included.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from bench._common import run_case

CRS = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0


def _city(n_sites: int, n_networks: int, seed: int = 7):
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_networks)))
    pitch = 8_000.0
    nets, demand = [], []
    for k in range(n_networks):
        cx, cy = X0 + (k % side) * pitch, Y0 + (k // side) * pitch
        nets.append(LineString([(cx - 1500, cy), (cx + 1500, cy)]))
        demand.append((box(cx - 1500, cy - 400, cx + 1500, cy - 50), float(rng.uniform(5e3, 2e5))))
    network = gpd.GeoDataFrame(
        {
            "kind": ["secondary"] * n_networks,
            "supply_temp_c": rng.choice([60.0, 65.0, 70.0], n_networks),
            "return_temp_c": [40.0] * n_networks,
        },
        geometry=nets,
        crs=CRS,
    )
    heat_demand = gpd.GeoDataFrame(
        {"demand_mwh": [d for _, d in demand]}, geometry=[g for g, _ in demand], crs=CRS
    )
    home = rng.integers(0, n_networks, n_sites)
    pts = [
        Point(
            X0 + (h % side) * pitch + rng.uniform(-1500, 1500),
            Y0 + (h // side) * pitch + rng.uniform(150, 1500),
        )
        for h in home
    ]
    dc = gpd.GeoDataFrame(
        {
            "name": [f"DC{i:03d}" for i in range(n_sites)],
            "cooling": rng.choice(["air", "water", "liquid", "immersion"], n_sites),
            "it_load_mw": np.round(rng.uniform(1, 40, n_sites), 1),
            "pue": np.round(rng.uniform(1.15, 1.5, n_sites), 2),
        },
        geometry=pts,
        crs=CRS,
    )
    return dc, network, heat_demand


def case_ours(n_sites: int, n_networks: int) -> dict:
    """Time :func:`geoenergy.heat.analyse` on the synthetic city."""
    from geoenergy.heat import HeatConfig, analyse

    dc, network, demand = _city(n_sites, n_networks)
    cfg = HeatConfig(metric_crs=CRS)
    t = time.perf_counter()
    res = analyse(dc, network, heat_demand=demand, config=cfg, density_grid=False)
    seconds = time.perf_counter() - t
    nets = res.networks
    return {
        "seconds": seconds,
        "rows": n_sites * 8760,
        "used_mwh": float(np.nansum(res.sites["used_heat_mwh_th_per_yr"])),
        "demand_mwh": float(nets["demand_mwh_per_yr"].sum()),
        "over_demand": int(
            (nets["used_heat_mwh_th_per_yr"] > nets["demand_mwh_per_yr"] + 1e-6).sum()
        ),
        "networks": len(nets),
    }


def case_spreadsheet(n_sites: int, n_networks: int) -> dict:
    """The per-site estimate without demand: recoverable x COP ratio x season share."""
    from geoenergy.heat.recovery import heat_source
    from layers.heatnets import heating_networks, network_demand

    dc, network, demand = _city(n_sites, n_networks)
    t = time.perf_counter()
    t_src, share = heat_source(dc["cooling"].to_numpy())
    sink = 70.0
    cop = np.minimum(0.5 * (sink + 273.15) / np.maximum(sink - t_src, 1.0), 8.0)
    season = 121 / 365
    usable = dc["it_load_mw"].to_numpy() * share * 8760 * cop / (cop - 1) * season
    seconds = time.perf_counter() - t
    nets, _ = heating_networks(network, crs=CRS)
    q, _ = network_demand(nets, heat_demand=demand, crs=CRS)
    return {
        "seconds": seconds,
        "rows": n_sites,
        "used_mwh": float(usable.sum()),
        "demand_mwh": float(q.sum()),
    }


def case_sample_city(n_meters: int) -> dict:
    """Time the sample city's analysis from its layer files."""
    from geoenergy.heat import analyse_files
    from geoenergy.samplecity import generate_city

    with tempfile.TemporaryDirectory() as tmp:
        city = generate_city(
            f"{tmp}/city", n_meters=n_meters, start="2023-11-01", end="2023-11-15"
        )
        t = time.perf_counter()
        res = analyse_files(
            city.layers["data_centres"],
            city.layers["heating_network"],
            demand=city.layers["heat_demand"],
        )
        seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "rows": len(res.sites),
        "used_mwh": float(np.nansum(res.sites["used_heat_mwh_th_per_yr"])),
        "demand_mwh": float(res.networks["demand_mwh_per_yr"].sum()),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench heat", description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=200, help="data centres (default 200)")
    p.add_argument("--networks", type=int, default=50, help="heating networks (default 50)")
    p.add_argument("--city-meters", type=int, default=300, help="meters of the sample city")
    p.add_argument("--small", action="store_true", help="20 sites, 5 networks (smoke run)")
    p.add_argument("--timeout", type=float, default=1800.0, help="per-case timeout [s]")
    a = p.parse_args(argv)
    n, k = (20, 5) if a.small else (a.sites, a.networks)
    t0 = time.perf_counter()
    ours = run_case("bench.bench_heat:case_ours", a.timeout, n_sites=n, n_networks=k)
    base = run_case("bench.bench_heat:case_spreadsheet", a.timeout, n_sites=n, n_networks=k)
    city = run_case("bench.bench_heat:case_sample_city", a.timeout, n_meters=a.city_meters)
    print(f"\nWaste-heat balance: {n} data centres, {k} networks, 8,760 hours")
    print(f"{'case':<44}{'time [s]':>10}{'peak [MiB]':>12}{'used / demand':>15}")
    for label, r in (
        ("geoenergy.heat.analyse (hourly balance)", ours),
        ("spreadsheet: recoverable x season share", base),
        ("sample city (8 sites), analyse_files", city),
    ):
        if not r.ok:
            print(f"{label:<44}{'failed: ' + str(r.error):>37}")
            continue
        share = r.extra["used_mwh"] / r.extra["demand_mwh"] if r.extra["demand_mwh"] else np.nan
        print(f"{label:<44}{r.seconds:>10.2f}{r.peak_mib:>12.0f}{share:>15.2f}")
    if ours.ok and base.ok:
        print(
            f"ratio (ours / spreadsheet time): {ours.seconds / base.seconds:,.0f}x. Correctness: "
            f"ours uses {ours.extra['used_mwh']:,.0f} of {ours.extra['demand_mwh']:,.0f} MWh/yr "
            f"demand, networks over their demand: {ours.extra['over_demand']}; the spreadsheet "
            f"claims {base.extra['used_mwh']:,.0f} MWh/yr "
            f"({base.extra['used_mwh'] / base.extra['demand_mwh']:.1f}x the demand in reach)."
        )
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
