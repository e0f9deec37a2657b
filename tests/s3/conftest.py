"""Dockyard servers on the s3 storage backend, against the session's SeaweedFS.

``s3_server(data_dir=None, prefix=None, env=None, open_access=True, args=())`` starts one
(stopped at the end of the test): its blobs under a fresh key prefix of the shared bucket,
credentials from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` as an operator would give
them. ``S3Server`` says where its bytes went.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.seaweed import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, SeaweedFS
from tests.support.servers import DockyardProcess


@dataclass
class S3Server:
    process: DockyardProcess
    seaweed: SeaweedFS
    prefix: str

    @property
    def url(self) -> str:
        return self.process.url

    def objects(self) -> list[str]:
        """Every key it holds, under its prefix."""
        return self.seaweed.keys(self.prefix)


def s3_args(seaweed: SeaweedFS, prefix: str) -> list[str]:
    """The serve options that put a node's blobs in SeaweedFS under ``prefix``."""
    return [
        *("--storage-backend", "s3"),
        *("--s3-bucket", BUCKET),
        *("--s3-prefix", prefix),
        *("--s3-endpoint-url", seaweed.endpoint),
        *("--s3-region", REGION),
        *("--workers", "1"),
    ]


S3_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

StartS3Server = Callable[..., S3Server]


@pytest.fixture
def s3_server(seaweed: SeaweedFS, tmp_path: Path) -> Iterator[StartS3Server]:
    with contextlib.ExitStack() as stack:

        def start(
            data_dir: Path | None = None,
            prefix: str | None = None,
            env: dict[str, str] | None = None,
            open_access: bool = True,
            args: tuple[str, ...] = (),
        ) -> S3Server:
            prefix = prefix or seaweed.fresh_prefix()
            data_dir = data_dir or tmp_path / f"data-{uuid.uuid4().hex[:6]}"
            process = DockyardProcess(
                data_dir,
                extra_args=[*s3_args(seaweed, prefix), *args],
                env={**S3_ENV, **(env or {})},
                log_dir=tmp_path / "logs",
                open_access=open_access,
            )
            stack.enter_context(process.serving())
            return S3Server(process, seaweed, prefix)

        yield start
