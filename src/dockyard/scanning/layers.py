"""Read one image layer as a stream of tar entries, bounded and without touching the disk.

A layer arrives as a synchronous binary stream (the caller runs the scan in a thread) and a
media type. The media type decides whether the scanner supports the layer at all; the bytes
themselves decide how to decompress it (gzip and zstd magic numbers are sniffed, as
containerd does, so a gzip blob labelled ``.tar`` still reads).

Entries come out of :func:`iter_layer` one at a time in archive order, with normalised paths
(no leading ``/`` or ``./``) and whiteouts already recognised. Nothing is extracted: link
targets are metadata only, and a file's content is read into memory only when the consumer
asks for it, and only up to :attr:`ScanLimits.max_file_bytes`. Every limit breach, a path
that climbs out of the root (``..``) and a corrupt archive raise
:class:`~dockyard.domain.errors.ScanFailed`; a media type that is not a container filesystem
layer raises :class:`~dockyard.domain.errors.UnsupportedImage`.
"""

from __future__ import annotations

import enum
import gzip
import io
import tarfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from dockyard.domain.errors import ScanFailed, UnsupportedImage

__all__ = [
    "SUPPORTED_LAYER_MEDIA_TYPES",
    "EntryType",
    "ImageBudget",
    "LayerEntry",
    "ScanLimits",
    "check_media_type",
    "iter_layer",
    "normalize_path",
]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

# Media types of container filesystem layers, and the compression each one announces.
_TAR = "tar"
_GZIP = "gzip"
_ZSTD = "zstd"
_MEDIA_TYPES: dict[str, str] = {
    "application/vnd.oci.image.layer.v1.tar": _TAR,
    "application/vnd.oci.image.layer.v1.tar+gzip": _GZIP,
    "application/vnd.oci.image.layer.v1.tar+zstd": _ZSTD,
    "application/vnd.oci.image.layer.nondistributable.v1.tar": _TAR,
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": _GZIP,
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": _ZSTD,
    "application/vnd.docker.image.rootfs.diff.tar": _TAR,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": _GZIP,
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": _GZIP,
}
SUPPORTED_LAYER_MEDIA_TYPES = frozenset(_MEDIA_TYPES)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# tar header types whose payload tarfile reads into memory as a whole.
_HEADER_TYPES = frozenset(
    {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE}
    | {tarfile.SOLARIS_XHDTYPE}
)


@dataclass(frozen=True)
class ScanLimits:
    """Bounds on the work one image scan may do; breaking one fails the scan.

    ``max_compression_ratio`` is checked only once ``ratio_check_after_bytes`` have been
    decompressed from a layer, so that a small, very compressible layer (an empty tar is
    1 KiB of zeros in 30 bytes) is not mistaken for a bomb.
    """

    max_layer_bytes: int = 8 * GiB
    """Decompressed bytes of one layer."""
    max_image_bytes: int = 32 * GiB
    """Decompressed bytes of all the layers of one image."""
    max_files: int = 1_000_000
    """Tar entries (files, directories, links, whiteouts) across all the layers of one image."""
    max_file_bytes: int = 64 * MiB
    """Size of one file read into memory (a dpkg status, a METADATA, an rpmdb.sqlite), and of
    one tar extension header (long names, pax records)."""
    max_compression_ratio: float = 250.0
    """Decompressed bytes per compressed byte of a layer."""
    ratio_check_after_bytes: int = 16 * MiB

    def __post_init__(self) -> None:
        for field in (
            "max_layer_bytes",
            "max_image_bytes",
            "max_files",
            "max_file_bytes",
            "ratio_check_after_bytes",
        ):
            if getattr(self, field) < 0:
                raise ValueError(f"ScanLimits.{field} must not be negative")
        if self.max_compression_ratio < 1:
            raise ValueError("ScanLimits.max_compression_ratio must be at least 1")


class ImageBudget:
    """What the layers of one image have used so far of the image-wide limits."""

    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.decompressed_bytes = 0
        self.files = 0

    def add_bytes(self, n: int) -> None:
        self.decompressed_bytes += n
        if self.decompressed_bytes > self.limits.max_image_bytes:
            raise ScanFailed(
                f"the image's layers decompress to more than {self.limits.max_image_bytes} "
                "bytes (the per-image limit)"
            )

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ScanFailed(
                f"the image's layers hold more than {self.limits.max_files} entries "
                "(the per-image limit)"
            )


