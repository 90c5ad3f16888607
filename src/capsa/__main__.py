"""``python -m capsa`` runs the command line."""

import sys

from capsa.cli.main import main

sys.exit(main())
