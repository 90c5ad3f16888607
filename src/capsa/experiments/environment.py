"""Environment capture for run directories: interpreter, machine, versions, git, variables.

:func:`capture_environment` describes the process that runs an experiment:

* Python version, implementation and executable;
* OS, release, machine, platform string, CPU count (and the CPUs this
  process may use), host name;
* the versions of capsa and of every loaded capsa plugin (from
  :func:`capsa.plugins.list_plugins`);
* the versions of selected packages (looked up in the installed
  distributions' metadata, never imported), ``None`` when not installed;
* the git commit, dirty flag and branch when the working folder is inside a
  repository; ``None`` outside one or when git is not installed (never an
  error);
* an **allowlist** of environment variables.

Secrets are never recorded. The rule: a variable whose name contains, in any
case, one of :data:`SECRET_MARKERS` (``SECRET``, ``TOKEN``, ``PASSWORD``,
``PASSWD``, ``PASSPHRASE``, ``PWD``, ``KEY``, ``CREDENTIAL``, ``AUTH``,
``PRIVATE``, ``COOKIE``, ``SIGNATURE``) is secret.

* Naming a secret variable in the allowlist is a
  :class:`~capsa.errors.ConfigError`, raised before anything runs.
* A wildcard entry (``"SLURM_*"``) never records the secret variables it
  matches; their *names* are listed in ``withheld_env`` so that the omission
  is visible.
* In recorded values, the user-info part of URLs (``scheme://user:pass@host``)
  is replaced by ``***``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import os
import platform
import re
import socket
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

import msgspec

from capsa.errors import ConfigError
from capsa.store.manifest import GitInfo

ENVIRONMENT_SCHEMA = "capsa.experiment.environment"
"""The ``schema`` field of ``environment.json``."""

ENVIRONMENT_VERSION = 1
"""The schema version of ``environment.json`` this capsa writes."""

SECRET_MARKERS: tuple[str, ...] = (
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "SIGNATURE",
)
"""A variable whose upper-cased name contains one of these is never recorded."""

DEFAULT_ENV_ALLOWLIST: tuple[str, ...] = (
    "PYTHONHASHSEED",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "CAPSA_MODE",
    "CAPSA_SESSION",
)
"""Variables recorded when the caller gives no allowlist (those set, only)."""

DEFAULT_PACKAGES: tuple[str, ...] = ("msgspec", "pluggy")
"""Packages whose versions are always recorded (capsa's own dependencies)."""

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^@/\s]+@")


class PythonInfo(msgspec.Struct, kw_only=True):
    """The interpreter.

    :ivar version: ``platform.python_version()`` (``"3.11.7"``).
    :ivar implementation: ``"CPython"``, ``"PyPy"`` ...
    :ivar executable: ``sys.executable``.
    """

    version: str
    implementation: str
    executable: str


class PlatformInfo(msgspec.Struct, kw_only=True):
    """The machine and operating system.

    :ivar system: ``platform.system()`` (``"Linux"``).
    :ivar release: the OS release.
    :ivar machine: ``"x86_64"``, ``"arm64"`` ...
    :ivar platform: ``platform.platform()``.
    :ivar cpu_count: CPUs in the machine (``os.cpu_count()``).
    :ivar usable_cpus: CPUs this process may run on (its affinity mask).
    """

    system: str
    release: str
    machine: str
    platform: str
    cpu_count: int | None
    usable_cpus: int | None


class PluginVersion(msgspec.Struct, kw_only=True):
    """One loaded capsa plugin.

    :ivar name: entry-point name.
    :ivar distribution: the distribution that provides it.
    :ivar version: the distribution's version.
    """

    name: str
    distribution: str
    version: str


class EnvironmentInfo(msgspec.Struct, kw_only=True):
    """What ``environment.json`` holds.

    :ivar schema: always :data:`ENVIRONMENT_SCHEMA`.
    :ivar schema_version: :data:`ENVIRONMENT_VERSION` at write time.
    :ivar captured_at: UTC ISO-8601 time of the capture.
    :ivar python: the interpreter.
    :ivar platform: the machine and OS.
    :ivar host: the host name.
    :ivar capsa: capsa's version.
    :ivar plugins: every loaded capsa plugin, by entry-point name.
    :ivar packages: selected distributions -> version (None: not installed).
    :ivar git: commit, dirty flag and branch, or None outside a repository.
    :ivar env: the allowlisted environment variables that are set.
    :ivar withheld_env: names matched by a wildcard but withheld as secrets.
    """

    schema: str = ENVIRONMENT_SCHEMA
    schema_version: int = ENVIRONMENT_VERSION
    captured_at: str
    python: PythonInfo
    platform: PlatformInfo
    host: str
    capsa: str
    plugins: list[PluginVersion]
    packages: dict[str, str | None]
    git: GitInfo | None
    env: dict[str, str]
    withheld_env: list[str] = msgspec.field(default_factory=list)


