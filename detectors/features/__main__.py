"""``python -m detectors.features``: print ``docs/features.md`` from the registry."""

from detectors.features import render_markdown

print(render_markdown(), end="")
