"""The monitoring page of the review app (roles ``monitor`` and ``admin``).

``/monitor`` shows the open alerts first (each can be acknowledged with a
note, audited), then the data centres on a map coloured by current
compliance (rolling 30-day PUE against its limit) and as a table;
``/monitor/dc/NAME`` shows one data centre's last 24 hours and 30 days:
facility and IT energy, PUE against its limit (inline SVG charts, as the case
page), the live surcharge estimate and its alerts. The data come from
:mod:`geoenergy.monitor`; this module only calls and presents.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from geoenergy.web.charts import line_chart

__all__ = ["router"]

router = APIRouter()

FormStr = Annotated[str | None, Form()]


def _colour(row: dict) -> str:
    if row["compliant"] is None:
        return "unknown"
    return "compliant" if row["compliant"] else "over"


@router.get("/monitor")
def monitor_page(request: Request):
    from geoenergy.monitor.alerts import alerts
    from geoenergy.monitor.pue import fleet_status
    from geoenergy.web.routes import render, require

    require(request, "monitor.view")
    web = request.app.state.web
    fleet = fleet_status(web.ws, store=web.store) if web.ws is not None else []
    fleet.sort(key=lambda r: (r["compliant"] is not False, r["name"]))
    rows = alerts(web.store)
    map_data = None
    if web.leaflet_dir is not None and fleet:
        map_data = {
            "tiles": web.tile_url,
            "attribution": web.tile_attribution,
            "sites": [
                {
                    "name": r["name"],
                    "lon": r["lon"],
                    "lat": r["lat"],
                    "state": _colour(r),
                    "pue": None if r["pue_30d"] is None else round(r["pue_30d"], 3),
                    "limit": r["limit"],
                    "url": f"/monitor/dc/{quote(r['name'], safe='')}",
                }
                for r in fleet
            ],
        }
    return render(
        request,
        "monitor.html",
        fleet=fleet,
        alerts=rows,
        n_open=sum(a["status"] == "open" for a in rows),
        map_data=map_data,
    )


def _local(index, tz) -> np.ndarray:
    return pd.DatetimeIndex(index).tz_convert(tz).tz_localize(None).to_numpy()


def _charts(frame: pd.DataFrame, step: int, tz, dc, cfg, now) -> list:
    from geoenergy.monitor.pue import periods
    from geoenergy.web.zone import zone_label

    charts = []
    for title, res, span in (
        ("last 24 hours", "hour", pd.Timedelta(hours=24)),
        ("last 30 days", "day", pd.Timedelta(days=30)),
    ):
        w = frame[frame.index >= now - span]
        t = periods(w, step, res, tz, dc, cfg)
        if t.empty:
            continue
        x = _local(t["start"], tz)
        unit = "kWh per hour" if res == "hour" else "MWh per day"
        div = 1.0 if res == "hour" else 1000.0
        charts.append(
            line_chart(
                x,
                [
                    ("facility", t["facility_kwh"].to_numpy(float) / div),
                    ("IT", t["it_kwh"].to_numpy(float) / div),
                ],
                title=f"Energy, {title} ({zone_label(tz)})",
                y_label=f"energy [{unit}]",
            )
        )
        charts.append(
            line_chart(
                x,
                [
                    ("PUE", t["pue"].to_numpy(float)),
                    ("limit", t["limit"].to_numpy(float)),
                ],
                title=f"PUE against its limit, {title} ({zone_label(tz)})",
                y_label="PUE [-]",
            )
        )
    return charts


@router.get("/monitor/dc/{name:path}")
def monitor_dc(request: Request, name: str):
    from geoenergy.monitor.alerts import alerts
    from geoenergy.monitor.pue import (
        annual_assessment,
        find_data_centre,
        limit_config,
        meter_frame,
        rolling,
    )
    from geoenergy.web.actions import CaseNotFoundError
    from geoenergy.web.routes import render, require

    require(request, "monitor.view")
    web = request.app.state.web
    dc = find_data_centre(web.ws, name, store=web.store) if web.ws is not None else None
    if dc is None:
        raise CaseNotFoundError(f"no monitored data centre named {name!r}.")
    cfg = limit_config(web.ws)
    now = pd.Timestamp(dt.datetime.now(dt.UTC))
    frame, step = meter_frame(web.ws, dc, now - pd.Timedelta(days=30), now, store=web.store)
    year = annual_assessment(web.ws, dc, now.tz_convert(web.tz).year, store=web.store, cfg=cfg)
    return render(
        request,
        "monitor_dc.html",
        dc=dc,
        charts=_charts(frame, step, web.tz, dc, cfg, now),
        roll=rolling(frame, step, now, dc, cfg),
        year=year,
        alerts=alerts(web.store, data_centre=dc.name),
    )


@router.post("/monitor/alerts/{alert_id}/ack")
def monitor_ack(
    request: Request,
    alert_id: int,
    csrf_token: FormStr = None,
    note: FormStr = None,
    back: FormStr = None,
):
    from geoenergy.monitor.alerts import AlertError, acknowledge
    from geoenergy.web.routes import _csrf, _flash, _safe_next, require

    user = require(request, "monitor.ack")
    _csrf(request, csrf_token)
    try:
        acknowledge(request.app.state.web.store, alert_id, user=user.name, note=note or "")
        _flash(request, f"Alert #{alert_id} acknowledged.")
    except AlertError as exc:
        _flash(request, f"Not acknowledged: {exc}")
    return RedirectResponse(_safe_next(back or "/monitor"), status_code=303)
