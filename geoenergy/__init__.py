"""GeoEnergy: crypto-mining detection and data-centre waste-heat mapping.

The application package: settings and workspaces, ingestion of meter files,
the relational store, the pipeline, the CLI and the sample-city generator.
It builds on the independent libraries :mod:`detectors`, :mod:`layers` and
:mod:`webmap`, which never import it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # One source: the version in pyproject.toml, as installed in the package metadata.
    __version__ = version("geoenergy")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
