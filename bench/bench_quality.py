"""Benchmark: how well the mining detectors rank a synthetic city, against IsolationForest.

For each seed a synthetic population is simulated
(:func:`geoenergy.samplecity.generate_population`: ~1,600 meters, hourly,
2023-10-01..2024-02-01 over the start of the heating season, 4 % miners in
eight disguises among nine kinds of confounders, a third of the miners
labelled). Every detector is fitted through :class:`detectors.MiningModel`
and scores the same meters:

- ``rule``, ``unsupervised`` and the baseline are scored on all meters;
- ``supervised`` is trained on the inspection labels and scored on the
  meters *without* a label (the honest figure: it has seen the others);
- the baseline is what an analyst would otherwise pick: scikit-learn's
  ``IsolationForest`` on the same features (plus the peer-group code),
  wrapped in the same model.

Printed per detector and seed: average precision (AP), ROC AUC,
precision at 20/50/100 inspections, the number flagged and their precision,
fit + score time without reasons [s]; then, per archetype, how many of each confounder reach
the top 100 and the recall at 100 of each mining disguise. A final table
checks the quality targets (unsupervised AP >= 0.80 with at least 18 miners
in its top 20; supervised AP >= 0.95 on the unlabelled meters with its top
20 all mining), and with several populations the mean and worst case of every
figure across them.

Run alone::

    python -m bench.bench_quality                     # seeds 1 2 3 + a variant
    python -m bench.bench_quality --seeds 1 2 3 4 5 --variants   # + every variant
    python -m bench.bench_quality --seeds 4 5 --no-variant
    python -m bench.bench_quality --meters 400 --small   # smoke run
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from bench._common import CaseResult, Row, peak_rss_mib

DETECTOR_NAMES = ("rule", "unsupervised", "supervised", "isolation_forest")
TARGETS = {
    "unsupervised": {"average_precision": 0.80, "mining_in_top_20": 18},
    "supervised": {"average_precision": 0.95, "mining_in_top_20": 20},
}
"""Quality targets of the issue, per detector."""

VARIANT = {"start": "2023-11-01", "end": "2024-03-01", "mining_share": 0.025}
"""The variant population: another season window (heating on from the 15th day) and
fewer miners, so a detector tuned to the default span shows it."""

VARIANTS = {
    "nov-mar 2.5 %": {"seed": 101, **VARIANT},
    "oct15-feb15": {"seed": 201, "start": "2023-10-15", "end": "2024-02-15"},
    "nov-mar": {"seed": 202, "start": "2023-11-01", "end": "2024-03-01"},
    "mining 3 %": {"seed": 203, "mining_share": 0.03},
    "mining 5 %": {"seed": 204, "mining_share": 0.05},
    "1,200 meters": {"seed": 205, "meters": 1200},
    "2,400 meters": {"seed": 206, "meters": 2400},
}
"""``--variants``: populations that differ from the default in season window, share of
miners and size (each with its own seed; unspecified settings as the default run)."""


def _population(seed, meters, start, end, mining_share):
    from geoenergy.samplecity import generate_population

    return generate_population(
        n_meters=meters,
        start=start,
        end=end,
        seed=int(seed),
        mining_share=mining_share,
        labelled_share=1 / 3,
    )


def _model(name):
    from detectors import MiningModel

    if name == "isolation_forest":
        from sklearn.ensemble import IsolationForest
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        est = make_pipeline(
            SimpleImputer(strategy="median"), IsolationForest(random_state=0, contamination=0.02)
        )
        return MiningModel(est)
    return MiningModel(name)


def evaluate_population(pop, *, k=(20, 50, 100), log=print) -> tuple[pd.DataFrame, dict]:
    """Fit and score every detector on one population.

    Returns
    -------
    summary : DataFrame
        One row per detector: AP, ROC AUC, precision at each ``k``, mining in
        the top 20, flagged, flagged precision, seconds.
    per_kind : dict of str to DataFrame
        :func:`detectors.evaluate.breakdown` (k=100) per detector.
    """
    from detectors.evaluate import breakdown, evaluate

    truth = pop.truth.set_index("meter_id")
    labelled = set(pop.labels["meter_id"])
    rows, kinds = [], {}
    for name in DETECTOR_NAMES:
        t0 = time.perf_counter()
        model = _model(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(pop.readings, pop.registry, weather=pop.weather, labels=pop.labels)
            result = model.score(pop.readings, pop.registry, weather=pop.weather, reasons=False)
        seconds = time.perf_counter() - t0
        if name == "supervised":
            result = result[~result["meter_id"].isin(labelled)]
        y = truth.loc[result["meter_id"], "is_mining"].to_numpy(bool)
        s = result["score"].to_numpy(float)
        m = evaluate(y, s, k=k)
        top20 = int(y[np.argsort(-np.nan_to_num(s, nan=-1.0), kind="stable")[:20]].sum())
        flagged = result["flagged"].to_numpy(bool)
        rows.append(
            {
                "detector": name,
                "scored_on": "unlabelled" if name == "supervised" else "all",
                "n": len(y),
                "mining": int(y.sum()),
                "AP": m["average_precision"],
                "ROC_AUC": m["roc_auc"],
                **{f"P@{kk}": m[f"precision_at_{kk}"] for kk in k},
                "mining_in_top_20": top20,
                "flagged": int(flagged.sum()),
                "flag_precision": float(y[flagged].mean()) if flagged.any() else float("nan"),
                "seconds": seconds,
            }
        )
        kinds[name] = breakdown(y, s, truth.loc[result["meter_id"], "archetype"], k=100)
        log(f"    {name:17s} AP {m['average_precision']:.3f}  ({seconds:.1f} s)")
    return pd.DataFrame(rows).set_index("detector"), kinds


def _archetype_table(kinds: dict) -> pd.DataFrame:
    """Confounders in the top 100 and recall@100 of each disguise, detectors side by side."""
    from geoenergy.samplecity import ARCHETYPES

    cols = {}
    for name, b in kinds.items():
        col = {}
        for arch, (role, _, _) in ARCHETYPES.items():
            if arch not in b.index or role == "normal":
                continue
            r = b.loc[arch]
            if role == "mining":
                found, n = int(r["mining_in_top_k"]), int(r["n_mining"])
                col[arch] = f"recall {found / n:.2f} ({found}/{n})"
            else:
                col[arch] = f"{int(r['in_top_k'])}/{int(r['n'])} in top 100"
        cols[name] = col
    return pd.DataFrame(cols)


_WORST_IS_MAX = ("seconds",)


def across_populations(results: dict) -> pd.DataFrame:
    """Mean and worst case of every figure per detector over the populations run.

    Worst is the minimum for quality figures (AP, AUC, precision, miners in the top
    20) and the maximum for the time.
    """
    frames = [r["summary"] for r in results.values() if "summary" in r]
    if not frames:
        return pd.DataFrame()
    cols = ["AP", "ROC_AUC", *[c for c in frames[0].columns if c.startswith("P@")]]
    cols += ["mining_in_top_20", "seconds"]
    allp = pd.concat(frames)[cols]
    g = allp.groupby(level=0, sort=False)
    worst = g.min()
    for c in _WORST_IS_MAX:
        worst[c] = g[c].max()
    return pd.concat({"mean": g.mean(), "worst": worst}, axis=1)


def check_targets(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows ``detector x target`` with the measured value and whether it is met."""
    out = []
    for det, targets in TARGETS.items():
        if det not in summary.index:
            continue
        got_ap = float(summary.loc[det, "AP"])
        got_top = int(summary.loc[det, "mining_in_top_20"])
        out.append(
            {
                "detector": det,
                "target": f"AP >= {targets['average_precision']:.2f}",
                "measured": f"{got_ap:.3f}",
                "met": got_ap >= targets["average_precision"],
            }
        )
        out.append(
            {
                "detector": det,
                "target": f"top 20 mining >= {targets['mining_in_top_20']}",
                "measured": str(got_top),
                "met": got_top >= targets["mining_in_top_20"],
            }
        )
    return pd.DataFrame(out)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_quality", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="population seeds")
    p.add_argument("--meters", type=int, default=1600, help="meters per population")
    p.add_argument("--start", default="2023-10-01", help="first local day")
    p.add_argument("--end", default="2024-02-01", help="day after the last")
    p.add_argument("--mining-share", type=float, default=0.04, help="share of miners")
    p.add_argument("--no-variant", action="store_true", help="skip the variant population")
    p.add_argument(
        "--variants",
        action="store_true",
        help="run every population of VARIANTS (season windows, mining shares, sizes)",
    )
    p.add_argument("--small", action="store_true", help="smoke run: one seed, 400 meters, 6 weeks")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Run the quality benchmark and print its tables; returns the figures per population."""
    args = parse_args(argv)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    runs = [
        (f"seed {s}", s, args.start, args.end, args.mining_share, args.meters) for s in args.seeds
    ]
    if args.small:
        args.meters = min(args.meters, 400)
        runs = [("small", args.seeds[0], "2023-11-01", "2023-12-15", args.mining_share, 400)]
    elif args.variants:
        for label, v in VARIANTS.items():
            runs.append(
                (
                    f"variant {label}",
                    v["seed"],
                    v.get("start", args.start),
                    v.get("end", args.end),
                    v.get("mining_share", args.mining_share),
                    v.get("meters", args.meters),
                )
            )
    elif not args.no_variant:
        v = VARIANT
        runs.append(
            (
                f"variant seed {args.seeds[0] + 100}",
                args.seeds[0] + 100,
                v["start"],
                v["end"],
                v["mining_share"],
                args.meters,
            )
        )
    results = {}
    t_all = time.perf_counter()
    for label, seed, start, end, share, meters in runs:
        print(f"[{label}] {meters} meters, {start}..{end}, mining share {share:.3f}")
        pop = _population(seed, meters, start, end, share)
        summary, kinds = evaluate_population(pop)
        results[label] = {"summary": summary, "per_kind": kinds}
        print(summary.round(3).to_string())
        print("per archetype (top 100 / recall@100):")
        print(_archetype_table(kinds).to_string())
        print()
    across = across_populations(results)
    if len(results) > 1:
        print("across populations (mean and worst case):")
        print(across.round(3).to_string())
        print()
    print("quality targets:")
    table = []
    for label, r in results.items():
        t = check_targets(r["summary"])
        t.insert(0, "population", label)
        table.append(t)
    targets = pd.concat(table, ignore_index=True) if table else pd.DataFrame()
    print(targets.to_string(index=False))
    print(
        f"\ntotal {time.perf_counter() - t_all:.0f} s, peak memory {peak_rss_mib():,.0f} MiB "
        "(this process)"
    )
    results["targets"] = targets
    results["across"] = across
    return results


def run(data=None, work=None, *, log=print, timeout: float | None = None) -> list[Row]:
    """``python -m bench quality``: seed 1 at the default size, as report rows.

    ``data`` and ``work`` (the readings size of the other benchmarks) are not
    used: quality is measured on the synthetic city. "ours" is the
    unsupervised detector, "baseline" IsolationForest on the same features;
    the notes carry AP and precision at 20.
    """
    pop = _population(1, 1600, "2023-10-01", "2024-02-01", 0.04)
    summary, _ = evaluate_population(pop, log=log)
    rows = []
    readings = int(pop.readings.sizes["meter"] * pop.readings.sizes["time"])
    base = summary.loc["isolation_forest"]
    for det in ("rule", "unsupervised", "supervised"):
        r = summary.loc[det]
        rows.append(
            Row(
                f"quality {det}",
                CaseResult(r["seconds"], None, rows=readings, extra={"ap": r["AP"]}),
                CaseResult(base["seconds"], None, rows=readings, extra={"ap": base["AP"]}),
                note=(
                    f"AP {r['AP']:.3f} vs {base['AP']:.3f}; P@20 {r['P@20']:.2f} vs "
                    f"{base['P@20']:.2f} ({r['scored_on']} meters)"
                ),
            )
        )
    return rows


if __name__ == "__main__":
    main()
