"""Exit codes of the ``capsa`` command, stable for scripts."""

from __future__ import annotations

OK = 0
"""Success."""

PROBLEMS = 1
"""The command ran and found problems (``verify`` mismatches)."""

USAGE = 2
"""Bad command-line usage (argparse's code)."""

NOT_FOUND = 3
"""The artifact, member or name asked for does not exist."""

CONFIG = 4
"""Configuration or plugin error (bad ``capsa.toml``, unknown backend ...)."""

ERROR = 5
"""Any other capsa error (invalid key, validation, immutability ...)."""
