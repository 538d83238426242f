"""What :func:`detectors.features.extract_features` accepts, and the fix when it does not.

One check per entry point (:func:`_check_extract_features`), with helpers
for the weather table, the heating season and the contracted power. A bad
argument raises ``TypeError`` or ``ValueError`` naming the argument, the
value received, what is allowed and how to fix it. The check also resolves
what the kernel needs: the :class:`~detectors.features._calendar.Calendar`,
each meter's reading interval, the peer groups and the number of threads.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from detectors.features._calendar import build_calendar
from detectors.features._peers import PeerReference, _check_groups_match, _normalise_groups


def _check_extract_features(
    ds,
    weather,
    groups,
    ref,
    valley_hours,
    min_days,
    min_group_size,
    contracted_kw,
    heating_season,
    latitude,
    longitude,
    n_jobs,
):
    import os

    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(
            f"ds must be an xarray.Dataset with variable 'kwh', got {type(ds).__name__}; "
            "open one with geoenergy.readings.open_readings(ws) or wrap a DataArray with "
            "da.to_dataset(name='kwh')."
        )
    if "kwh" not in ds.data_vars:
        raise ValueError(
            f"ds has no variable 'kwh' (it has {sorted(map(str, ds.data_vars))}); rename the "
            "energy variable, e.g. ds.rename({'energy': 'kwh'})."
        )
    kwh = ds["kwh"]
    if kwh.dims != ("meter", "time"):
        fix = (
            "ds.transpose('meter', 'time')"
            if set(kwh.dims) == {"meter", "time"}
            else "ds.rename({...}) to dims ('meter', 'time')"
        )
        raise ValueError(f"ds.kwh must have dims ('meter', 'time'), got {kwh.dims}; use {fix}.")
    if not np.issubdtype(kwh.dtype, np.number) or np.issubdtype(kwh.dtype, np.complexfloating):
        raise TypeError(
            f"ds.kwh must be numeric [kWh], got dtype {kwh.dtype}; convert with "
            "ds['kwh'] = ds.kwh.astype('float64')."
        )
    if ds.sizes["time"] < 1:
        raise ValueError("ds has no time step (dim 'time' has size 0); select a time span.")
    if not (
        isinstance(valley_hours, tuple | list)
        and len(valley_hours) == 2
        and all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and 0 <= h <= 23
            for h in valley_hours
        )
        and valley_hours[0] != valley_hours[1]
    ):
        raise ValueError(
            f"valley_hours must be two different whole local hours (start, end) in 0..23, "
            f"got {valley_hours!r}; e.g. (23, 7) for 23:00-07:00."
        )
    if isinstance(min_days, bool) or not isinstance(min_days, numbers.Integral) or min_days < 14:
        raise ValueError(
            f"min_days must be an int of at least 14 (the step search needs 7 complete days "
            f"on each side), got {min_days!r}."
        )
    if not isinstance(latitude, numbers.Real) or not -66.0 < float(latitude) < 66.0:
        raise ValueError(
            f"latitude must be a number of degrees north between -66 and 66 (beyond the polar "
            f"circles the sun need not set), got {latitude!r}."
        )
    if not isinstance(longitude, numbers.Real) or not -180.0 <= float(longitude) <= 180.0:
        raise ValueError(
            f"longitude must be a number of degrees east between -180 and 180, got {longitude!r}."
        )
    season = _check_heating_season(heating_season)
    if ref is not None and not isinstance(ref, PeerReference):
        raise TypeError(
            f"peer_reference must be a PeerReference from peer_reference(...) or "
            f"PeerReference.from_dict(...), got {type(ref).__name__}."
        )
    if (
        isinstance(min_group_size, bool)
        or not isinstance(min_group_size, numbers.Integral)
        or min_group_size < 1
    ):
        raise ValueError(f"min_group_size must be a positive int, got {min_group_size!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be a positive number of threads or -1 (one per core), got {n_jobs!r}."
        )
    if n_jobs > 0:
        threads = int(n_jobs)
    elif hasattr(os, "sched_getaffinity"):  # the cores this process may run on
        threads = len(os.sched_getaffinity(0))
    else:
        threads = os.cpu_count() or 1

    meter_ids = np.asarray(ds["meter"].values).astype(str)
    if pd.Index(meter_ids).has_duplicates:
        raise ValueError("ds.meter has duplicate meter ids; each meter must appear once.")
    temp = _check_weather(weather)

    cal = build_calendar(
        ds,
        temp=temp,
        heating_season=season,
        latitude=float(latitude),
        longitude=float(longitude),
    )

    if "interval_s" in ds.coords and ds["interval_s"].dims == ("meter",):
        row_interval = np.asarray(ds["interval_s"].values, dtype=np.float64)
        row_interval = np.where(row_interval > 0, row_interval, cal.step_s)
    else:
        row_interval = np.full(len(meter_ids), float(cal.step_s))

    # The customer_class coordinate stands in for groups, unless a given reference
    # was built without it (then every meter is compared with all meters).
    uses_class = ref is None or ref.columns[:1] == ("customer_class",)
    if (
        groups is None
        and uses_class
        and "customer_class" in ds.coords
        and ds["customer_class"].dims == ("meter",)
    ):
        groups = pd.DataFrame(
            {"customer_class": np.asarray(ds["customer_class"].values).astype(str)},
            index=meter_ids,
        )
    groups = _normalise_groups(groups, pd.Index(meter_ids))
    if ref is not None and groups is not None:
        _check_groups_match(ref, groups)

    contracted = _check_contracted(contracted_kw, ds, meter_ids)
    return kwh.data, meter_ids, cal, row_interval, groups, contracted, threads


def _check_heating_season(season):
    try:
        (m0, d0), (m1, d1) = season
        pd.Timestamp(2024, int(m0), int(d0))
        pd.Timestamp(2024, int(m1), int(d1))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"heating_season must be ((month, day), (month, day)) of its first and last day, "
            f"got {season!r}; e.g. ((11, 15), (3, 15))."
        ) from exc
    return (int(m0), int(d0)), (int(m1), int(d1))


def _check_weather(weather):
    if weather is None:
        return None
    if not isinstance(weather, pd.DataFrame):
        raise TypeError(
            f"weather must be a DataFrame with columns date, temp_c [degC], got "
            f"{type(weather).__name__}."
        )
    missing = {"date", "temp_c"} - set(weather.columns)
    if missing:
        raise ValueError(
            f"weather lacks the column(s) {sorted(missing)} (it has {list(weather.columns)}); "
            "it needs date (local date) and temp_c (daily mean [degC])."
        )
    try:
        dates = pd.to_datetime(weather["date"]).dt.normalize()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"weather.date must hold dates like '2023-11-15': {exc}; fix or drop those rows."
        ) from exc
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    temp = pd.to_numeric(weather["temp_c"], errors="coerce")
    bad = temp.isna() & weather["temp_c"].notna()
    if bad.any():
        raise ValueError(
            f"weather.temp_c must be numbers [degC]; {int(bad.sum())} value(s) are not, e.g. "
            f"{weather.loc[bad, 'temp_c'].iloc[0]!r}."
        )
    if dates.duplicated().any():
        d = dates[dates.duplicated()].iloc[0]
        raise ValueError(
            f"weather lists the date {d.date()} more than once; give one daily mean per date."
        )
    return pd.Series(temp.to_numpy(dtype=float), index=pd.DatetimeIndex(dates))


def _check_contracted(contracted_kw, ds, meter_ids):
    if contracted_kw is None:
        if "contracted_kw" in ds.coords and ds["contracted_kw"].dims == ("meter",):
            return pd.Series(np.asarray(ds["contracted_kw"].values, dtype=float), index=meter_ids)
        return None
    if isinstance(contracted_kw, dict):
        contracted_kw = pd.Series(contracted_kw)
    if not isinstance(contracted_kw, pd.Series):
        raise TypeError(
            "contracted_kw must be a Series or dict {meter_id: kW}, got "
            f"{type(contracted_kw).__name__}; e.g. registry.set_index('meter_id').contracted_kw."
        )
    s = pd.to_numeric(contracted_kw, errors="coerce")
    s.index = s.index.astype(str)
    if s.index.has_duplicates:
        raise ValueError("contracted_kw lists some meter ids more than once; keep one per meter.")
    return s.reindex(meter_ids)
