"""Hook specifications: the extension points of capsa.

A plugin is a module (or object) with functions decorated by
:data:`capsa.hookimpl` whose names match the specifications below. It is
discovered through an entry point in the ``capsa`` group::

    [project.entry-points.capsa]
    my-plugin = "my_plugin"

The built-in formats, kinds and backends are registered exactly this way,
from entry points declared by the ``capsa`` distribution itself.

Registration hooks (``capsa_register_*``) are called **once per process**,
the first time capsa needs its registry (the first ``open_store``, ``capsa
plugins``, a lookup by name ...), never at ``import capsa``. Each receives a
``register`` callable; call it once per object the plugin provides. Every
plugin's hook is called separately, so one plugin that raises is reported
(a warning naming its distribution, or :class:`~capsa.errors.PluginLoadError`
under ``CAPSA_STRICT_PLUGINS=1``) and the others still register.

Registration must be cheap: do not import numpy, pyarrow, zarr, obstore or
similar at module level or inside a ``capsa_register_*`` hook. Import them in
the methods that do the work (``write``, ``read``, ``__init__`` of a
backend ...). ``capsa plugins`` and ``import capsa`` must stay fast with every
plugin installed; a test in the capsa suite checks it for first-party plugins.

Names (formats, kinds, URL schemes, estimators, signal builders) are global.
When two plugins register the same name, using that name raises
:class:`~capsa.errors.PluginConflictError` naming both plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from capsa.markers import hookspec

if TYPE_CHECKING:
    from capsa.backends.base import Backend
    from capsa.cli.commands import CliCommand
    from capsa.cli.demo import DemoArtifact
    from capsa.estimators import CurvatureEstimator, SignalBuilder
    from capsa.formats.base import Format
    from capsa.kinds.base import ArtifactKind
    from capsa.store.events import CommitEvent


# --------------------------------------------------------------------------
# 1. formats
# --------------------------------------------------------------------------


@hookspec
def capsa_register_formats(register: Callable[[Format], None]) -> None:
    """Register file formats that artifact members can be written in.

    Called once per process when the registry is first built. Not
    ``firstresult``: every plugin's implementation is called.

    :param register: call ``register(fmt)`` with an instance of a
        :class:`capsa.formats.Format` subclass for each format the plugin
        provides. A format has a unique ``name`` (``"npz"``), the file
        ``extensions`` it owns (``(".npz",)``), the fully qualified names of
        the Python types it ``writes`` (``("numpy.ndarray", "builtins.dict")``,
        checked without importing the type's module), a ``write(value, sink,
        **options)`` method, a ``read(source, **options)`` method and, where
        the format allows partial reads, ``read_lazy(source, **options)``.
    :return: ignored.
    """


# --------------------------------------------------------------------------
# 2. artifact kinds
# --------------------------------------------------------------------------


@hookspec
def capsa_register_artifact_kinds(register: Callable[[ArtifactKind], None]) -> None:
    """Register artifact kinds: named, versioned layouts of members.

    Called once per process when the registry is first built. Not
    ``firstresult``: every plugin's implementation is called.

    :param register: call ``register(kind)`` with an instance of a
        :class:`capsa.kinds.ArtifactKind` subclass. A kind has a ``name``
        (conventionally ``"<plugin>.<thing>"``, e.g. ``"dimred.fit"``), an
        integer ``version``, a tuple of :class:`capsa.kinds.MemberSpec`
        (logical name, file name, format, required or optional),
        ``to_members(data)`` which splits the user's object into member
        values, ``validate(members)`` which rejects bad data *before anything
        is written*, and ``legacy_layouts`` describing older versions of the
        layout that ``Store.load`` still reads.
    :return: ignored.
    """


# --------------------------------------------------------------------------
# 3. storage backends
# --------------------------------------------------------------------------


@hookspec
def capsa_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Register storage backends, each chosen by URL scheme.

    Called once per process when the registry is first built. Not
    ``firstresult``: every plugin's implementation is called.

    :param register: call ``register(BackendClass)`` with a subclass of
        :class:`capsa.backends.Backend`. Its ``schemes`` class attribute
        lists the URL schemes it serves (``("s3",)``); capsa calls
        ``BackendClass.from_url(url, options)`` when a store is opened on such
        a URL. The interface is object-store shaped: ``put`` (optionally
        create-only), ``open_writer`` for streamed puts, ``get``, ``get_range``,
        ``head``, ``list`` by prefix, ``delete`` and an optional ``local_path``.
        Rename and append are not required; a backend that can rename a whole
        prefix atomically without replacing (a local filesystem) advertises it
        with ``supports_rename = True`` and capsa commits through a staging
        prefix instead of writing in place.
    :return: ignored.
    """


