"""Reading layers: compression, paths, whiteouts and every limit, with hostile input."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard

from dockyard.domain.errors import DockyardError, ScanFailed, UnsupportedImage
from dockyard.scanning import ScanLimits, build_inventory
from dockyard.scanning.layers import EntryType, iter_layer, normalize_path
from tests.support.realdata import Entry, gzip_layer, tar_bytes, write_gzip_bomb

GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR = "application/vnd.oci.image.layer.v1.tar"
MiB = 1 << 20

META = b"Metadata-Version: 2.1\nName: attrs\nVersion: 23.1.0\n"
ATTRS = Entry("srv/site-packages/attrs-23.1.0.dist-info/METADATA", META)


class OneWayStream(io.RawIOBase):
    """A stream that can only be read forward, like a blob coming off the network."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: OneWayStream(data)  # type: ignore[return-value]


def entries(
    data: bytes, media_type: str = GZIP, limits: ScanLimits | None = None
) -> list[tuple[str, EntryType]]:
    return [
        (e.path, e.type)
        for e in iter_layer(OneWayStream(data), media_type, limits or ScanLimits())  # type: ignore[arg-type]
    ]


def names(layers: list[tuple[str, bytes]], limits: ScanLimits | None = None) -> list[str]:
    inventory = build_inventory([(m, opener(d)) for m, d in layers], limits or ScanLimits())
    return [p.name for p in inventory.packages]


# --- media types and compression ---------------------------------------------------------------


def test_every_layer_compression_reads_the_same() -> None:
    raw = tar_bytes([ATTRS])
    for media_type, data in [
        (TAR, raw),
        (GZIP, gzip.compress(raw)),
        (DOCKER_GZIP, gzip.compress(raw)),
        (ZSTD, zstandard.ZstdCompressor().compress(raw)),
        # The bytes decide the decompression, as in containerd: a gzip blob typed as plain tar.
        (TAR, gzip.compress(raw)),
    ]:
        assert names([(media_type, data)]) == ["attrs"], media_type


def test_multi_frame_zstd_and_multi_member_gzip() -> None:
    raw = tar_bytes([ATTRS])
    half = len(raw) // 2
    zstd = zstandard.ZstdCompressor()
    assert names([(ZSTD, zstd.compress(raw[:half]) + zstd.compress(raw[half:]))]) == ["attrs"]
    assert names([(GZIP, gzip.compress(raw[:half]) + gzip.compress(raw[half:]))]) == ["attrs"]


def test_unknown_media_type_is_unsupported_before_anything_is_read() -> None:
    opened: list[int] = []

    def never() -> BinaryIO:
        opened.append(1)
        return io.BytesIO(gzip_layer([ATTRS]))

    for media_type in [
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        "application/vnd.oci.image.config.v1+json",
        "application/octet-stream",
    ]:
        with pytest.raises(UnsupportedImage) as info:
            build_inventory([(GZIP, never), (media_type, never)], ScanLimits())
        assert media_type in info.value.reason
        assert isinstance(info.value, DockyardError)
    assert opened == []


def test_empty_blob_and_empty_tar_are_empty_layers() -> None:
    assert entries(b"", TAR) == []
    assert entries(gzip.compress(tar_bytes([]))) == []


@pytest.mark.parametrize(
    "data",
    [
        gzip_layer([ATTRS])[:-20],  # truncated gzip
        b"\x1f\x8b" + os.urandom(200),  # gzip magic, garbage after
        zstandard.ZstdCompressor().compress(tar_bytes([ATTRS]))[:-8],  # truncated zstd
        tar_bytes([ATTRS])[:700],  # tar cut inside a member
        os.urandom(4096),  # not a tar at all
    ],
    ids=["gzip-truncated", "gzip-garbage", "zstd-truncated", "tar-truncated", "random"],
)
def test_corrupt_layers_fail_the_scan(data: bytes) -> None:
    with pytest.raises(ScanFailed):
        names([(GZIP, data)])


