"""Load-signature features of electricity meters, for mining detection.

One registry, :data:`FEATURES`, names every feature with its unit, its
definition, why it separates crypto-mining from ordinary loads and from the
confounders that look like mining, which direction is suspicious, and the
words an inspector reads. The same registry orders the columns of
:func:`extract_features` and writes ``docs/features.md``
(``python -m detectors.features > docs/features.md``).

The computation is vectorised over meters and runs chunk by chunk on dask
(one meter chunk at a time, all of its time steps). A meter's features never
depend on the other meters of the batch, except ``level_vs_peer`` when no
:class:`PeerReference` is given (it is then taken from the batch itself).

The rooms behind this small public surface:

- ``_registry``: the one table of features (:data:`FEATURES`), the statuses
  and the Markdown page.
- ``_extract``: :func:`extract_features`, the driver that assembles the
  table; ``_checks``: what it accepts.
- ``_kernel``: one block of meters at a time (slices, threads, layout as
  local hours and days); ``_calendar``: local days, hours and darkness.
- one module per feature family: ``_level`` (load level and base load),
  ``_rhythm`` (daily and weekly shape), ``_weather`` (temperature
  response), ``_regimes`` (steps and on/off days), ``_peers`` (peer
  comparison, :class:`PeerReference`); ``_reduce``: the reductions they
  share.

Examples
--------
>>> feats = extract_features(ds, weather=weather, groups=registry)  # doctest: +SKIP
>>> ref = peer_reference(feats, registry)  # doctest: +SKIP
>>> new = extract_features(ds_new, groups=registry, peer_reference=ref)  # doctest: +SKIP
"""

from detectors.features._extract import extract_features
from detectors.features._peers import CLASS_MIN_SIZE, PeerReference, peer_reference
from detectors.features._registry import (
    FEATURES,
    HEATING_SEASON,
    HOURLY_FEATURES,
    STATUSES,
    Feature,
    render_markdown,
)

# A saved model pickles its PeerReference: record the public path, as before the
# split, so saved models load whatever the private modules are called.
Feature.__module__ = PeerReference.__module__ = __name__

__all__ = [
    "CLASS_MIN_SIZE",
    "FEATURES",
    "HEATING_SEASON",
    "HOURLY_FEATURES",
    "STATUSES",
    "Feature",
    "PeerReference",
    "extract_features",
    "peer_reference",
    "render_markdown",
]