# --------------------------------------------------------------------------
# 4. curvature estimators
# --------------------------------------------------------------------------


@hookspec
def capsa_register_curvature_estimators(
    register: Callable[[CurvatureEstimator], None],
) -> None:
    """Register curvature estimators, looked up by name.

    Called once per process when the registry is first built. Not
    ``firstresult``: every plugin's implementation is called.

    :param register: call ``register(estimator)`` with an object following the
        :class:`capsa.estimators.CurvatureEstimator` protocol: a ``name`` and
        ``estimate(theta, **inputs)`` returning a
        :class:`capsa.estimators.CurvatureEstimate`, i.e. a diagonal
        curvature vector of the same length as the flat parameter vector
        ``theta`` plus JSON-safe ``metadata`` that is enough to reproduce it
        (estimator name, probe count, seed, ...).
    :return: ignored.
    """


# --------------------------------------------------------------------------
# 5. signal builders
# --------------------------------------------------------------------------


@hookspec
def capsa_register_signal_builders(register: Callable[[SignalBuilder], None]) -> None:
    """Register signal builders, looked up by name.

    Called once per process when the registry is first built. Not
    ``firstresult``: every plugin's implementation is called.

    :param register: call ``register(builder)`` with an object following the
        :class:`capsa.estimators.SignalBuilder` protocol: a ``name`` and
        ``build(trace, meta, *, decoder=None, truth=None)`` returning a mapping
        of signal name to :class:`capsa.estimators.Signal` (a numeric series
        with a unit and an optional panel/group), ready to plot.
    :return: ignored.
    """


# --------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------


@hookspec
def capsa_artifact_committed(event: CommitEvent) -> Any:
    """Notify that an artifact has been committed.

    Called after the ``_SUCCESS`` marker of an artifact is durably written
    (the artifact is visible to readers), in the process that saved it. Not
    ``firstresult``: every plugin's implementation is called, and return
    values are ignored. Use it to index, mirror or notify; never to veto (the
    commit has already happened). An exception raised here is reported as a
    warning naming the plugin and does not fail the save.

    :param event: a :class:`capsa.store.events.CommitEvent` with the store
        URL, the full key, the mode and the decoded
        :class:`capsa.store.manifest.Manifest`.
    :return: ignored.
    """


@hookspec
def capsa_demo_artifacts(register: Callable[[DemoArtifact], None]) -> None:
    """Contribute artifacts to ``capsa demo``.

    Called when ``capsa demo`` runs, after the registry is built. Not
    ``firstresult``: every plugin's implementation is called. Lets each plugin
    show its kinds in the demo without the core knowing about them.

    :param register: call ``register(DemoArtifact(key=..., kind=..., make=...,
        description=...))``; ``make()`` builds the data (heavy imports go
        inside it) and the demo saves, lists, verifies and reloads it.
    :return: ignored.
    """


@hookspec
def capsa_register_commands(register: Callable[[CliCommand], None]) -> None:
    """Add sub-commands to the ``capsa`` command line.

    Called once per ``capsa`` invocation, when the argument parser is built,
    after the core's own commands are added. Not ``firstresult``: every
    plugin's implementation is called. A name already taken (by the core or
    an earlier plugin) is skipped with a warning naming the plugin, and so is
    every command of a plugin whose implementation raises.

    :param register: call ``register(CliCommand(name=..., help=...,
        configure=..., run=...))`` (:class:`capsa.cli.commands.CliCommand`):
        ``configure(parser)`` adds the command's arguments to its
        ``argparse`` parser, ``run(args)`` executes it and returns the exit
        code. Keep registration cheap; import heavy libraries inside ``run``.
    :return: ignored.
    """
