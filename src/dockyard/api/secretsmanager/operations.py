"""Secrets Manager's operations that pull-through cache credentials need, and those that
tools managing such secrets call (Terraform's provider reads every secret's resource policy,
moves version labels and lists versions): CreateSecret, UpdateSecret, PutSecretValue,
GetSecretValue, DescribeSecret, ListSecrets, ListSecretVersionIds, UpdateSecretVersionStage,
TagResource, UntagResource, GetResourcePolicy, DeleteSecret and RestoreSecret.

Each acts in the caller's account and the region the request is signed for. Values travel
only in the answers of GetSecretValue; no handler logs, and the endpoint logs inputs with
the model's ``sensitive`` members (SecretString, SecretBinary) redacted. Secrets take no
resource policies, rotation or replicas here: AddReplicaRegions is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from dockyard.api.aws.model import load_model
from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.service import Call
from dockyard.domain.errors import DockyardError, InvalidRequest, SecretRequestInvalid
from dockyard.domain.records import Scope
from dockyard.domain.secrets import SecretRecord, SecretValue
from dockyard.services.secrets import NewSecret

#: Secrets Manager's operations, checked against botocore's model.
OPERATIONS: OperationRegistry[Call] = OperationRegistry(load_model("secretsmanager"))
operation = OPERATIONS.operation
DEFAULT_PAGE = 100


class NextTokenInvalid(DockyardError):
    def describe(self) -> str:
        return "The NextToken is not one this server gave"


def _scope(call: Call) -> Scope:
    return call.registry.scope_of(call.caller.account_id, call.region)


def _value(body: dict[str, Any]) -> SecretValue | None:
    text, binary = body.get("SecretString"), body.get("SecretBinary")
    if text is not None and binary is not None:
        raise InvalidRequest("Give SecretString or SecretBinary, not both")
    if binary is not None:
        try:
            return SecretValue(binary=base64.b64decode(str(binary), validate=True))
        except (binascii.Error, ValueError):
            raise InvalidRequest("SecretBinary is not base64") from None
    return None if text is None else SecretValue(text=str(text))


def _pairs(tags: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(t["Key"]), str(t.get("Value", ""))) for t in tags or ())


def _tags(record: SecretRecord) -> list[dict[str, str]] | None:
    return [{"Key": k, "Value": v} for k, v in record.tags] or None


def _stages(record: SecretRecord) -> dict[str, list[str]]:
    return {v.version_id: list(v.stages) for v in record.versions}


def _described(record: SecretRecord) -> dict[str, Any]:
    """What DescribeSecret and ListSecrets tell of a secret (the version map aside)."""
    return {
        "ARN": record.arn,
        "Name": record.name,
        "Description": record.description,
        "KmsKeyId": record.kms_key_id,
        "RotationEnabled": False,
        "LastChangedDate": record.changed_at,
        "DeletedDate": record.deletion_date,
        "Tags": _tags(record),
        "CreatedDate": record.created_at,
    }


@operation("CreateSecret")
async def create_secret(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("AddReplicaRegions"):
        raise SecretRequestInvalid("Dockyard keeps no replicas of secrets in other regions")
    new = NewSecret(
        name=str(body["Name"]),
        value=_value(body),
        version_id=body.get("ClientRequestToken"),
        description=body.get("Description"),
        kms_key_id=body.get("KmsKeyId"),
        tags=_pairs(body.get("Tags")),
    )
    record, version_id = await call.registry.secrets.create(_scope(call), new)
    return {"ARN": record.arn, "Name": record.name, "VersionId": version_id}


@operation("PutSecretValue")
async def put_secret_value(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    value = _value(body)
    if value is None:
        raise InvalidRequest("PutSecretValue needs SecretString or SecretBinary")
    record, version = await call.registry.secrets.put_value(
        _scope(call),
        str(body["SecretId"]),
        value,
        body.get("ClientRequestToken"),
        body.get("VersionStages"),
    )
    return {
        "ARN": record.arn,
        "Name": record.name,
        "VersionId": version.version_id,
        "VersionStages": list(version.stages),
    }


@operation("UpdateSecret")
async def update_secret(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    details = {
        column: str(body[member])
        for member, column in (("Description", "description"), ("KmsKeyId", "kms_key_id"))
        if body.get(member) is not None
    }
    record, version = await call.registry.secrets.update(
        _scope(call),
        str(body["SecretId"]),
        details,
        _value(body),
        body.get("ClientRequestToken"),
    )
    answer = {"ARN": record.arn, "Name": record.name}
    return answer if version is None else {**answer, "VersionId": version.version_id}


@operation("UpdateSecretVersionStage")
async def update_secret_version_stage(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    record = await call.registry.secrets.move_stage(
        _scope(call),
        str(body["SecretId"]),
        str(body["VersionStage"]),
        body.get("RemoveFromVersionId"),
        body.get("MoveToVersionId"),
    )
    return {"ARN": record.arn, "Name": record.name}


@operation("ListSecretVersionIds")
async def list_secret_version_ids(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    # A version that loses its last label is dropped here, so IncludeDeprecated adds none.
    record = await call.registry.secrets.describe(_scope(call), str(body["SecretId"]))
    limit = int(body.get("MaxResults") or DEFAULT_PAGE)
    start = _offset(body.get("NextToken"))
    versions = sorted(record.versions, key=lambda v: (v.created_at, v.version_id))
    result: dict[str, Any] = {
        "ARN": record.arn,
        "Name": record.name,
        "Versions": [
            {
                "VersionId": v.version_id,
                "VersionStages": list(v.stages),
                "CreatedDate": v.created_at,
            }
            for v in versions[start : start + limit]
        ],
    }
    return _paged(result, start + limit, len(versions))


@operation("TagResource")
async def tag_resource(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    await call.registry.secrets.retag(
        _scope(call), str(body["SecretId"]), add=_pairs(body.get("Tags"))
    )
    return {}


@operation("UntagResource")
async def untag_resource(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    keys = tuple(str(k) for k in body.get("TagKeys") or ())
    await call.registry.secrets.retag(_scope(call), str(body["SecretId"]), remove=keys)
    return {}


@operation("GetResourcePolicy")
async def get_resource_policy(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    # No secret holds a resource policy here (PutResourcePolicy is not served): the answer a
    # secret without one gets, so tools that read it on every refresh work.
    record = await call.registry.secrets.describe(_scope(call), str(body["SecretId"]))
    return {"ARN": record.arn, "Name": record.name}


@operation("GetSecretValue")
async def get_secret_value(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    record, version, value = await call.registry.secrets.get_value(
        _scope(call), str(body["SecretId"]), body.get("VersionId"), body.get("VersionStage")
    )
    return {
        "ARN": record.arn,
        "Name": record.name,
        "VersionId": version.version_id,
        "SecretString": value.text,
        "SecretBinary": value.binary,
        "VersionStages": list(version.stages),
        "CreatedDate": version.created_at,
    }


@operation("DescribeSecret")
async def describe_secret(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    record = await call.registry.secrets.describe(_scope(call), str(body["SecretId"]))
    return {**_described(record), "VersionIdsToStages": _stages(record)}


@operation("DeleteSecret")
async def delete_secret(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    window = body.get("RecoveryWindowInDays")
    record, date = await call.registry.secrets.delete(
        _scope(call),
        str(body["SecretId"]),
        None if window is None else int(window),
        bool(body.get("ForceDeleteWithoutRecovery")),
    )
    return {"ARN": record.arn, "Name": record.name, "DeletionDate": date}


@operation("RestoreSecret")
async def restore_secret(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    record = await call.registry.secrets.restore(_scope(call), str(body["SecretId"]))
    return {"ARN": record.arn, "Name": record.name}


# ListSecrets ---------------------------------------------------------------------


def _words(record: SecretRecord) -> list[str]:
    texts = [record.name, record.description or ""]
    texts += [part for pair in record.tags for part in pair]
    return [word.lower() for text in texts for word in text.split()] + [
        text.lower() for text in texts
    ]


def _hit(record: SecretRecord, key: str, value: str) -> bool:
    """Whether one filter value matches: prefix matches, as Secrets Manager's filters are
    (the description's and ``all``'s ignoring case)."""
    if key == "name":
        return record.name.startswith(value)
    if key == "description":
        return (record.description or "").lower().startswith(value.lower())
    if key == "tag-key":
        return any(k.startswith(value) for k, _ in record.tags)
    if key == "tag-value":
        return any(v.startswith(value) for _, v in record.tags)
    if key == "all":
        words = _words(record)
        return all(any(w.startswith(part) for w in words) for part in value.lower().split())
    return False  # primary-region, owning-service: no secret here has either


def _matches(record: SecretRecord, filters: list[dict[str, Any]]) -> bool:
    for found in filters:
        key, values = str(found.get("Key", "all")), [str(v) for v in found.get("Values", [])]
        wanted = [v for v in values if not v.startswith("!")]
        unwanted = [v[1:] for v in values if v.startswith("!")]
        if wanted and not any(_hit(record, key, v) for v in wanted):
            return False
        if any(_hit(record, key, v) for v in unwanted):
            return False
    return True


def _sort_key(by: str) -> Any:
    def key(record: SecretRecord) -> tuple[Any, ...]:
        if by == "name":
            return (record.name,)
        moment: datetime = record.changed_at if by == "last-changed-date" else record.created_at
        return (moment, record.name)

    return key


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise NextTokenInvalid() from None
    if not isinstance(value, int) or value < 0:
        raise NextTokenInvalid()
    return value


@operation("ListSecrets")
async def list_secrets(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    limit = int(body.get("MaxResults") or DEFAULT_PAGE)
    start = _offset(body.get("NextToken"))
    found = await call.registry.secrets.listing(
        _scope(call), bool(body.get("IncludePlannedDeletion"))
    )
    chosen = [r for r in found if _matches(r, list(body.get("Filters") or ()))]
    # last-accessed-date is not kept: such a listing is by creation.
    chosen.sort(key=_sort_key(str(body.get("SortBy") or "created-date")))
    if body.get("SortOrder") == "desc":
        chosen.reverse()
    page = chosen[start : start + limit]
    result: dict[str, Any] = {
        "SecretList": [{**_described(r), "SecretVersionsToStages": _stages(r)} for r in page]
    }
    return _paged(result, start + limit, len(chosen))


def _paged(result: dict[str, Any], end: int, total: int) -> dict[str, Any]:
    """``result`` with the NextToken of the page after ``end``, when there is one."""
    if end < total:
        token = json.dumps({"offset": end}).encode()
        result["NextToken"] = base64.urlsafe_b64encode(token).decode()
    return result
