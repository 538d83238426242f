"""Ingestion of the data-contract files into a workspace.

Each ``ingest_*`` function streams one file, validates every row, keeps the
good rows, quarantines the bad ones with their reason, and commits in one
transaction. Re-ingesting the same file changes nothing.
"""

from geoenergy.ingest.core import IngestReport
from geoenergy.ingest.layers import ingest_layer
from geoenergy.ingest.readings import ingest_readings
from geoenergy.ingest.sources import open_table
from geoenergy.ingest.tables import ingest_labels, ingest_registry, ingest_weather

INGESTERS = {
    "readings": ingest_readings,
    "registry": ingest_registry,
    "labels": ingest_labels,
    "weather": ingest_weather,
}
"""``{kind: function}``: one registry drives the CLI and the docs."""

__all__ = [
    "INGESTERS",
    "IngestReport",
    "ingest_labels",
    "ingest_layer",
    "ingest_readings",
    "ingest_registry",
    "ingest_weather",
    "open_table",
]
