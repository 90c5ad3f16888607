"""Provenance captured into every manifest: Python, platform, host and git state."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from capsa.store.manifest import GitInfo, Provenance


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def git_info(cwd: str) -> GitInfo | None:
    """Return the commit, dirty flag and branch of the repository around ``cwd``.

    Returns None outside a repository or without git; never raises. Cached per
    process and folder, so the dirty flag is the one seen at the first save.
    """
    path = Path(cwd)
    commit = _git(["rev-parse", "HEAD"], path)
    if not commit:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], path)
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], path)
    return GitInfo(
        commit=commit,
        dirty=bool(status),
        branch=None if branch in (None, "HEAD") else branch,
    )


@functools.lru_cache(maxsize=1)
def _static() -> tuple[str, str, str, str]:
    return (
        platform.python_version(),
        platform.python_implementation(),
        platform.platform(terse=True),
        socket.gethostname(),
    )


def capture() -> Provenance:
    """Describe the current process for a manifest."""
    python, impl, plat, host = _static()
    return Provenance(
        python=python,
        implementation=impl,
        platform=plat,
        host=host,
        pid=os.getpid(),
        program=os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "",
        git=git_info(os.getcwd()),
    )
