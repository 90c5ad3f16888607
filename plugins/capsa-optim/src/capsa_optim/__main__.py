"""``python -m capsa_optim``: the ``capsa-optim`` command line."""

import sys

from capsa_optim.cli import main

sys.exit(main())
