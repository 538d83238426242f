"""``python -m geoenergy.cli``: the ``geoenergy`` command without its console script."""

from geoenergy.cli import run

run()
