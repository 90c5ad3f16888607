"""Environment capture: versions, plugins, git state (or its absence), the variable allowlist."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from core_helpers import subprocess_env

import capsa
from capsa.errors import ConfigError
from capsa.experiments.environment import (
    DEFAULT_ENV_ALLOWLIST,
    EnvironmentInfo,
    capture_environment,
    check_env_allowlist,
    is_secret_name,
    redact_value,
    select_env,
)


def test_capture_describes_interpreter_machine_and_versions(tmp_path: Path) -> None:
    info = capture_environment(packages=["pytest", "surely-not-installed-pkg"], repo=tmp_path)
    assert info.python.version == platform.python_version()
    assert info.python.implementation == platform.python_implementation()
    assert info.python.executable == sys.executable
    assert info.platform.system == platform.system()
    assert info.platform.cpu_count == os.cpu_count()
    assert info.platform.usable_cpus is not None and info.platform.usable_cpus >= 1
    assert info.host
    assert info.capsa == capsa.__version__
    assert info.packages["pytest"] == pytest.__version__
    assert info.packages["msgspec"] == msgspec.__version__
    assert info.packages["surely-not-installed-pkg"] is None
    plugins = {p.name: p for p in info.plugins}
    assert plugins["core-kinds"].distribution == "capsa"
    assert plugins["core-kinds"].version == capsa.__version__
    assert info.schema == "capsa.experiment.environment" and info.schema_version == 1
    # It round-trips through JSON as a typed record.
    again = msgspec.json.decode(msgspec.json.encode(info), type=EnvironmentInfo)
    assert again == info


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_dirty_flag_and_branch_inside_a_repository(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    _git(clean, "init", "-q", "-b", "trunk")
    (clean / "a.txt").write_text("a")
    _git(clean, "add", "a.txt")
    _git(clean, "commit", "-q", "-m", "first")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clean, capture_output=True, text=True, check=True
    ).stdout.strip()
    info = capture_environment(repo=clean)
    assert info.git is not None
    assert (info.git.commit, info.git.dirty, info.git.branch) == (head, False, "trunk")

    dirty = tmp_path / "dirty"
    shutil.copytree(clean, dirty)
    (dirty / "a.txt").write_text("changed")
    info = capture_environment(repo=dirty)
    assert info.git is not None and info.git.dirty is True and info.git.commit == head


def test_no_git_state_outside_a_repository_or_without_git(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    if subprocess.run(["git", "rev-parse"], cwd=outside, capture_output=True).returncode == 0:
        pytest.skip("the temporary folder is inside a git repository")
    assert capture_environment(repo=outside).git is None
    assert capture_environment(repo=tmp_path / "does-not-exist").git is None
    # Without git on PATH, in a child process: still no error.
    code = (
        "from capsa.experiments.environment import capture_environment\n"
        f"print(capture_environment(repo={str(outside)!r}).git)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env(PATH=str(tmp_path / "empty-bin")),
    )
    assert out.stdout.strip() == "None"


def test_allowlisted_variables_are_recorded_and_others_are_not() -> None:
    environ = {
        "OMP_NUM_THREADS": "4",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "HOME": "/home/someone",
        "SLURM_JOB_ID": "77",
        "SLURM_JOB_NAME": "train",
        "SLURM_AUTH_TOKEN": "hunter2",
    }
    env, withheld = select_env(DEFAULT_ENV_ALLOWLIST, environ)
    assert env == {"CUDA_VISIBLE_DEVICES": "0,1", "OMP_NUM_THREADS": "4", "SLURM_JOB_ID": "77"}
    assert withheld == []
    env, withheld = select_env(["SLURM_*", "MISSING_VAR"], environ)
    assert env == {"SLURM_JOB_ID": "77", "SLURM_JOB_NAME": "train"}
    assert withheld == ["SLURM_AUTH_TOKEN"]  # matched by the wildcard, never recorded
    info = capture_environment(env_allowlist=["SLURM_*"], environ=environ)
    assert "hunter2" not in msgspec.json.encode(info).decode()
    assert info.withheld_env == ["SLURM_AUTH_TOKEN"]


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "MYSQL_PWD",
        "api_key",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "HTTP_AUTHORIZATION",
        "SSH_PRIVATE_FILE",
        "SESSION_COOKIE",
        "PASSWD",
        "GPG_PASSPHRASE",
    ],
)
def test_naming_a_secret_variable_is_a_config_error(name: str) -> None:
    assert is_secret_name(name)
    with pytest.raises(ConfigError, match=r"looks like a secret") as info:
        capture_environment(env_allowlist=["OMP_NUM_THREADS", name], environ={name: "x"})
    assert info.value.key == "env_allowlist"
    assert name in str(info.value)


@pytest.mark.parametrize("entry", ["", "  ", "A=B", 3, None])
def test_malformed_allowlist_entries_are_config_errors(entry: object) -> None:
    with pytest.raises(ConfigError, match=r"entry 1"):
        check_env_allowlist(["OMP_NUM_THREADS", entry])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"list of variable names"):
        check_env_allowlist("OMP_NUM_THREADS")


def test_non_secret_names_pass_and_url_credentials_are_redacted() -> None:
    for name in ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "CAPSA_MODE"):
        assert not is_secret_name(name)
    assert redact_value("s3://AKIA:abc@bucket/x and https://u@h/y") == (
        "s3://***@bucket/x and https://***@h/y"
    )
    assert redact_value("plain text, no url") == "plain text, no url"
    env, _ = select_env(["DATA_URL"], {"DATA_URL": "postgres://me:pw@db:5432/x"})
    assert env == {"DATA_URL": "postgres://***@db:5432/x"}


def test_bad_package_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"package name ''"):
        capture_environment(packages=[""])