# --- paths ------------------------------------------------------------------------------------


def test_paths_are_normalised() -> None:
    assert normalize_path("./etc//os-release") == "etc/os-release"
    assert normalize_path("/usr/lib/os-release") == "usr/lib/os-release"
    assert normalize_path("./") == ""
    data = gzip_layer(
        [
            Entry.dir("./"),
            Entry("./etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
            Entry("/srv//x/attrs-23.1.0.dist-info/./METADATA", META),
        ]
    )
    assert entries(data) == [
        ("etc/os-release", EntryType.FILE),
        ("srv/x/attrs-23.1.0.dist-info/METADATA", EntryType.FILE),
    ]
    inventory = build_inventory([(GZIP, opener(data))], ScanLimits())
    assert inventory.os is not None and inventory.os.id == "debian"
    assert [p.path for p in inventory.packages] == ["srv/x/attrs-23.1.0.dist-info/METADATA"]


@pytest.mark.parametrize(
    "hostile",
    [
        Entry("../escape", b"x"),
        Entry("etc/../../escape", b"x"),
        Entry.dir("a/../../b"),
        Entry.hardlink("etc/passwd-link", "../../etc/shadow"),
        Entry.symlink("../escape-link", "/etc"),
    ],
    ids=["file", "nested", "dir", "hardlink-target", "symlink-name"],
)
def test_path_traversal_fails_the_scan(hostile: Entry) -> None:
    """A member whose name (or hard link target) climbs out of the root fails the scan (it is
    not skipped): container runtimes refuse such a layer, so it can only be hostile."""
    with pytest.raises(ScanFailed, match="path traversal"):
        names([(GZIP, gzip_layer([ATTRS, hostile]))])


def test_links_are_metadata_only() -> None:
    """Absolute and climbing symlink targets are normal in images; nothing follows them."""
    data = gzip_layer(
        [
            Entry.symlink("etc/os-release", "/etc/../../../../etc/os-release"),
            Entry.symlink("lib/apk/db/installed", "../../../../../etc/shadow"),
            Entry.symlink("srv/x.dist-info/METADATA", "/proc/self/environ"),
        ]
    )
    inventory = build_inventory([(GZIP, opener(data))], ScanLimits())
    assert inventory.os is None
    assert inventory.packages == ()


def test_whiteout_entries() -> None:
    data = gzip_layer(
        [
            Entry.whiteout("usr/lib/python3/a.dist-info"),
            Entry.opaque("app/node_modules"),
            Entry(".wh.top", b""),
            Entry("x/.wh..wh.plnk", b""),  # aufs bookkeeping: neither content nor a whiteout
        ]
    )
    assert entries(data) == [
        ("usr/lib/python3/a.dist-info", EntryType.WHITEOUT),
        ("app/node_modules", EntryType.OPAQUE),
        ("top", EntryType.WHITEOUT),
    ]


# --- limits -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.tar.gz"
    size = write_gzip_bomb(path, zero_bytes=2 << 30)
    assert size < 4 * MiB  # 2 GiB of zeros in about 2 MiB
    return path


def _scan_file(path: Path, limits: ScanLimits) -> tuple[ScanFailed, float, int]:
    def open_layer() -> BinaryIO:
        return path.open("rb")

    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ScanFailed) as info:
            build_inventory([(GZIP, open_layer)], limits)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, elapsed, peak


def test_gzip_bomb_stops_on_the_compression_ratio(gzip_bomb: Path) -> None:
    failure, elapsed, peak = _scan_file(gzip_bomb, ScanLimits())
    assert "decompression bomb" in failure.reason
    assert elapsed < 2
    assert peak < 8 * MiB