class EntryType(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"  # devices, fifos
    WHITEOUT = "whiteout"  # `path` is what the whiteout deletes from the lower layers
    OPAQUE = "opaque"  # `path` is the directory whose lower-layer content is hidden


class LayerEntry:
    """One tar entry. :meth:`read` works only until the iterator moves on to the next one."""

    __slots__ = ("_layer", "_member", "_tar", "_valid", "link_target", "path", "size", "type")

    def __init__(
        self,
        path: str,
        type: EntryType,
        size: int,
        link_target: str | None,
        *,
        layer: int,
        tar: tarfile.TarFile | None = None,
        member: tarfile.TarInfo | None = None,
    ) -> None:
        self.path = path
        self.type = type
        self.size = size
        self.link_target = link_target
        """A hard link's normalised target path, or a symlink's target as written."""
        self._layer = layer
        self._tar = tar
        self._member = member
        self._valid = True

    def __repr__(self) -> str:
        return f"LayerEntry({self.path!r}, {self.type.value}, size={self.size})"

    def read(self, limit: int) -> bytes:
        """The whole content of a regular file; :class:`ScanFailed` past ``limit`` bytes."""
        if self.type is not EntryType.FILE or self._tar is None or self._member is None:
            raise ValueError(f"{self.path} is not a regular file")
        if not self._valid:
            raise RuntimeError("a layer entry can only be read before the next one is taken")
        if self.size > limit:
            raise ScanFailed(
                f"layer {self._layer}: {self.path} is {self.size} bytes, more than the "
                f"{limit} bytes the scanner reads of one file"
            )
        f = self._tar.extractfile(self._member)
        if f is None:  # pragma: no cover - regular files always have content
            return b""
        data = f.read(limit + 1)
        if len(data) > limit:  # pragma: no cover - tarfile reads exactly `size` bytes
            raise ScanFailed(f"layer {self._layer}: {self.path} is larger than {limit} bytes")
        return data


def check_media_type(media_type: str) -> None:
    """:class:`UnsupportedImage` unless ``media_type`` is a filesystem layer the scanner reads."""
    compression = _MEDIA_TYPES.get(media_type.strip().lower())
    if compression is None:
        raise UnsupportedImage(f"unsupported layer media type {media_type!r}")
    if compression == _ZSTD:
        _zstandard()


def normalize_path(name: str) -> str:
    """A tar member name as a path relative to the root: ``./a//b/`` -> ``a/b``, ``/`` -> ``""``.

    A name with a ``..`` component raises :class:`ScanFailed`: no legitimate image layer
    climbs out of its root, and container runtimes refuse such layers too.
    """
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ScanFailed(f"layer member {name!r} climbs out of the root (path traversal)")
    return "/".join(parts)


def iter_layer(
    stream: BinaryIO,
    media_type: str,
    limits: ScanLimits,
    budget: ImageBudget | None = None,
    *,
    layer_index: int = 0,
) -> Generator[LayerEntry, None, None]:
    """The entries of one layer, in archive order, read from ``stream`` as it goes.

    ``budget`` carries the image-wide limits across the layers of one image; without one the
    layer gets a budget of its own. ``layer_index`` only labels error messages.
    """
    check_media_type(media_type)
    budget = budget if budget is not None else ImageBudget(limits)
    raw = _CountingReader(stream)
    magic = raw.peek(4)
    if not magic:
        return  # a zero-byte blob: an empty layer
    decompressed: Any
    if magic.startswith(_GZIP_MAGIC):
        decompressed = gzip.GzipFile(fileobj=raw, mode="rb")
    elif magic.startswith(_ZSTD_MAGIC):
        zstandard = _zstandard()
        decompressed = zstandard.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=False
        )
    else:
        decompressed = raw
    guarded = _GuardedReader(decompressed, raw, limits, budget, layer_index)
    try:
        yield from _entries(guarded, limits, budget, layer_index)
    except (ScanFailed, UnsupportedImage):
        raise
    except _read_errors() as exc:
        raise ScanFailed(f"layer {layer_index} cannot be read: {exc}") from exc


def _entries(
    guarded: _GuardedReader, limits: ScanLimits, budget: ImageBudget, layer_index: int
) -> Iterator[LayerEntry]:
    class _LimitedTarInfo(_SafeTarInfo):
        header_limit = limits.max_file_bytes

    with tarfile.open(
        fileobj=guarded,
        mode="r|",
        tarinfo=_LimitedTarInfo,
    ) as tar:
        # Stream mode keeps every TarInfo it has seen; emptying the list keeps memory flat.
        seen: list[tarfile.TarInfo] = tar.members  # type: ignore[attr-defined]
        previous: LayerEntry | None = None
        while True:
            if previous is not None:
                previous._valid = False
            member = tar.next()
            seen.clear()
            if member is None:
                return
            budget.add_file()
            entry = _to_entry(member, tar, layer_index)
            previous = entry
            if entry is not None:
                yield entry


