"""Plugins add ``capsa`` sub-commands through ``capsa_register_commands``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from capsa import hookimpl
from capsa.cli.commands import CliCommand
from capsa.cli.main import build_parser, main
from capsa.errors import ArtifactNotFoundError
from capsa.plugins.manager import register_plugin, unregister_plugin


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--shout", action="store_true")


def _run(args: argparse.Namespace) -> int:
    if args.name == "missing":
        raise ArtifactNotFoundError("no greeting for 'missing'")
    text = f"hello {args.name}"
    print(text.upper() if args.shout else text)
    return 0


class GreetPlugin:
    @hookimpl
    def capsa_register_commands(self, register: Callable[[CliCommand], None]) -> None:
        register(CliCommand("greet", "say hello", _configure, _run))


class ClashingPlugin:
    @hookimpl
    def capsa_register_commands(self, register: Callable[[CliCommand], None]) -> None:
        register(CliCommand("ls", "a second ls", _configure, _run))
        register(CliCommand("Bad Name", "invalid", _configure, _run))
        register(CliCommand("greet", "taken by GreetPlugin", _configure, _run))


class BrokenPlugin:
    @hookimpl
    def capsa_register_commands(self, register: Callable[[CliCommand], None]) -> None:
        raise RuntimeError("boom while registering")


@pytest.fixture
def plugins() -> Iterator[Callable[[str, Any], None]]:
    added: list[str] = []

    def add(name: str, plugin: Any) -> None:
        register_plugin(plugin, name)
        added.append(name)

    yield add
    for name in added:
        unregister_plugin(name)


def test_a_plugin_command_runs_like_a_core_one(
    plugins: Callable[[str, Any], None], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins("greeter", GreetPlugin())
    assert main(["greet", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    assert main(["greet", "world", "--shout"]) == 0
    assert capsys.readouterr().out == "HELLO WORLD\n"
    # capsa errors raised by the command get the core's exit codes and message.
    assert main(["greet", "missing"]) == 3
    assert "capsa: error: no greeting for 'missing'" in capsys.readouterr().err
    assert "say hello [greeter]" in build_parser().format_help()


def test_clashing_and_invalid_commands_are_skipped_with_a_warning(
    plugins: Callable[[str, Any], None], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins("greeter", GreetPlugin())
    plugins("zz-clash", ClashingPlugin())
    with pytest.warns(RuntimeWarning) as caught:
        parser = build_parser()
    messages = " | ".join(str(w.message) for w in caught)
    assert "command 'ls' is already provided by 'capsa'" in messages
    assert "invalid command" in messages and "Bad Name" in messages
    assert "command 'greet' is already provided by 'greeter'" in messages
    assert "zz-clash" in messages
    # The core's ls is untouched, and greet is GreetPlugin's.
    assert parser.parse_args(["ls"]).func.__name__ == "cmd_ls"
    assert parser.parse_args(["greet", "x"]).func is _run


def test_a_broken_plugin_does_not_take_the_cli_down(
    plugins: Callable[[str, Any], None], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins("broken", BrokenPlugin())
    plugins("greeter", GreetPlugin())
    with pytest.warns(RuntimeWarning, match=r"'broken' failed in capsa_register_commands: boom"):
        assert main(["greet", "ok"]) == 0
    assert capsys.readouterr().out == "hello ok\n"
