"""What a case page shows: the meter, its scores across runs, neighbours, history.

Pure query code, no HTTP. Addresses and coordinates are left out unless the
caller passes ``with_addresses=True`` (roles with ``cases.addresses``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from geoenergy.store import DetectionRun, Flag, Hotspot, Meter, Review
from geoenergy.web.actions import CaseNotFoundError, state_of
from geoenergy.web.queue import latest_run

__all__ = ["NEIGHBOUR_RADIUS_M", "CaseNotFoundError", "case_detail", "reasons_in_words"]

#: Radius around the meter in which other scored meters of the run are shown. [m]
NEIGHBOUR_RADIUS_M = 500.0
#: At most this many neighbours, nearest first.
MAX_NEIGHBOURS = 60
#: Metres per degree of latitude (mean, WGS84), for the neighbour box. [m]
M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class _Box:
    lon0: float
    lat0: float
    lon1: float
    lat1: float


def _box(lon: float, lat: float, radius_m: float) -> _Box:
    dlat = radius_m / M_PER_DEG_LAT
    dlon = radius_m / (M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 1e-6))
    return _Box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def _distance_m(lon0, lat0, lon1, lat1) -> float:
    """Equirectangular distance, fine at neighbourhood scale. [m]"""
    x = math.radians(lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    y = math.radians(lat1 - lat0)
    return math.hypot(x, y) * 6_371_008.8


def reasons_in_words(reasons) -> list[str]:
    """A flag's reasons as a list of sentences (stored as a list, or a dict of name: text)."""
    if isinstance(reasons, dict):
        return [f"{k}: {v}" for k, v in reasons.items()]
    return [str(x) for x in (reasons or [])]


def case_detail(session, meter_id: str, *, run_id: int | None, with_addresses: bool) -> dict:
    """Everything the case page shows.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    meter_id : str
        The case's meter.
    run_id : int or None
        The run whose flag is shown (reasons, onset, hotspot); default the
        latest run that scored the meter.
    with_addresses : bool
        Include the address, coordinates, neighbours and hotspot geometry.

    Returns
    -------
    dict
        ``meter`` (meter_id, customer_class, contracted_kw [kW],
        floor_area_m2 [m2], interval_s [s], and address/lon/lat),
        ``flag`` (the run's flag or None: run_id, score, rank, flagged,
        status, district, building_use, peer_group, onset_date, reasons,
        features, hotspot_id), ``history`` (one dict per run that scored the
        meter, newest first), ``state`` (:class:`~geoenergy.web.actions.CaseState`),
        ``reviews`` (actions, newest first), ``hotspot`` (id, label, n_flagged,
        and geometry as GeoJSON when with_addresses) and ``neighbours``.

    Raises
    ------
    CaseNotFoundError
        If no meter has this id.
    """
    meter = session.execute(
        sa.select(
            Meter.meter_id,
            Meter.address,
            Meter.customer_class,
            Meter.lon,
            Meter.lat,
            Meter.contracted_kw,
            Meter.floor_area_m2,
            Meter.interval_s,
            Meter.first_reading,
            Meter.last_reading,
            Meter.n_readings,
        ).where(Meter.meter_id == meter_id)
    ).first()
    if meter is None:
        raise CaseNotFoundError(f"there is no meter {meter_id!r} in the registry.")
    meter = meter._asdict()
    history = [
        r._asdict()
        for r in session.execute(
            sa.select(
                Flag.run_id,
                Flag.score,
                Flag.rank,
                Flag.flagged,
                Flag.status,
                DetectionRun.detector,
                DetectionRun.version,
                DetectionRun.started_at,
                DetectionRun.n_meters,
            )
            .join(DetectionRun, DetectionRun.id == Flag.run_id)
            .where(Flag.meter_id == meter_id)
            .order_by(Flag.run_id.desc())
        )
    ]
    if run_id is None:
        run_id = history[0]["run_id"] if history else latest_run(session)
    flag = session.scalar(sa.select(Flag).where(Flag.run_id == run_id, Flag.meter_id == meter_id))
    flag_d = None
    hotspot = None
    if flag is not None:
        flag_d = {
            "id": flag.id,
            "run_id": flag.run_id,
            "score": flag.score,
            "rank": flag.rank,
            "flagged": flag.flagged,
            "status": flag.status,
            "district": flag.district,
            "building_use": flag.building_use,
            "peer_group": flag.peer_group,
            "onset_date": flag.onset_date,
            "reasons": reasons_in_words(flag.reasons),
            "features": dict(flag.features or {}),
            "hotspot_id": flag.hotspot_id,
        }
        if flag.hotspot_id is not None:
            hotspot = _hotspot(session, flag.hotspot_id, with_geometry=with_addresses)
    rows = session.scalars(
        sa.select(Review).where(Review.meter_id == meter_id).order_by(Review.version)
    ).all()
    reviews = [
        {
            "version": r.version,
            "action": r.action,
            "status": r.status,
            "assignee": r.assignee,
            "outcome": r.outcome,
            "inspected_on": r.inspected_on,
            "note": r.note,
            "created_at": r.created_at,
            "created_by": r.created_by,
            "site_kind": r.site_kind,
            "measure": r.measure,
        }
        for r in reversed(rows)
    ]
    neighbours = []
    if with_addresses and run_id is not None:
        neighbours = _neighbours(session, meter, run_id)
    else:
        for k in ("address", "lon", "lat"):
            meter.pop(k)
    return {
        "meter": meter,
        "run_id": run_id,
        "flag": flag_d,
        "history": history,
        "state": state_of(meter_id, rows),
        "reviews": reviews,
        "hotspot": hotspot,
        "neighbours": neighbours,
    }


def _hotspot(session, hotspot_id: int, *, with_geometry: bool) -> dict | None:
    h = session.get(Hotspot, hotspot_id)
    if h is None:
        return None
    out = {"id": h.id, "label": h.label, "n_flagged": h.n_flagged, "geometry": None}
    if with_geometry:
        from geoalchemy2.shape import to_shape
        from shapely.geometry import mapping

        out["geometry"] = mapping(to_shape(h.geom))
    return out


def _neighbours(session, meter: dict, run_id: int) -> list[dict]:
    box = _box(meter["lon"], meter["lat"], NEIGHBOUR_RADIUS_M)
    stmt = (
        sa.select(
            Flag.meter_id, Flag.score, Flag.rank, Flag.flagged, Meter.lon, Meter.lat, Meter.address
        )
        .join(Meter, Meter.meter_id == Flag.meter_id)
        .where(Flag.run_id == run_id, Flag.meter_id != meter["meter_id"])
    )
    if session.get_bind().dialect.name == "postgresql":
        # Uses the GiST index on meters.geom.
        envelope = sa.func.ST_MakeEnvelope(box.lon0, box.lat0, box.lon1, box.lat1, 4326)
        stmt = stmt.where(Meter.geom.op("&&")(envelope))
    else:
        stmt = stmt.where(
            Meter.lon.between(box.lon0, box.lon1), Meter.lat.between(box.lat0, box.lat1)
        )
    out = []
    for r in session.execute(stmt):
        d = r._asdict()
        d["distance_m"] = _distance_m(meter["lon"], meter["lat"], d["lon"], d["lat"])
        if d["distance_m"] <= NEIGHBOUR_RADIUS_M:
            out.append(d)
    out.sort(key=lambda d: d["distance_m"])
    return out[:MAX_NEIGHBOURS]
