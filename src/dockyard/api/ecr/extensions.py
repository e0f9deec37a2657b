"""Dockyard's own ECR operations, in botocore's model format, kept apart from ECR's.

ECR replicates only what is pushed after a rule exists; replicating what was there
before is a backfill, which ECR has no operation for. These four operations are served on
ECR's target prefix (``AmazonEC2ContainerRegistry_V20150921.StartReplicationBackfill``),
shaped like ECR's own (camelCase JSON, ``__type`` errors), and described here in the
model's own format, so the same validation, dispatch, authorization (``ecr:<Operation>``)
and error mapping serve them as serve botocore's operations. ``extend`` adds them to
botocore's model and refuses a name botocore already has: an ECR release that brings an
operation of the same name must be looked at, not shadowed.

A few members are added to ECR's own shapes as well (``AMENDMENTS``): a replication
rule's tag filters. ECR's members keep their shapes, so an ECR
configuration reads and answers exactly as in ECR; the additions appear only where used.

``python -m dockyard.api.ecr.extensions DIR`` writes the extended model where botocore
looks for models (``DIR/ecr/2015-09-21/service-2.json``): with ``AWS_DATA_PATH=DIR`` the
aws CLI and boto3 know the extensions (``aws ecr start-replication-backfill``).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ERRORS = [
    {"shape": "ServerException"},
    {"shape": "InvalidParameterException"},
    {"shape": "ValidationException"},
]
_NOT_FOUND = {"shape": "ReplicationBackfillNotFoundException"}


def _operation(name: str, doc: str, *errors: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "http": {"method": "POST", "requestUri": "/"},
        "input": {"shape": f"{name}Request"},
        "output": {"shape": f"{name}Response"},
        "errors": [*_ERRORS, *errors],
        "documentation": f"<p>{doc} (a Dockyard extension: ECR has no such operation.)</p>",
    }


def _member(shape: str, doc: str) -> dict[str, str]:
    return {"shape": shape, "documentation": f"<p>{doc}</p>"}


OPERATIONS: dict[str, dict[str, Any]] = {
    "StartReplicationBackfill": _operation(
        "StartReplicationBackfill",
        "Replicates the images already in the registry that the current replication "
        "configuration covers, optionally only in one repository or in the repositories "
        "the filters match.",
        {"shape": "RepositoryNotFoundException"},
    ),
    "StopReplicationBackfill": _operation(
        "StopReplicationBackfill",
        "Stops a backfill: it queues nothing more, and replications it queued that have not "
        "started do not run.",
        _NOT_FOUND,
    ),
    "ListReplicationBackfills": _operation(
        "ListReplicationBackfills", "Lists the registry's backfills, newest first."
    ),
    "DescribeReplicationBackfillResults": _operation(
        "DescribeReplicationBackfillResults",
        "Describes a backfill and the outcome of each replication it queued.",
        _NOT_FOUND,
    ),
}

SHAPES: dict[str, dict[str, Any]] = {
    "ReplicationBackfillId": {"type": "string", "pattern": _UUID},
    "ReplicationBackfillStatus": {
        "type": "string",
        "enum": ["IN_PROGRESS", "COMPLETE", "STOPPED"],
    },
    "ReplicationBackfillCount": {"type": "integer", "min": 0},
    "ReplicationBackfillMaxResults": {"type": "integer", "max": 1000, "min": 1},
    "ReplicationBackfill": {
        "type": "structure",
        "members": {
            "backfillId": _member("ReplicationBackfillId", "The backfill's id."),
            "registryId": _member("RegistryId", "The registry whose images it replicates."),
            "repositoryName": _member("RepositoryName", "The one repository it covers."),
            "repositoryFilters": _member(
                "RepositoryFilterList", "The repositories it covers, by name prefix."
            ),
            "status": _member("ReplicationBackfillStatus", "Where it stands."),
            "createdAt": _member("CreationTimestamp", "When it was started."),
            "finishedAt": _member("CreationTimestamp", "When it completed or was stopped."),
            "replicationsQueued": _member(
                "ReplicationBackfillCount", "Replications (image and destination) it queued."
            ),
            "replicationsCompleted": _member(
                "ReplicationBackfillCount", "Of those, how many are complete."
            ),
            "replicationsFailed": _member("ReplicationBackfillCount", "Of those, how many failed."),
        },
    },
    "ReplicationBackfillList": {"type": "list", "member": {"shape": "ReplicationBackfill"}},
    "ReplicationBackfillResult": {
        "type": "structure",
        "members": {
            "repositoryName": _member("RepositoryName", "The image's repository."),
            "imageDigest": _member("ImageDigest", "The image's digest."),
            "region": _member("Region", "The destination's region."),
            "registryId": _member("RegistryId", "The destination's registry."),
            "status": _member("ReplicationStatus", "The replication's outcome."),
            "failureCode": _member("ReplicationError", "Why it failed."),
        },
    },
    "ReplicationBackfillResultList": {
        "type": "list",
        "member": {"shape": "ReplicationBackfillResult"},
    },
    "StartReplicationBackfillRequest": {
        "type": "structure",
        "members": {
            "repositoryName": _member("RepositoryName", "Only this repository."),
            "repositoryFilters": _member(
                "RepositoryFilterList", "Only the repositories these prefixes match."
            ),
        },
    },
    "StartReplicationBackfillResponse": {
        "type": "structure",
        "members": {"backfill": {"shape": "ReplicationBackfill"}},
    },
    "StopReplicationBackfillRequest": {
        "type": "structure",
        "required": ["backfillId"],
        "members": {"backfillId": _member("ReplicationBackfillId", "The backfill to stop.")},
    },
    "StopReplicationBackfillResponse": {
        "type": "structure",
        "members": {"backfill": {"shape": "ReplicationBackfill"}},
    },
    "ListReplicationBackfillsRequest": {
        "type": "structure",
        "members": {
            "nextToken": _member("NextToken", "The nextToken of the previous page."),
            "maxResults": _member("ReplicationBackfillMaxResults", "At most this many (100)."),
        },
    },
    "ListReplicationBackfillsResponse": {
        "type": "structure",
        "members": {
            "backfills": {"shape": "ReplicationBackfillList"},
            "nextToken": {"shape": "NextToken"},
        },
    },
    "DescribeReplicationBackfillResultsRequest": {
        "type": "structure",
        "required": ["backfillId"],
        "members": {
            "backfillId": _member("ReplicationBackfillId", "The backfill."),
            "nextToken": _member("NextToken", "The nextToken of the previous page."),
            "maxResults": _member("ReplicationBackfillMaxResults", "At most this many (100)."),
        },
    },
    "DescribeReplicationBackfillResultsResponse": {
        "type": "structure",
        "members": {
            "backfill": {"shape": "ReplicationBackfill"},
            "results": {"shape": "ReplicationBackfillResultList"},
            "nextToken": {"shape": "NextToken"},
        },
    },
    "ReplicationBackfillNotFoundException": {
        "type": "structure",
        "members": {"message": {"shape": "ExceptionMessage"}},
        "documentation": "<p>The registry has no backfill of that id.</p>",
        "exception": True,
    },
}


# Members Dockyard adds to ECR's own shapes. ECR's members keep their shapes and
# meaning; a member of the same name in a newer botocore is refused, as a clashing
# operation is. A replication rule may filter on tags.
AMENDMENTS: dict[str, dict[str, Any]] = {
    "ReplicationRule": {
        "imageTagFilters": _member(
            "ReplicationImageTagFilterList",
            "Only images with a tag that one of these WILDCARD patterns matches are "
            "replicated, with the tags that match (a Dockyard extension).",
        ),
    },
}

SHAPES.update(
    {
        "ReplicationImageTagFilterType": {"type": "string", "enum": ["WILDCARD"]},
        "ReplicationImageTagFilterValue": {
            "type": "string",
            "max": 128,
            "min": 1,
            "pattern": "^[0-9a-zA-Z._*-]{1,128}$",
        },
        "ReplicationImageTagFilter": {
            "type": "structure",
            "required": ["filter", "filterType"],
            "members": {
                "filter": _member(
                    "ReplicationImageTagFilterValue",
                    "A tag pattern: <code>*</code> matches any run of characters.",
                ),
                "filterType": _member("ReplicationImageTagFilterType", "WILDCARD."),
            },
        },
        "ReplicationImageTagFilterList": {
            "type": "list",
            "member": {"shape": "ReplicationImageTagFilter"},
            "max": 100,
            "min": 0,
        },
    }
)


def extend(raw: dict[str, Any]) -> dict[str, Any]:
    """botocore's ECR model (as read from its file) with the extensions added."""
    extended = copy.deepcopy(raw)
    for table, added in (("operations", OPERATIONS), ("shapes", SHAPES)):
        clash = sorted(set(added) & set(extended[table]))
        if clash:
            raise RuntimeError(
                f"botocore's ECR model now has {', '.join(clash)}: Dockyard's extension of "
                "the same name must be reconciled with it"
            )
        extended[table].update(copy.deepcopy(added))
    for shape_name, members in AMENDMENTS.items():
        shape = extended["shapes"][shape_name]
        clash = sorted(set(members) & set(shape["members"]))
        if clash:
            raise RuntimeError(
                f"botocore's ECR shape {shape_name} now has {', '.join(clash)}: Dockyard's "
                "member of the same name must be reconciled with it"
            )
        shape["members"].update(copy.deepcopy(members))
    return extended


def write_model(raw: dict[str, Any], root: Path) -> Path:
    """Write the extended model under ``root`` where botocore's AWS_DATA_PATH looks."""
    folder = root / "ecr" / str(raw["metadata"]["apiVersion"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "service-2.json"
    path.write_text(json.dumps(extend(raw)))
    return path


if __name__ == "__main__":  # pragma: no cover - a tool for users of the aws CLI
    from dockyard.api.ecr.shapes import botocore_raw_model

    if len(sys.argv) != 2:
        sys.exit("usage: python -m dockyard.api.ecr.extensions DIR   (then AWS_DATA_PATH=DIR)")
    print(write_model(botocore_raw_model(), Path(sys.argv[1])))
