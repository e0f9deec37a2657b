"""Which regions a deployment serves: every region botocore knows ECR in, or the operator's
list.

botocore's endpoint data is the list AWS's own SDKs work from, over every partition (aws,
aws-cn, aws-us-gov, ...), so a new region arrives with a botocore upgrade and no list is
kept here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import botocore.session  # type: ignore[import-untyped]


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows ECR in, in every partition."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ecr", partition_name=partition)
    )


def served_regions(restricted: Iterable[str], default: str) -> frozenset[str]:
    """The operator's list when there is one, else every known region; the default region is
    always served (it may be newer than this botocore)."""
    chosen = frozenset(restricted)
    return (chosen or known_regions()) | {default}
