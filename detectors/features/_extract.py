"""The driver: readings in, the feature table out.

:func:`extract_features` checks its arguments (:mod:`detectors.features._checks`),
runs the kernel over all meters (:func:`detectors.features._kernel.block_features`:
slices on threads for an in-memory array, chunk by chunk for dask: one
meter chunk at a time, all of its time steps) and assembles the table:
the :data:`~detectors.features.FEATURES` columns in registry order, the
peer level (:mod:`detectors.features._peers`), the ``status`` texts with
the features a meter could not have and why, and the onset date. A meter's
features never depend on the other meters of the batch, except
``level_vs_peer``, ``base_step_vs_peer`` and ``night_floor_vs_peer`` when no
:class:`~detectors.features.PeerReference` is given (the peer medians are
then taken from the batch itself).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.features import _kernel as kernel
from detectors.features._checks import _check_extract_features
from detectors.features._peers import peer_reference
from detectors.features._registry import _ONLY, FEATURES, HEATING_SEASON


def extract_features(
    ds,
    *,
    weather=None,
    groups=None,
    peer_reference=None,
    valley_hours=(23, 7),
    min_days: int = 14,
    min_group_size: int = 20,
    contracted_kw=None,
    heating_season=HEATING_SEASON,
    latitude: float = 39.9,
    longitude: float = 116.4,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Load-signature features of every meter, one row per meter.

    Parameters
    ----------
    ds : xarray.Dataset
        Variable ``kwh`` [kWh per step], dims ``("meter", "time")``, as from
        :func:`geoenergy.readings.open_readings`: ``time`` naive UTC (start of
        step), a ``local_time`` coordinate (naive local time) and
        ``attrs["timezone"]``, ``attrs["step_s"]`` [s]. Without
        ``local_time``, ``time`` is converted to ``attrs["timezone"]``;
        without either it is taken as local time. Steps finer than 1 h are
        summed into hours (an hour is missing unless all its readings are
        present); a daily dataset, or meters whose ``interval_s`` coordinate
        is above 3600 s, get the daily features only (status
        ``daily_only``). NumPy- or dask-backed; dask arrays are processed
        chunk by chunk over meters (time is merged into one chunk).
    weather : DataFrame, optional
        ``date`` (local date) and ``temp_c`` (daily mean air temperature
        [degC]). Without it the temperature features are NaN.
    groups : DataFrame or Series, optional
        Peer-group columns, coarsest first (``customer_class``, then e.g.
        ``district`` or ``building_use``), indexed by meter id or with a
        ``meter_id`` column. None uses the ``customer_class`` coordinate of
        ``ds`` when present, else one group of all meters.
    peer_reference : PeerReference, optional
        Peer medians from :func:`peer_reference` (for example from the
        training data of a saved model), so ``level_vs_peer`` does not depend
        on the batch. None computes them from this batch.
    valley_hours : (int, int), default (23, 7)
        Local start and end hour of the valley tariff, ``[start, end)``;
        may wrap midnight.
    min_days : int, default 14
        Complete days a meter needs (at least 14: the step search needs 7 on
        each side); fewer gives status ``insufficient_data``.
    min_group_size : int, default 20
        Smallest peer group whose median is used (when computing the
        reference from this batch).
    contracted_kw : Series or mapping, optional
        Contracted power per meter id [kW]; None uses a ``contracted_kw``
        coordinate of ``ds`` when present.
    heating_season : ((int, int), (int, int)), default ((11, 15), (3, 15))
        First and last (month, day) of the heating season.
    latitude, longitude : float, default 39.9, 116.4
        Where the sun rises and sets for ``darkness_corr`` [deg north, deg
        east] (Beijing by default; a city's extent changes it by minutes).
    n_jobs : int, default -1
        Threads over slices of meters for an in-memory array (-1: one per
        core; 1: none). The kernels are NumPy reductions that release the GIL,
        so threads share the work without copying it; the result is the same
        whatever the number. A dask array is computed by dask's scheduler
        instead (its blocks are the unit of parallel work).

    Returns
    -------
    DataFrame
        Indexed by meter id (``"meter_id"``): the :data:`FEATURES` columns in
        registry order, ``status`` (str, see :data:`STATUSES`) and
        ``onset_date`` (local date of a detected step onset, NaT if none).
        ``attrs["not_computed"]`` maps features NaN for the whole batch to
        the reason (no weather, no contracted power, span outside the
        heating season).

    Examples
    --------
    >>> feats = extract_features(pop.readings, weather=pop.weather)  # doctest: +SKIP
    >>> feats.loc[feats.status.str.startswith("ok"), "night_day_ratio"].describe()  # doctest: +SKIP
    """
    args = _check_extract_features(
        ds,
        weather,
        groups,
        peer_reference,
        valley_hours,
        min_days,
        min_group_size,
        contracted_kw,
        heating_season,
        latitude,
        longitude,
        n_jobs,
    )
    kwh, meter_ids, cal, row_interval, groups, contracted, threads = args
    opts = kernel.Options(
        valley_hours=(int(valley_hours[0]), int(valley_hours[1])),
        min_days=int(min_days),
    )
    out = _compute(kwh, cal, opts, row_interval, threads)
    return _assemble(
        out,
        meter_ids,
        cal,
        groups,
        peer_reference,
        int(min_group_size),
        contracted,
        int(min_days),
    )


