"""Sub-commands that plugins add to ``capsa`` (the ``capsa_register_commands`` hook).

A plugin registers a :class:`CliCommand`; ``capsa`` mounts it next to its own
commands (``capsa optim table EXP``), after the built-in ones, so a plugin can
never shadow ``ls`` or ``verify``. Building the parser calls the hook once;
the command's own heavy imports belong in ``run``.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CliCommand:
    """A ``capsa`` sub-command contributed by a plugin.

    :ivar name: the sub-command (``"optim"``): lower case letters, digits and
        dashes.
    :ivar help: one line shown by ``capsa --help``.
    :ivar configure: called with the sub-command's ``ArgumentParser`` to add
        arguments (and nested sub-commands); keep it free of heavy imports.
        Do not set ``func`` on it: capsa sets it to ``run`` (dispatch nested
        sub-commands inside ``run``, e.g. on a ``dest`` of your own).
    :ivar run: called with the parsed arguments; returns the exit code (0 ok,
        1 problems found, 2 usage, 3 not found, 4 config, 5 error). capsa errors
        it raises are reported like the core's own.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def plugin_commands(reserved: set[str]) -> list[tuple[str, CliCommand]]:
    """Collect ``(plugin name, command)`` from every plugin, skipping bad or clashing ones.

    A command whose name is taken (by the core or an earlier plugin) or is
    not a valid name, and a plugin whose hook raises, are skipped with a
    warning naming the plugin: one broken plugin never takes ``capsa`` down.
    """
    import re

    from capsa.plugins.manager import plugin_manager

    found: list[tuple[str, CliCommand]] = []
    taken = dict.fromkeys(reserved, "capsa")
    for impl in plugin_manager().hook.capsa_register_commands.get_hookimpls():
        commands: list[CliCommand] = []
        try:
            impl.function(register=commands.append)
        except Exception as exc:  # a plugin's bug must not break the CLI
            warnings.warn(
                f"capsa plugin {impl.plugin_name!r} failed in capsa_register_commands: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        for command in commands:
            if not isinstance(command, CliCommand) or not re.fullmatch(
                r"[a-z][a-z0-9-]*", command.name
            ):
                warnings.warn(
                    f"capsa plugin {impl.plugin_name!r} registered an invalid command "
                    f"{command!r}; expected a CliCommand with a lower-case name",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            if command.name in taken:
                warnings.warn(
                    f"capsa plugin {impl.plugin_name!r}: command {command.name!r} is already "
                    f"provided by {taken[command.name]!r}; skipped",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            taken[command.name] = impl.plugin_name
            found.append((impl.plugin_name, command))
    return found