def test_gzip_bomb_stops_on_the_layer_size_without_a_ratio_limit(gzip_bomb: Path) -> None:
    limits = ScanLimits(max_compression_ratio=1e9, max_layer_bytes=256 * MiB)
    failure, elapsed, peak = _scan_file(gzip_bomb, limits)
    assert "per-layer limit" in failure.reason
    assert elapsed < 10
    assert peak < 8 * MiB


def test_the_bomb_is_a_valid_archive(tmp_path: Path) -> None:
    """The bomb generator writes a correct gzip: a small one reads to the end without limits."""
    path = tmp_path / "small.tar.gz"
    write_gzip_bomb(path, zero_bytes=8 * MiB, member="var/lib/zeros")
    with open(path, "rb") as f:
        assert entries(f.read(), limits=ScanLimits(max_compression_ratio=1e9)) == [
            ("var/lib/zeros", EntryType.FILE)
        ]
    with gzip.open(path) as unzipped, tarfile.open(fileobj=unzipped, mode="r|") as tar:
        assert [m.size for m in tar] == [8 * MiB]


def test_layer_and_image_size_limits() -> None:
    noise = tar_bytes([Entry("blob", os.urandom(2 * MiB))])  # incompressible: no ratio trip
    with pytest.raises(ScanFailed, match="per-layer limit"):
        names([(TAR, noise)], ScanLimits(max_layer_bytes=1 * MiB))
    assert names([(TAR, noise)], ScanLimits(max_layer_bytes=3 * MiB)) == []
    limits = ScanLimits(max_layer_bytes=3 * MiB, max_image_bytes=5 * MiB)
    with pytest.raises(ScanFailed, match="per-image limit"):
        names([(TAR, noise), (TAR, noise), (TAR, noise)], limits)


def test_file_count_limit_spans_the_image() -> None:
    layer = gzip_layer([Entry(f"f{i}", b"") for i in range(30)])
    assert names([(GZIP, layer), (GZIP, layer)], ScanLimits(max_files=60)) == []
    with pytest.raises(ScanFailed, match="more than 59 entries"):
        names([(GZIP, layer), (GZIP, layer)], ScanLimits(max_files=59))


def test_size_limit_of_a_file_read_into_memory() -> None:
    big = META + b"X-Padding: " + b"x" * MiB + b"\n"
    entry = Entry("srv/attrs-23.1.0.dist-info/METADATA", big)
    assert names([(GZIP, gzip_layer([entry]))]) == ["attrs"]
    with pytest.raises(ScanFailed, match=r"METADATA is \d+ bytes"):
        names([(GZIP, gzip_layer([entry]))], ScanLimits(max_file_bytes=MiB))
    # Files the scanner does not read may be any size.
    other = Entry("srv/big.bin", bytes(2 * MiB))
    assert names([(GZIP, gzip_layer([other, ATTRS]))], ScanLimits(max_file_bytes=MiB)) == ["attrs"]


def test_oversized_tar_extension_headers_are_refused() -> None:
    """tarfile reads a pax header or GNU long name whole into memory: those are capped."""
    long_name = "d/" * 300_000 + "f"  # a 600 kB path, carried in a pax header
    pax = tar_bytes([Entry(long_name, b"x")])
    gnu = tar_bytes([Entry(long_name, b"x")], fmt=tarfile.GNU_FORMAT)
    for data in (pax, gnu):
        assert entries(data, TAR) == [(long_name, EntryType.FILE)]
        with pytest.raises(ScanFailed, match="extension header"):
            entries(data, TAR, ScanLimits(max_file_bytes=100_000))


def test_sparse_members_are_refused() -> None:
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    data = info.tobuf(tarfile.GNU_FORMAT) + bytes(1024)
    with pytest.raises(ScanFailed, match="sparse"):
        entries(data, TAR)


def test_limits_validate() -> None:
    with pytest.raises(ValueError):
        ScanLimits(max_files=-1)
    with pytest.raises(ValueError):
        ScanLimits(max_compression_ratio=0.5)
