"""``python -m runtime`` is ``atlas-fn``."""

import sys

from runtime.cli import main

sys.exit(main())
