"""Which regions a deployment serves: every region botocore knows ECR in, or the operator's
list.

botocore's endpoint data is the list AWS's own SDKs work from, over every partition (aws,
aws-cn, aws-us-gov, ...), so a new region arrives with a botocore upgrade and no list is
kept here. The file is read directly: importing botocore would cost each worker about
10 MiB for a list read once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

_ECR_ENDPOINT_PREFIX = "api.ecr"  # the ECR model's metadata.endpointPrefix


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows ECR in, in every partition: as botocore's
    ``get_available_regions`` answers, an ECR endpoint named after one of its partition's
    regions (not the FIPS and global endpoints)."""
    return frozenset(
        name
        for partition in _endpoint_data()["partitions"]
        for name in partition["services"].get(_ECR_ENDPOINT_PREFIX, {}).get("endpoints", {})
        if name in partition["regions"]
    )


def _endpoint_data() -> Any:
    data = resources.files("botocore").joinpath("data")
    for candidate, opener in (("endpoints.json.gz", gzip.open), ("endpoints.json", open)):
        path = data.joinpath(candidate)
        if path.is_file():
            with opener(str(path), "rt", encoding="utf-8") as file:
                return json.load(file)
    raise FileNotFoundError(f"no endpoints.json(.gz) in {data}")


def served_regions(restricted: Iterable[str], default: str) -> frozenset[str]:
    """The operator's list when there is one, else every known region; the default region is
    always served (it may be newer than this botocore)."""
    chosen = frozenset(restricted)
    return (chosen or known_regions()) | {default}
