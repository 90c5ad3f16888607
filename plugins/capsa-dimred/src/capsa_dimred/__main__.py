"""``python -m capsa_dimred``: see :mod:`capsa_dimred.cli`."""

from __future__ import annotations

import sys

from capsa_dimred.cli import main

if __name__ == "__main__":
    sys.exit(main())