def is_secret_name(name: str) -> bool:
    """True when an environment variable's name marks it as a secret (see the module docs)."""
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def redact_value(value: str) -> str:
    """Replace the user-info of URLs in ``value`` (``s3://user:pass@host`` -> ``s3://***@host``)."""
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", value)


def _is_pattern(entry: str) -> bool:
    return any(ch in entry for ch in "*?[")


def check_env_allowlist(allowlist: Iterable[str]) -> tuple[str, ...]:
    """Validate an allowlist of variable names and wildcard patterns; return it as a tuple.

    :raises ConfigError: an entry is not a non-empty string, or names a secret
        variable explicitly.
    """
    if isinstance(allowlist, str):
        raise ConfigError(
            f"expected a list of variable names, got the string {allowlist!r}", key="env_allowlist"
        )
    entries = tuple(allowlist)
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or not entry.strip() or "=" in entry:
            raise ConfigError(
                f"entry {i} is {entry!r}; expected a variable name or a pattern such as 'SLURM_*'",
                key="env_allowlist",
            )
        if not _is_pattern(entry) and is_secret_name(entry):
            raise ConfigError(
                f"{entry!r} looks like a secret (its name contains one of "
                f"{', '.join(SECRET_MARKERS)}); capsa never records secrets",
                key="env_allowlist",
            )
    return entries


def select_env(
    allowlist: Iterable[str], environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Return ``(recorded, withheld)``: allowlisted variables set, and secret names skipped."""
    entries = check_env_allowlist(allowlist)
    environ = os.environ if environ is None else environ
    recorded: dict[str, str] = {}
    withheld: set[str] = set()
    for entry in entries:
        if _is_pattern(entry):
            names = [name for name in environ if fnmatch.fnmatchcase(name, entry)]
        else:
            names = [entry] if entry in environ else []
        for name in names:
            if is_secret_name(name):
                withheld.add(name)
            else:
                recorded[name] = redact_value(environ[name])
    return dict(sorted(recorded.items())), sorted(withheld)


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent); nothing is imported."""
    out: dict[str, str | None] = {}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"package name {name!r} is not a non-empty string", key="packages")
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return dict(sorted(out.items()))


def loaded_plugins() -> list[PluginVersion]:
    """The capsa plugins loaded in this process (built-in ones included), by name."""
    from capsa.plugins.manager import list_plugins

    return sorted(
        (
            PluginVersion(name=info.name, distribution=info.distribution, version=info.version)
            for info in list_plugins()
            if info.status == "loaded"
        ),
        key=lambda p: p.name,
    )


def _usable_cpus() -> int | None:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return os.cpu_count()
    try:
        return len(getter(0))
    except OSError:  # pragma: no cover - platform specific
        return os.cpu_count()


def capture_environment(
    *,
    packages: Iterable[str] = (),
    env_allowlist: Iterable[str] = DEFAULT_ENV_ALLOWLIST,
    repo: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> EnvironmentInfo:
    """Describe the current process (see the module docs for what and why).

    :param packages: distributions whose versions to record, on top of
        :data:`DEFAULT_PACKAGES`.
    :param env_allowlist: variable names and ``fnmatch`` patterns to record
        (default :data:`DEFAULT_ENV_ALLOWLIST`); secret names are refused.
    :param repo: the folder whose git state is recorded (default: the
        current folder).
    :param environ: the variables to read (default ``os.environ``).
    :raises ConfigError: a bad allowlist entry or package name.
    """
    from capsa import __version__
    from capsa.store.provenance import git_info

    env, withheld = select_env(env_allowlist, environ)
    versions = package_versions((*DEFAULT_PACKAGES, *packages))
    folder = Path(repo) if repo is not None else Path.cwd()
    git = git_info(str(folder.resolve())) if folder.is_dir() else None
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return EnvironmentInfo(
        captured_at=now,
        python=PythonInfo(
            version=platform.python_version(),
            implementation=platform.python_implementation(),
            executable=sys.executable,
        ),
        platform=PlatformInfo(
            system=platform.system(),
            release=platform.release(),
            machine=platform.machine(),
            platform=platform.platform(),
            cpu_count=os.cpu_count(),
            usable_cpus=_usable_cpus(),
        ),
        host=socket.gethostname(),
        capsa=__version__,
        plugins=loaded_plugins(),
        packages=versions,
        git=git,
        env=env,
        withheld_env=withheld,
    )


__all__ = [
    "DEFAULT_ENV_ALLOWLIST",
    "DEFAULT_PACKAGES",
    "ENVIRONMENT_SCHEMA",
    "ENVIRONMENT_VERSION",
    "SECRET_MARKERS",
    "EnvironmentInfo",
    "PlatformInfo",
    "PluginVersion",
    "PythonInfo",
    "capture_environment",
    "check_env_allowlist",
    "is_secret_name",
    "loaded_plugins",
    "package_versions",
    "redact_value",
    "select_env",
]
