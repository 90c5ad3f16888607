"""Pickle: explicit opt-in only, and refused on load unless the caller trusts the source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar

from capsa.errors import IntegrityError, UntrustedSourceError, ValidationError
from capsa.formats.base import Format, MemberSource
from capsa.formats.json import _known_options


class PickleFormat(Format):
    """Python pickles (protocol 5).

    Never chosen implicitly: a member uses pickle only when its kind declares
    it or its file name ends in ``.pkl``/``.pickle``. Loading executes code,
    so :meth:`read` refuses unless called with ``trusted=True``.
    """

    name: ClassVar[str] = "pickle"
    extensions: ClassVar[tuple[str, ...]] = (".pkl", ".pickle")
    writes: ClassVar[tuple[str, ...]] = ("builtins.object",)
    description: ClassVar[str] = "Python pickle; opt-in, loads need trusted=True"
    requires_trust: ClassVar[bool] = True

    def validate(self, value: object, **options: Any) -> None:
        """Check the options and that the value pickles (pickling twice is the price of safety)."""
        import pickle

        _known_options(self.name, options, {"protocol"})
        try:
            pickle.dumps(value, protocol=int(options.get("protocol", 5)))
        except Exception as exc:
            raise ValidationError(f"value cannot be pickled: {exc}") from exc

    def write(self, value: Any, sink: BinaryIO, **options: Any) -> Mapping[str, Any] | None:
        """Pickle ``value`` into the sink."""
        import pickle

        protocol = int(options.get("protocol", 5))
        pickle.dump(value, sink, protocol=protocol)
        return {"protocol": protocol}

    def read(self, source: MemberSource, **options: Any) -> Any:
        """Unpickle, only when ``trusted=True``."""
        import pickle

        if not options.get("trusted", False):
            raise UntrustedSourceError(
                f"member {source.name!r} is a pickle; loading it can run arbitrary code. "
                "Pass trusted=True only if you trust where it came from"
            )
        try:
            with source.open() as fh:
                return pickle.load(fh)
        except (pickle.UnpicklingError, EOFError) as exc:
            raise IntegrityError(f"member {source.name!r} is not a valid pickle: {exc}") from exc
