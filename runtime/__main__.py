"""``python -m runtime`` is ``atlas-fn``.

Owns nothing but that. Must not hold any logic of its own: it is ``runtime.cli.main``.
"""

import sys

from runtime.cli import main

sys.exit(main())