def _to_entry(member: tarfile.TarInfo, tar: tarfile.TarFile, layer: int) -> LayerEntry | None:
    path = normalize_path(member.name)
    if not path:
        return None  # the root directory itself
    parent, _, base = path.rpartition("/")
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_MARKER:
            return LayerEntry(parent, EntryType.OPAQUE, 0, None, layer=layer)
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return None  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
        target = base[len(WHITEOUT_PREFIX) :]
        if not target:
            return None
        return LayerEntry(
            f"{parent}/{target}" if parent else target, EntryType.WHITEOUT, 0, None, layer=layer
        )
    if member.isreg():
        return LayerEntry(
            path, EntryType.FILE, member.size, None, layer=layer, tar=tar, member=member
        )
    if member.isdir():
        return LayerEntry(path, EntryType.DIRECTORY, 0, None, layer=layer)
    if member.issym():
        return LayerEntry(path, EntryType.SYMLINK, 0, member.linkname, layer=layer)
    if member.islnk():
        return LayerEntry(path, EntryType.HARDLINK, 0, normalize_path(member.linkname), layer=layer)
    return LayerEntry(path, EntryType.OTHER, 0, None, layer=layer)


class _SafeTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses the tar extensions tarfile would read unbounded into memory.

    tarfile reads a long-name or pax header's whole payload at once, and chains GNU sparse
    maps block by block; a hostile layer could use either to exhaust memory. Docker, BuildKit
    and the OCI tools never write sparse members, so those are refused outright.
    """

    header_limit = 64 * MiB

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise ScanFailed(f"tar member {self.name!r} is a GNU sparse file, which is refused")
        if self.type in _HEADER_TYPES and self.size > self.header_limit:
            raise ScanFailed(
                f"a tar extension header of {self.size} bytes is larger than the "
                f"{self.header_limit} bytes allowed"
            )
        result: tarfile.TarInfo = super()._proc_member(tarfile_)  # type: ignore[misc]
        return result

    def _proc_gnusparse_10(self, *args: object) -> None:
        raise ScanFailed("a tar member uses the GNU sparse 1.0 format, which is refused")


class _CountingReader(io.RawIOBase):
    """Counts the compressed bytes read from the caller's stream; can peek at the start."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._prefix = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def peek(self, n: int) -> bytes:
        while len(self._prefix) < n:
            chunk = self._stream.read(n - len(self._prefix))
            if not chunk:
                break
            self._prefix += chunk
            self.bytes_read += len(chunk)
        return self._prefix[:n]

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(view))
        n = len(data)
        view[:n] = data
        self.bytes_read += n
        return n


class _GuardedReader(io.RawIOBase):
    """Counts decompressed bytes and enforces the size and ratio limits as they arrive."""

    def __init__(
        self,
        inner: Any,
        raw: _CountingReader,
        limits: ScanLimits,
        budget: ImageBudget,
        layer_index: int,
    ) -> None:
        self._inner = inner
        self._raw = raw
        self._limits = limits
        self._budget = budget
        self._layer = layer_index
        self.bytes_out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        n = len(data)
        view[:n] = data
        self._account(n)
        return n

    def _account(self, n: int) -> None:
        limits = self._limits
        self.bytes_out += n
        if self.bytes_out > limits.max_layer_bytes:
            raise ScanFailed(
                f"layer {self._layer} decompresses to more than {limits.max_layer_bytes} "
                "bytes (the per-layer limit)"
            )
        self._budget.add_bytes(n)
        if self.bytes_out > limits.ratio_check_after_bytes:
            ratio = self.bytes_out / max(self._raw.bytes_read, 1)
            if ratio > limits.max_compression_ratio:
                raise ScanFailed(
                    f"layer {self._layer} decompresses {ratio:.0f}:1, more than the "
                    f"{limits.max_compression_ratio:g}:1 allowed (a decompression bomb?)"
                )


def _read_errors() -> tuple[type[BaseException], ...]:
    """What a corrupt or truncated layer raises from tarfile and the decompressors."""
    errors: tuple[type[BaseException], ...] = (
        tarfile.TarError,
        EOFError,
        OSError,  # gzip.BadGzipFile, and the caller's stream failing
        zlib.error,
        ValueError,  # tarfile on malformed numeric fields
    )
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return errors
    return (*errors, zstandard.ZstdError)


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover - zstandard is a dependency
        raise UnsupportedImage("zstd-compressed layers need the zstandard package") from exc
    return zstandard
