"""Where the s3 backend keeps blobs, apart from the backend itself: reading settings and
naming the backend's failure need no botocore, which a filesystem-backed process should not
pay for (about 10 MiB per worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20
DEFAULT_PART_SIZE = 10 * MiB  # ECR's partSize too: its layer parts fill S3 parts exactly


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where and how the S3 backend stores blobs.

    Empty credentials mean botocore's usual chain (``AWS_ACCESS_KEY_ID`` and friends, the
    shared credentials file, an instance role). An empty endpoint means Amazon S3.
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    part_size: int = DEFAULT_PART_SIZE
    temp_dir: Path | None = None  # where parts wait while they fill; None: the system's
    # Hand clients presigned URLs (blob GET redirects, GetDownloadUrlForLayer); off when
    # they cannot reach the endpoint, and the server sends the bytes itself.
    presign: bool = True

    def key_prefix(self) -> str:
        """The prefix as keys use it: no leading slash, one trailing slash (or empty)."""
        prefix = self.prefix.strip("/")
        return prefix + "/" if prefix else ""


class S3Unavailable(RuntimeError):
    """The bucket cannot be reached or created (wrong endpoint, credentials or rights)."""
