"""A short account of what a workspace holds (for ``geoenergy status`` and the demo)."""

from __future__ import annotations

import sqlalchemy as sa

from geoenergy.store import Ingest, InspectionLabel, Layer, Meter, RejectedRow, Weather, redact_url


def workspace_summary(ws, store) -> dict[str, object]:
    """Counts of meters, readings, labels, weather days, layers and quarantined rows."""
    store.check()
    out: dict[str, object] = {"store": redact_url(ws.db_url), "time zone": ws.settings.timezone}
    with store.session() as s:
        n_meters = s.scalar(sa.select(sa.func.count()).select_from(Meter))
        n_with = s.scalar(
            sa.select(sa.func.count()).select_from(Meter).where(Meter.n_readings > 0)
        )
        n_readings = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(Meter.n_readings), 0)))
        first = s.scalar(sa.select(sa.func.min(Meter.first_reading)))
        last = s.scalar(sa.select(sa.func.max(Meter.last_reading)))
        by_class = s.execute(
            sa.select(Meter.customer_class, sa.func.count()).group_by(Meter.customer_class)
        ).all()
        labels = s.execute(
            sa.select(InspectionLabel.label, sa.func.count()).group_by(InspectionLabel.label)
        ).all()
        n_weather = s.scalar(sa.select(sa.func.count()).select_from(Weather))
        layers = s.execute(sa.select(Layer.kind, Layer.name, Layer.n_features)).all()
        n_ingests = s.scalar(sa.select(sa.func.count()).select_from(Ingest))
        n_rejected = s.scalar(sa.select(sa.func.count()).select_from(RejectedRow))
    out["meters"] = f"{n_meters:,} ({n_with:,} with readings)"
    out["meters by class"] = ", ".join(f"{c} {n:,}" for c, n in sorted(by_class)) or "-"
    span = f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC" if first else "-"
    out["readings"] = f"{n_readings:,} ({span})"
    rs = ws.readings
    files = rs.files()
    size = sum(p.stat().st_size for ps in files.values() for p in ps if p.exists())
    out["readings store"] = (
        f"{sum(len(v) for v in files.values())} Parquet files, {size / 1e6:.1f} MB in {rs.path}"
    )
    out["inspection labels"] = ", ".join(f"{lab} {n:,}" for lab, n in sorted(labels)) or "-"
    out["weather days"] = f"{n_weather:,}"
    out["layers"] = ", ".join(f"{k} ({n:,})" for k, _name, n in sorted(layers)) or "-"
    out["ingestions"] = f"{n_ingests:,}"
    out["rejected rows"] = f"{n_rejected:,}" + (" (`geoenergy rejected`)" if n_rejected else "")
    return out
