"""The ``npz`` format: named numpy arrays in a ZIP archive, as ``numpy.savez`` writes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from capsa.errors import ValidationError
from capsa.formats.base import Format, MemberSource, qualified_type_names

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from capsa_npz.reader import NpzArrays

SINGLE_KEY = "arr_0"
"""The entry name a single array is stored under (numpy's convention)."""

WRITE_OPTIONS: Mapping[str, type] = {"compressed": bool}
"""Options :meth:`NpzFormat.write` accepts, with their types."""

READ_OPTIONS: Mapping[str, type] = {"mmap": bool}
"""Options :meth:`NpzFormat.read` and :meth:`NpzFormat.read_lazy` accept."""

_MAX_NAME_BYTES = 0xFFFF - len(".npy")


def check_key(key: object) -> str:
    r"""Return ``key`` when it is a valid array name; raise :class:`ValidationError` otherwise.

    A valid name is a non-empty ``str`` without ``/``, ``\`` or NUL that
    does not start with ``.`` (it becomes the zip entry ``<key>.npy``).
    """
    if not isinstance(key, str):
        raise ValidationError(f"npz array names must be str, got {type(key).__name__} {key!r}")
    if not key:
        raise ValidationError("npz array names must not be empty")
    for bad, label in (("/", "'/'"), ("\\", "'\\\\'"), ("\x00", "NUL")):
        if bad in key:
            raise ValidationError(f"npz array name {key!r} must not contain {label}")
    if key.startswith("."):
        raise ValidationError(f"npz array name {key!r} must not start with '.'")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"npz array name {key!r} is not valid UTF-8: {exc}") from None
    if len(encoded) > _MAX_NAME_BYTES:
        raise ValidationError(
            f"npz array name {key[:40]!r}... is {len(encoded)} bytes long; "
            f"the limit is {_MAX_NAME_BYTES}"
        )
    return key


def _check_options(options: Mapping[str, Any], allowed: Mapping[str, type], what: str) -> None:
    for name, value in options.items():
        expected = allowed.get(name)
        if expected is None:
            known = ", ".join(sorted(allowed)) or "none"
            raise ValidationError(
                f"format 'npz' has no {what} option {name!r}; its {what} options are: {known}"
            )
        if not isinstance(value, expected):
            raise ValidationError(
                f"format 'npz' {what} option {name!r} must be {expected.__name__}, "
                f"got {type(value).__name__} {value!r}"
            )


def _check_array(key: str, value: object) -> None:
    import numpy as np

    if not isinstance(value, np.ndarray):
        raise ValidationError(
            f"npz array {key!r} must be a numpy.ndarray, got "
            f"{type(value).__module__}.{type(value).__qualname__}; "
            "convert it with numpy.asarray first"
        )
    if isinstance(value, np.ma.MaskedArray):
        raise ValidationError(
            f"npz array {key!r} is a masked array; npz would drop its mask. "
            "Store .data and .mask as two arrays"
        )
    if value.dtype.hasobject:
        raise ValidationError(
            f"npz array {key!r} has dtype {value.dtype!s}, which holds Python objects; "
            "capsa-npz only stores plain data (allow_pickle is always False)"
        )


def _named_arrays(value: Any) -> tuple[list[tuple[str, NDArray[Any]]], bool]:
    """Return ``([(name, array) ...], single)`` for an already validated value."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return [(SINGLE_KEY, np.asarray(value))], True
    return [(k, np.asarray(v)) for k, v in value.items()], False


class NpzFormat(Format):
    """Named numpy arrays in a ``.npz`` archive, readable with plain ``numpy.load``.

    Writes a single ``numpy.ndarray`` (stored as ``arr_0`` and read back as
    the array itself) or a ``dict`` of ``str`` to ``numpy.ndarray``. Arrays
    are stored uncompressed by default in a streamed ZIP64 archive whose CRC32
    is computed concurrently with the write; ``compressed=True`` deflates
    them with :mod:`zipfile` instead. Object arrays are refused: nothing is
    ever pickled or unpickled.

    Write options: ``compressed`` (bool, default False). Read options:
    ``mmap`` (bool, default False): memory-map stored arrays read-only when
    the backend has a local path.
    """

    name: ClassVar[str] = "npz"
    extensions: ClassVar[tuple[str, ...]] = (".npz",)
    writes: ClassVar[tuple[str, ...]] = ("numpy.ndarray", "builtins.dict")
    description: ClassVar[str] = (
        "numpy arrays by name in a .npz zip (stored or deflated), read lazily per array"
    )
    lazy: ClassVar[bool] = True

    def validate(self, value: object, **options: Any) -> None:
        """Refuse anything but an ndarray or a dict of valid names to plain ndarrays."""
        _check_options(options, WRITE_OPTIONS, "write")
        if isinstance(value, dict):
            for key, array in value.items():
                _check_array(check_key(key), array)
            return
        if "numpy.ndarray" in qualified_type_names(value):
            _check_array(SINGLE_KEY, value)
            return
        super().validate(value)

    def write(
        self, value: Any, sink: BinaryIO, *, compressed: bool = False, **options: Any
    ) -> Mapping[str, Any]:
        """Write ``value`` to ``sink`` (sequential, never sought).

        :return: ``{"arrays": [names], "single": bool, "compressed": bool}``.
        """
        self.validate(value, compressed=compressed, **options)
        arrays, single = _named_arrays(value)
        if compressed:
            _write_deflated(arrays, sink)
        else:
            from capsa_npz.zipstream import StoredNpzWriter

            with StoredNpzWriter(sink) as writer:
                for key, array in arrays:
                    writer.add(key, array)
                writer.finish()
        return {"arrays": [k for k, _ in arrays], "single": single, "compressed": compressed}

    def read(self, source: MemberSource, *, mmap: bool = False, **options: Any) -> Any:
        """Read every array: a dict of name to array, or the array itself when one was saved.

        With ``mmap=True`` and a backend that has a local path, stored arrays
        are read-only ``numpy.memmap`` views instead of copies.
        """
        from capsa_npz.reader import read_all

        _check_options({"mmap": mmap, **options}, READ_OPTIONS, "read")
        arrays = read_all(source, mmap=mmap)
        return _single_or_all(arrays, source)

    def read_lazy(self, source: MemberSource, *, mmap: bool = False, **options: Any) -> Any:
        """Return an :class:`~capsa_npz.NpzArrays` that reads each array on first access.

        A member written from a single array is returned as that array (read
        now): there is nothing to defer.
        """
        from capsa_npz.reader import NpzArrays

        _check_options({"mmap": mmap, **options}, READ_OPTIONS, "read")
        lazy = NpzArrays(source, mmap=mmap)
        if source.info.get("single"):
            return _single_or_all(lazy, source)
        return lazy


def _single_or_all(arrays: Mapping[str, NDArray[Any]] | NpzArrays, source: MemberSource) -> Any:
    if not source.info.get("single"):
        return arrays
    from capsa.errors import IntegrityError

    if list(arrays) != [SINGLE_KEY]:
        raise IntegrityError(
            f"npz member {source.name!r} is recorded as a single array but holds {list(arrays)}"
        )
    return arrays[SINGLE_KEY]


def _write_deflated(arrays: list[tuple[str, NDArray[Any]]], sink: BinaryIO) -> None:
    import zipfile

    from capsa_npz.zipstream import iter_array_bytes, npy_header

    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for key, array in arrays:
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            with zf.open(info, "w", force_zip64=True) as entry:
                entry.write(npy_header(array))
                for piece in iter_array_bytes(array):
                    entry.write(piece)
