"""``python -m geoenergy.cli``: the ``geoenergy`` command without its console script."""

import sys

from geoenergy.cli import main

sys.exit(main())