def _compute(kwh, cal, opts, row_interval: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """The kernel over all meters: (n_meters, len(kernel.COLUMNS)) float64."""
    k = len(kernel.COLUMNS)
    if _is_dask(kwh):
        import dask.array as da

        x = kwh if len(kwh.chunks[1]) == 1 else kwh.rechunk({1: -1})
        iv = da.from_array(row_interval[:, None], chunks=(x.chunks[0], (1,)))
        res = da.map_blocks(
            _block,
            x,
            iv,
            cal=cal,
            opts=opts,
            chunks=(x.chunks[0], (k,)),
            dtype=np.float64,
            meta=np.empty((0, 0), dtype=np.float64),
        )
        return np.asarray(res.compute())
    return kernel.block_features(np.asarray(kwh), cal, opts, row_interval, n_jobs=n_jobs)


def _block(x, iv, *, cal, opts):
    return kernel.block_features(np.asarray(x, dtype=np.float64), cal, opts, iv[:, 0])


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


def _assemble(out, meter_ids, cal, groups, ref, min_group_size, contracted, min_days):
    """Kernel output -> the feature table: status texts, peer level, onset dates.

    Works on NumPy arrays (loops over features and statuses, never over
    meters) and builds the DataFrame once at the end.
    """
    col = {c: i for i, c in enumerate(kernel.COLUMNS)}
    names = list(FEATURES)
    fcol = {name: j for j, name in enumerate(names)}
    n = len(meter_ids)
    index = pd.Index(meter_ids, name="meter_id")
    feats = np.full((n, len(names)), np.nan)
    for name, j in fcol.items():
        if name in col:
            feats[:, j] = out[:, col[name]]
    code = out[:, col["_status"]].astype(int)
    n_days = out[:, col["_n_days"]]
    n_neg = out[:, col["_n_negative"]]
    mean_kw = feats[:, fcol["mean_kw"]]

    not_computed: dict[str, str] = {}
    n_temp = 0 if cal.temp is None else int(np.isfinite(cal.temp).sum())
    if n_temp < min_days:
        reason = (
            "no weather given (pass weather=DataFrame with date, temp_c)"
            if cal.temp is None
            else f"weather covers {n_temp} days of the span, need {min_days}"
        )
        not_computed["temperature_sensitivity"] = reason
        not_computed["temperature_sensitivity_rel"] = reason
        not_computed["temperature_corr"] = reason
    if not cal.heating.any() or cal.heating.all():
        not_computed["heating_season_ratio"] = (
            "the time span does not cover days both inside and outside the heating season"
        )
    if cal.daily:
        for name in kernel.HOURLY_FEATURES:
            not_computed[name] = "the dataset is daily; hourly features need 1 h readings"
    with np.errstate(divide="ignore", invalid="ignore"):
        if contracted is None:
            not_computed["contract_utilisation"] = (
                "no contracted power (pass contracted_kw=registry.set_index('meter_id')"
                ".contracted_kw)"
            )
        else:
            c = contracted.to_numpy(dtype=float)
            feats[:, fcol["contract_utilisation"]] = np.where(c > 0, mean_kw / c, np.nan)

    # status texts (vectorised over meters, loops over statuses and features only)
    status = np.full(n, "ok", dtype=object)
    status[code == kernel.DAILY_ONLY] = "daily_only: hourly features need readings of 1 h or finer"
    status[code == kernel.ZERO_LOAD] = "zero_load: every reading is 0 kWh"
    neg = code == kernel.NEGATIVE
    status[neg] = (
        "negative_readings: "
        + n_neg[neg].astype(int).astype(str).astype(object)
        + " readings below 0 kWh"
    )
    ins = code == kernel.INSUFFICIENT
    status[ins] = (
        "insufficient_data: "
        + n_days[ins].astype(int).astype(str).astype(object)
        + f" complete days of data, need {min_days}"
    )
    status[code == kernel.NO_DATA] = "no_data: every reading is missing"

    # peer level: reference from the batch unless given
    if ref is None:
        light = pd.DataFrame({"mean_kw": mean_kw, "status": status}, index=index)
        ref = peer_reference(light, groups, min_group_size=min_group_size)
    median = np.full(n, ref.overall[0]) if groups is None else ref.lookup(groups)[0].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        feats[:, fcol["level_vs_peer"]] = np.where(median > 0, mean_kw / median, np.nan)
        feats[:, fcol["base_step_vs_peer"]] = np.where(
            median > 0, out[:, col["_base_step_kw"]] / median, np.nan
        )
        feats[:, fcol["night_floor_vs_peer"]] = np.where(
            median > 0, out[:, col["_night_floor_kw"]] / median, np.nan
        )

    # features a status does not keep
    for st, keep in _ONLY.items():
        rows = code == kernel.STATUS_CODES[st]
        if rows.any():
            drop = [fcol[f] for f in names if f not in keep]
            feats[np.ix_(rows, drop)] = np.nan
    daily_rows = code == kernel.DAILY_ONLY
    hourly_cols = [fcol[f] for f in kernel.HOURLY_FEATURES]
    if daily_rows.any():
        feats[np.ix_(daily_rows, hourly_cols)] = np.nan

    # name the features NaN for a usable meter, beyond the batch-level reasons
    usable = (code == kernel.OK) | daily_rows
    notes = np.full(n, "", dtype=object)
    missing = np.isnan(feats)
    for name, j in fcol.items():
        if name in not_computed:
            continue
        rows = usable & ~daily_rows if name in kernel.HOURLY_FEATURES else usable
        miss = rows & missing[:, j]
        if miss.any():
            why = _NAN_REASONS.get(name, "not computable from the readings present")
            notes[miss] = notes[miss] + np.where(notes[miss] == "", "", ", ") + f"{name} ({why})"
    has = notes != ""
    status[has] = status[has] + "; not computed: " + notes[has]

    onset = out[:, col["_onset_day"]]
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok_on = np.isfinite(onset) & usable
    dates[ok_on] = cal.dates[onset[ok_on].astype(int)].astype("datetime64[ns]")

    frame = pd.DataFrame(feats, index=index, columns=names)
    frame["status"] = status
    frame["onset_date"] = dates
    frame.attrs["not_computed"] = not_computed
    return frame


_NAN_REASONS = {
    "contract_utilisation": "contracted power unknown for this meter",
    "level_vs_peer": "peer median is 0 or unknown",
    "valley_night_cv": "needs 7 nights between complete days and non-zero valley energy",
    "daily_periodicity": "needs 7 complete days and a non-zero mean profile",
    "weekly_periodicity": "needs 2 complete days of every weekday",
    "day_to_day_variability": "needs 7 pairs of consecutive complete days",
    "temperature_sensitivity": "fewer than min_days complete days with a temperature",
    "temperature_sensitivity_rel": "fewer than min_days complete days with a temperature",
    "temperature_corr": "fewer than min_days complete days with a temperature",
    "heating_season_ratio": "needs 7 complete days inside and 7 outside the heating season",
    "intermittency": "needs 7 pairs of consecutive complete days",
    "night_day_ratio": "no complete day",
    "darkness_corr": "needs 7 complete days",
    "night_floor_vs_peer": "peer median is 0 or unknown",
    "floor_bimodality": "needs 14 complete days",
}
