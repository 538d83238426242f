"""GeoEnergy: crypto-mining detection and data-centre waste-heat mapping.

The application package: settings and workspaces, ingestion of meter files,
the relational store, the pipeline, the CLI and the sample-city generator.
It builds on the independent libraries :mod:`detectors`, :mod:`layers` and
:mod:`webmap`, which never import it.
"""

__version__ = "0.1.0"
