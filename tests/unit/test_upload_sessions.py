"""Upload sessions across processes: two registries opened on one data directory stand for
two workers (each has its own memory), as the requests of one push may land on either."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dockyard.app import open_registry
from dockyard.config import load_settings
from dockyard.domain.digests import Digest
from dockyard.domain.records import RepositoryConfig, RepositoryKey
from dockyard.services import Registry
from dockyard.services import uploads as uploads_module


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[Registry, Registry]]:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    first = open_registry(settings)
    second = open_registry(settings, upgrade=False)
    yield first, second
    second.close()
    first.close()


async def _body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _repository(registry: Registry) -> RepositoryKey:
    key = registry.key("sessions/app")
    await registry.repositories.create(key, RepositoryConfig(), {})
    return key


def _held(registry: Registry) -> tuple[int, int]:
    uploads = registry.uploads
    return len(uploads._hashes), len(uploads._locks)


def test_an_upload_finished_by_another_worker_leaves_nothing_in_either(
    workers: tuple[Registry, Registry],
) -> None:
    first, second = workers
    data = b"layer bytes " * 5000
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())

    async def scenario() -> None:
        key = await _repository(first)
        whole = await first.uploads.start(key)
        # POST on one worker, PUT with the whole body on the other: hashed as it arrives.
        assert await second.uploads.complete(key, whole.upload_id, digest, _body(data)) == len(data)
        assert _held(first) == (0, 0) and _held(second) == (0, 0)
        # Chunks on one worker, the last one and the digest on the other: re-read there.
        chunked = await first.uploads.start(key)
        await first.uploads.append(key, chunked.upload_id, _body(data[:7000]), 0, 7000)
        assert _held(first) == (1, 0)
        await second.uploads.complete(key, chunked.upload_id, digest, _body(data[7000:]), 7000)
        assert _held(second) == (0, 0)
        assert await second.blobs.lookup(key, str(digest)) == digest

    asyncio.run(scenario())


def test_a_worker_keeps_a_bounded_number_of_running_hashes(
    workers: tuple[Registry, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = workers
    monkeypatch.setattr(uploads_module, "_RUNNING_HASHES", 3)

    async def scenario() -> None:
        key = await _repository(first)
        started = [await first.uploads.start(key) for _ in range(5)]
        for state in started:
            await first.uploads.append(key, state.upload_id, _body(b"abc"), 0, 3)
        assert _held(first) == (3, 0)
        # The oldest was forgotten: its completion re-reads what it holds, and still checks.
        oldest = started[0]
        digest = Digest("sha256", hashlib.sha256(b"abcdef").hexdigest())
        await first.uploads.complete(key, oldest.upload_id, digest, _body(b"def"), 3)
        assert await first.blobs.lookup(key, str(digest)) == digest

    asyncio.run(scenario())
