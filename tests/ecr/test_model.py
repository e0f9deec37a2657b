"""Every implemented operation, called with every member its input shape defines.

Request bodies are generated from botocore's ECR model (``dockyard.api.ecr.shapes``): every
member of the input shape, recursively, with values that satisfy the model's enums, lengths,
ranges and patterns. Where a value must refer to something real (a repository, an upload, a
digest, a page token) or must make semantic sense (exclusion filters go with a
``*_WITH_EXCLUSION`` mutability), an override supplies it. The request goes through boto3,
so botocore's own validation and serialization apply as for any client.

The server must accept each request (no SerializationException or InvalidParameterException
for a member the model defines) and answer with a body that matches the output shape
(``check_output(op, body) == []``).

Two operations forbid some members together (ECR: ``nextToken``/``maxResults`` "cannot be
used" with ``repositoryNames`` / ``imageIds``). They are sent as two requests that together
hold every member; each is checked.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from dockyard.api.ecr.context import encode_token
from dockyard.api.ecr.operations import HANDLERS
from dockyard.api.ecr.shapes import Shape, check_output, compile_pattern, load_model
from tests.support.ecr import ACCOUNT, extended_client, push_layer_api, upload_layer
from tests.support.images import OCI_MANIFEST, make_image, sha256_digest
from tests.support.secrets import secrets_client
from tests.support.servers import free_port

MODEL = load_model()

# The operations the brief lists; HANDLERS must be exactly these (a new handler needs a case).
IMPLEMENTED = {
    "CreateRepository",
    "DescribeRepositories",
    "DeleteRepository",
    "PutImageTagMutability",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "ListImages",
    "DescribeImages",
    "BatchGetImage",
    "BatchDeleteImage",
    "PutImage",
    "InitiateLayerUpload",
    "UploadLayerPart",
    "CompleteLayerUpload",
    "BatchCheckLayerAvailability",
    "GetDownloadUrlForLayer",
    "GetAuthorizationToken",
    "DescribeRegistry",
    "GetAccountSetting",
    "PutAccountSetting",
    "PutLifecyclePolicy",
    "GetLifecyclePolicy",
    "DeleteLifecyclePolicy",
    "StartLifecyclePolicyPreview",
    "GetLifecyclePolicyPreview",
    "UpdateImageStorageClass",
    "RegisterPullTimeUpdateExclusion",
    "DeregisterPullTimeUpdateExclusion",
    "ListPullTimeUpdateExclusions",
    "PutImageScanningConfiguration",
    "PutRegistryScanningConfiguration",
    "GetRegistryScanningConfiguration",
    "BatchGetRepositoryScanningConfiguration",
    "StartImageScan",
    "DescribeImageScanFindings",
    "SetRepositoryPolicy",
    "GetRepositoryPolicy",
    "DeleteRepositoryPolicy",
    "PutRegistryPolicy",
    "GetRegistryPolicy",
    "DeleteRegistryPolicy",
    "CreateRepositoryCreationTemplate",
    "DescribeRepositoryCreationTemplates",
    "UpdateRepositoryCreationTemplate",
    "DeleteRepositoryCreationTemplate",
    "PutReplicationConfiguration",
    "DescribeImageReplicationStatus",
    # Dockyard's own, on ECR's door (api/ecr/extensions.py): the client knows them through
    # the extended model.
    "StartReplicationBackfill",
    "StopReplicationBackfill",
    "ListReplicationBackfills",
    "DescribeReplicationBackfillResults",
    "CreateExternalRegistry",
    "DescribeExternalRegistries",
    "UpdateExternalRegistry",
    "DeleteExternalRegistry",
    "CreatePullThroughCacheRule",
    "DescribePullThroughCacheRules",
    "UpdatePullThroughCacheRule",
    "DeletePullThroughCacheRule",
    "ValidatePullThroughCacheRule",
}

POLICY = (
    '{"rules": [{"rulePriority": 1, "description": "keep the last ten images of any kind", '
    '"selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}, '
    '"action": {"type": "expire"}}]}'
)

# Sample values for the model's string patterns (checked against the pattern below).
PATTERN_SAMPLES = {
    "RepositoryName": "model/sample",
    "RegistryId": ACCOUNT,
    "UploadId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "LayerDigest": "sha256:" + "0" * 64,
    "ImageTagMutabilityExclusionFilterValue": "dev-*",
    "Region": "eu-west-1",
    # Replication filters: a prefix no repository of the session has.
    "RepositoryFilterValue": "zz-model-no-such-prefix",
    "ReplicationBackfillId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "ReplicationImageTagFilterValue": "release-*",
    "ExternalRegistryName": "model-external",
    "ExternalRegistryCredentialArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:m-AbCdEf",
    "KmsKeyForRepositoryCreationTemplate": (
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    ),
}


# --------------------------------------------------------------------------- generation


def generate(shape: Shape, overrides: dict[str, Any], path: str = "") -> Any:
    """A value of ``shape`` holding every member; ``overrides`` by member path win."""
    if path in overrides:
        return overrides[path]
    kind = shape.type
    if kind == "structure":
        prefix = f"{path}." if path else ""
        return {
            name: generate(member, overrides, prefix + name)
            for name, member in shape.members.items()
        }
    if kind == "list":
        assert shape.member is not None
        count = max(1, int(shape.min or 0))
        return [generate(shape.member, overrides, f"{path}[]") for _ in range(count)]
    if kind == "map":
        assert shape.key is not None and shape.value is not None
        return {generate(shape.key, overrides, f"{path}{{}}"): generate(shape.value, overrides)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if shape.pattern is not None:
            if shape.name not in PATTERN_SAMPLES:
                raise AssertionError(f"no sample for pattern of {shape.name} at {path}")
            return PATTERN_SAMPLES[shape.name]
        return "x" * max(1, int(shape.min or 0))
    if kind in ("integer", "long"):
        return int(shape.min) if shape.min is not None else 1
    if kind in ("float", "double"):
        return float(shape.min) if shape.min is not None else 1.0
    if kind == "boolean":
        return True
    if kind == "blob":
        return b"x" * max(1, int(shape.min or 0))
    if kind == "timestamp":
        return datetime.now(UTC)
    raise AssertionError(f"cannot generate a {kind} ({shape.name}) at {path}")


def model_problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Where ``value`` breaks the model (independent of the server's validator)."""
    problems: list[str] = []
    kind = shape.type

    def length(n: int) -> None:
        if shape.min is not None and n < shape.min:
            problems.append(f"{path}: length {n} < {shape.min}")
        if shape.max is not None and n > shape.max:
            problems.append(f"{path}: length {n} > {shape.max}")

    if kind == "structure":
        for name in shape.required:
            if name not in value:
                problems.append(f"{path}.{name}: required")
        for name, item in value.items():
            problems += model_problems(shape.members[name], item, f"{path}.{name}".lstrip("."))
    elif kind == "list":
        length(len(value))
        assert shape.member is not None
        for item in value:
            problems += model_problems(shape.member, item, f"{path}[]")
    elif kind == "string":
        length(len(value))
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if shape.pattern and not compile_pattern(shape.pattern).fullmatch(value):
            problems.append(f"{path}: {value!r} !~ {shape.pattern}")
    elif kind in ("integer", "long"):
        if shape.min is not None and value < shape.min:
            problems.append(f"{path}: {value} < {shape.min}")
        if shape.max is not None and value > shape.max:
            problems.append(f"{path}: {value} > {shape.max}")
    elif kind == "blob":
        length(len(value))
    return problems


def missing_members(shape: Shape, values: list[Any], path: str = "") -> list[str]:
    """Member paths of ``shape`` that none of ``values`` holds (recursively)."""
    missing: list[str] = []
    if shape.type == "structure":
        for name, member in shape.members.items():
            where = f"{path}.{name}".lstrip(".")
            present = [v[name] for v in values if isinstance(v, dict) and name in v]
            if not present:
                missing.append(where)
            else:
                missing += missing_members(member, present, where)
    elif shape.type == "list":
        assert shape.member is not None
        items = [item for v in values for item in v]
        if not items:
            missing.append(f"{path}[]")
        else:
            missing += missing_members(shape.member, items, f"{path}[]")
    return missing


# --------------------------------------------------------------------------- the calls


@dataclass
class Raw:
    """Keeps the raw JSON body of the last response a client received."""

    body: dict[str, Any] = field(default_factory=dict)

    def __call__(self, http_response: Any, **_: Any) -> None:
        content = http_response.content
        self.body = json.loads(content) if content else {}


@dataclass
class World:
    ecr: Any
    raw: Raw
    repo: str
    tagged: Any  # an Image under tag "v1"
    layer: str  # a layer digest held by ``repo``

    def fresh_repo(self) -> str:
        name = f"{self.repo}-{uuid.uuid4().hex[:6]}"
        self.ecr.create_repository(repositoryName=name)
        return name

    def arn(self, name: str) -> str:
        return f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}"


@pytest.fixture(scope="module")
def world(endpoint: str) -> Iterator[World]:
    ecr = extended_client(endpoint)
    raw = Raw()
    ecr.meta.events.register("after-call.ecr", raw)
    repo = f"model/{uuid.uuid4().hex[:10]}"
    ecr.create_repository(repositoryName=repo)
    # A second repository, so DescribeRepositories pages at maxResults=1 whatever else the
    # session's server holds.
    ecr.create_repository(repositoryName=f"{repo}-second")
    images = [make_image(f"model/{repo}/{i}", layers=1) for i in range(3)]
    push_layer_api(ecr, repo, images[0], tag="v1")
    push_layer_api(ecr, repo, images[1], tag="v2")
    push_layer_api(ecr, repo, images[2])
    yield World(ecr, raw, repo, images[0], images[0].layers[0].digest)
    # The session's server goes on serving other modules: no replication rule stays.
    ecr.put_replication_configuration(replicationConfiguration={"rules": []})


Cases = list[dict[str, Any]]


def _pages(w: World) -> dict[str, str]:
    return {
        "repos": w.ecr.describe_repositories(maxResults=1)["nextToken"],
        "images": w.ecr.list_images(repositoryName=w.repo, maxResults=1)["nextToken"],
        "details": w.ecr.describe_images(repositoryName=w.repo, maxResults=1)["nextToken"],
    }


def case_create_repository(w: World) -> Cases:
    return [
        {
            "repositoryName": f"{w.repo}-created",
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "encryptionConfiguration.encryptionType": "KMS",
            "encryptionConfiguration.kmsKey": "alias/model-test",
            "tags[].Key": "k",
            "tags[].Value": "v",
        }
    ]


def case_describe_repositories(w: World) -> Cases:
    with_names = {"repositoryNames": [w.repo], "nextToken": None, "maxResults": None}
    paged = {"repositoryNames": None, "nextToken": _pages(w)["repos"], "maxResults": 1}
    return [with_names, paged]


def case_delete_repository(w: World) -> Cases:
    return [{"repositoryName": w.fresh_repo()}]


def case_put_image_tag_mutability(w: World) -> Cases:
    return [{"repositoryName": w.fresh_repo(), "imageTagMutability": "MUTABLE_WITH_EXCLUSION"}]


def case_tag_resource(w: World) -> Cases:
    return [{"resourceArn": w.arn(w.repo), "tags[].Key": "k", "tags[].Value": "v"}]


def case_untag_resource(w: World) -> Cases:
    return [{"resourceArn": w.arn(w.repo), "tagKeys[]": "k"}]


def case_list_tags_for_resource(w: World) -> Cases:
    return [{"resourceArn": w.arn(w.repo)}]


def case_list_images(w: World) -> Cases:
    return [
        {
            "repositoryName": w.repo,
            "nextToken": _pages(w)["images"],
            "maxResults": 1,
            "filter.tagStatus": "ANY",
            "filter.imageStatus": "ACTIVE",
        }
    ]


def case_describe_images(w: World) -> Cases:
    by_id = {
        "repositoryName": w.repo,
        "imageIds": [{"imageDigest": w.tagged.digest, "imageTag": "v1"}],
        "nextToken": None,
        "maxResults": None,
        "filter.tagStatus": "ANY",
        "filter.imageStatus": "ACTIVE",
    }
    paged = {
        "repositoryName": w.repo,
        "imageIds": None,
        "nextToken": _pages(w)["details"],
        "maxResults": 1,
        "filter.tagStatus": "ANY",
        "filter.imageStatus": "ACTIVE",
    }
    return [by_id, paged]


def case_batch_get_image(w: World) -> Cases:
    return [
        {
            "repositoryName": w.repo,
            "imageIds[].imageDigest": w.tagged.digest,
            "imageIds[].imageTag": "v1",
            "acceptedMediaTypes[]": OCI_MANIFEST,
        }
    ]


def case_batch_delete_image(w: World) -> Cases:
    img = make_image(f"model-del/{w.repo}", layers=1)
    push_layer_api(w.ecr, w.repo, img, tag="doomed")
    return [
        {
            "repositoryName": w.repo,
            "imageIds[].imageDigest": img.digest,
            "imageIds[].imageTag": "doomed",
        }
    ]


def case_put_image(w: World) -> Cases:
    img = make_image(f"model-put/{w.repo}", layers=1)
    for blob in img.blobs:
        upload_layer(w.ecr, w.repo, blob.data)
    return [
        {
            "repositoryName": w.repo,
            "imageManifest": img.manifest.data.decode(),
            "imageManifestMediaType": OCI_MANIFEST,
            "imageTag": "put",
            "imageDigest": img.digest,
        }
    ]


def case_initiate_layer_upload(w: World) -> Cases:
    return [{"repositoryName": w.repo}]


def case_upload_layer_part(w: World) -> Cases:
    upload_id = w.ecr.initiate_layer_upload(repositoryName=w.repo)["uploadId"]
    return [
        {
            "repositoryName": w.repo,
            "uploadId": upload_id,
            "partFirstByte": 0,
            "partLastByte": 2,
            "layerPartBlob": b"abc",
        }
    ]


def case_complete_layer_upload(w: World) -> Cases:
    data = f"model-complete {w.repo}".encode()
    upload_id = w.ecr.initiate_layer_upload(repositoryName=w.repo)["uploadId"]
    w.ecr.upload_layer_part(
        repositoryName=w.repo,
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=len(data) - 1,
        layerPartBlob=data,
    )
    return [
        {"repositoryName": w.repo, "uploadId": upload_id, "layerDigests[]": sha256_digest(data)}
    ]


def case_batch_check_layer_availability(w: World) -> Cases:
    return [{"repositoryName": w.repo, "layerDigests[]": w.layer}]


def case_get_download_url_for_layer(w: World) -> Cases:
    return [{"repositoryName": w.repo, "layerDigest": w.layer}]


def case_get_authorization_token(w: World) -> Cases:
    return [{}]


def case_describe_registry(w: World) -> Cases:
    return [{}]


def case_get_account_setting(w: World) -> Cases:
    return [{"name": "BLOB_MOUNTING"}]


def case_put_account_setting(w: World) -> Cases:
    current = w.ecr.get_account_setting(name="BLOB_MOUNTING")["value"]
    return [{"name": "BLOB_MOUNTING", "value": current}]


def case_put_lifecycle_policy(w: World) -> Cases:
    return [{"repositoryName": w.repo, "lifecyclePolicyText": POLICY}]


def case_get_lifecycle_policy(w: World) -> Cases:
    w.ecr.put_lifecycle_policy(repositoryName=w.repo, lifecyclePolicyText=POLICY)
    return [{"repositoryName": w.repo}]


def case_delete_lifecycle_policy(w: World) -> Cases:
    repo = w.fresh_repo()
    w.ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=POLICY)
    return [{"repositoryName": repo}]


def case_start_lifecycle_policy_preview(w: World) -> Cases:
    return [{"repositoryName": w.repo, "lifecyclePolicyText": POLICY}]


def case_get_lifecycle_policy_preview(w: World) -> Cases:
    w.ecr.start_lifecycle_policy_preview(repositoryName=w.repo, lifecyclePolicyText=POLICY)
    return [
        {
            "repositoryName": w.repo,
            "imageIds": None,
            "nextToken": None,
            "maxResults": 10,
            "filter.tagStatus": "ANY",
        },
        {
            "repositoryName": w.repo,
            "imageIds[].imageDigest": w.tagged.digest,
            "imageIds[].imageTag": "v1",
            "nextToken": FIRST_PAGE,
            "maxResults": None,
        },
    ]


def case_update_image_storage_class(w: World) -> Cases:
    img = make_image(f"model-archive/{w.repo}", layers=1)
    push_layer_api(w.ecr, w.repo, img, tag="archived")
    return [
        {
            "repositoryName": w.repo,
            "imageId.imageDigest": img.digest,
            "imageId.imageTag": "archived",
            "targetStorageClass": "ARCHIVE",
        }
    ]


# A first-page token in the server's own opaque format: these lists are too short here
# to hand one out, and the model test must still send the member.
FIRST_PAGE = base64.urlsafe_b64encode(json.dumps({"after": 0}).encode()).decode()


def case_register_pull_time_update_exclusion(w: World) -> Cases:
    return [{"principalArn": f"arn:aws:iam::{ACCOUNT}:user/model-{uuid.uuid4().hex[:8]}"}]


def case_deregister_pull_time_update_exclusion(w: World) -> Cases:
    arn = f"arn:aws:iam::{ACCOUNT}:user/model-{uuid.uuid4().hex[:8]}"
    w.ecr.register_pull_time_update_exclusion(principalArn=arn)
    return [{"principalArn": arn}]


def case_list_pull_time_update_exclusions(w: World) -> Cases:
    return [{"maxResults": 10, "nextToken": FIRST_PAGE}]


def case_put_image_scanning_configuration(w: World) -> Cases:
    return [{"repositoryName": w.fresh_repo(), "imageScanningConfiguration.scanOnPush": True}]


def case_put_registry_scanning_configuration(w: World) -> Cases:
    return [
        {
            "scanType": "BASIC",
            "rules[].scanFrequency": "SCAN_ON_PUSH",
            "rules[].repositoryFilters[].filter": "model-none-*",
            "rules[].repositoryFilters[].filterType": "WILDCARD",
        }
    ]


def case_get_registry_scanning_configuration(w: World) -> Cases:
    return [{}]


def case_batch_get_repository_scanning_configuration(w: World) -> Cases:
    return [{"repositoryNames[]": w.repo}]


def case_start_image_scan(w: World) -> Cases:
    img = make_image(f"model-scan/{w.repo}", layers=1)
    push_layer_api(w.ecr, w.repo, img, tag="scan")
    return [
        {"repositoryName": w.repo, "imageId.imageDigest": img.digest, "imageId.imageTag": "scan"}
    ]


def case_describe_image_scan_findings(w: World) -> Cases:
    img = make_image(f"model-findings/{w.repo}", layers=1)
    push_layer_api(w.ecr, w.repo, img, tag="findings")
    w.ecr.start_image_scan(repositoryName=w.repo, imageId={"imageTag": "findings"})
    return [
        {
            "repositoryName": w.repo,
            "imageId.imageDigest": img.digest,
            "imageId.imageTag": "findings",
            "nextToken": FIRST_PAGE,
            "maxResults": 10,
        }
    ]


RESOURCE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Pull",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)


def case_set_repository_policy(w: World) -> Cases:
    return [{"repositoryName": w.repo, "policyText": RESOURCE_POLICY}]


def case_get_repository_policy(w: World) -> Cases:
    w.ecr.set_repository_policy(repositoryName=w.repo, policyText=RESOURCE_POLICY)
    return [{"repositoryName": w.repo}]


def case_delete_repository_policy(w: World) -> Cases:
    repo = w.fresh_repo()
    w.ecr.set_repository_policy(repositoryName=repo, policyText=RESOURCE_POLICY)
    return [{"repositoryName": repo}]


def case_put_registry_policy(w: World) -> Cases:
    return [{"policyText": RESOURCE_POLICY}]


def case_get_registry_policy(w: World) -> Cases:
    w.ecr.put_registry_policy(policyText=RESOURCE_POLICY)
    return [{}]


def case_delete_registry_policy(w: World) -> Cases:
    w.ecr.put_registry_policy(policyText=RESOURCE_POLICY)
    return [{}]


def _template(prefix: str) -> dict[str, Any]:
    # For replication only: the session's server must not start creating on push.
    return {
        "prefix": prefix,
        "appliedFor[]": "REPLICATION",
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "encryptionConfiguration.encryptionType": "KMS",
        "repositoryPolicy": RESOURCE_POLICY,
        "lifecyclePolicy": POLICY,
        "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/model-templates",
    }


def _stored_template(w: World) -> str:
    prefix = f"{w.repo}-tpl-{uuid.uuid4().hex[:6]}"
    w.ecr.create_repository_creation_template(prefix=prefix, appliedFor=["REPLICATION"])
    return prefix


def case_create_repository_creation_template(w: World) -> Cases:
    return [_template(f"{w.repo}-tpl-{uuid.uuid4().hex[:6]}")]


def case_describe_repository_creation_templates(w: World) -> Cases:
    first, second = _stored_template(w), _stored_template(w)
    token = w.ecr.describe_repository_creation_templates(
        prefixes=sorted([first, second]), maxResults=1
    )["nextToken"]
    return [{"prefixes": sorted([first, second]), "nextToken": token, "maxResults": 1}]


def case_update_repository_creation_template(w: World) -> Cases:
    return [_template(_stored_template(w))]


def case_delete_repository_creation_template(w: World) -> Cases:
    return [{"prefix": _stored_template(w)}]


def case_put_replication_configuration(w: World) -> Cases:
    # A destination is ECR's {region, registryId} or Dockyard's {externalRegistry}.
    where = "replicationConfiguration.rules[].destinations"
    return [
        {where: [{"region": "eu-west-1", "registryId": ACCOUNT}]},
        {where: [{"externalRegistry": _stored_external(w)}]},
    ]


def _stored_external(w: World) -> str:
    name = f"m-{uuid.uuid4().hex[:10]}"
    # Registering reaches no network: nobody needs to listen there.
    w.ecr.create_external_registry(name=name, url=f"http://127.0.0.1:{free_port()}", insecure=True)
    return name


def _external_secret(w: World) -> str:
    made = secrets_client(w.ecr.meta.endpoint_url).create_secret(
        Name=f"model-external-{uuid.uuid4().hex[:8]}",
        SecretString='{"username": "model", "password": "model-password"}',
    )
    return str(made["ARN"])


def _external(w: World, name: str) -> Cases:
    # Credentials are a username and password, or a secret: one case each.
    url = "https://registry.example.com:5443"
    return [
        {"name": name, "url": url, "credentialArn": None},
        {
            "name": name,
            "url": url,
            "username": None,
            "password": None,
            "credentialArn": _external_secret(w),
        },
    ]


def case_create_external_registry(w: World) -> Cases:
    first, second = _external(w, f"m-{uuid.uuid4().hex[:10]}")
    return [first, {**second, "name": f"m-{uuid.uuid4().hex[:10]}"}]


def case_update_external_registry(w: World) -> Cases:
    return _external(w, _stored_external(w))


def case_describe_external_registries(w: World) -> Cases:
    names = sorted([_stored_external(w), _stored_external(w)])
    token = w.ecr.describe_external_registries(names=names, maxResults=1)["nextToken"]
    return [{"names": names, "nextToken": token, "maxResults": 1}]


def case_delete_external_registry(w: World) -> Cases:
    return [{"name": _stored_external(w)}]


def case_describe_image_replication_status(w: World) -> Cases:
    return [
        {
            "repositoryName": w.repo,
            "imageId.imageDigest": w.tagged.digest,
            "imageId.imageTag": "v1",
            "registryId": ACCOUNT,
        }
    ]


def _cache_secret(w: World) -> str:
    made = secrets_client(w.ecr.meta.endpoint_url).create_secret(
        Name=f"ecr-pullthroughcache/model-{uuid.uuid4().hex[:8]}",
        SecretString='{"username": "model", "accessToken": "model-token"}',
    )
    return str(made["ARN"])


_ECR_UPSTREAM = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
_CACHE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/model-cache"


def _stored_rule(w: World) -> str:
    prefix = f"m-{uuid.uuid4().hex[:10]}"
    # Nobody listens there: validation answers at once, without the network.
    url = f"http://127.0.0.1:{free_port()}"
    w.ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=url)
    return prefix


def case_create_pull_through_cache_rule(w: World) -> Cases:
    # upstreamRegistry is the enum's first value, ecr: an ECR host, with a role.
    return [
        {
            "ecrRepositoryPrefix": f"m-{uuid.uuid4().hex[:10]}",
            "upstreamRegistryUrl": _ECR_UPSTREAM,
            "credentialArn": _cache_secret(w),
            "customRoleArn": _CACHE_ROLE,
            "upstreamRepositoryPrefix": "team",
        }
    ]


def _backfill(w: World) -> str:
    return str(w.ecr.start_replication_backfill(repositoryName=w.repo)["backfill"]["backfillId"])


def case_start_replication_backfill(w: World) -> Cases:
    return [{"repositoryName": w.repo}]


def case_stop_replication_backfill(w: World) -> Cases:
    return [{"backfillId": _backfill(w)}]


def case_list_replication_backfills(w: World) -> Cases:
    _backfill(w), _backfill(w)
    token = w.ecr.list_replication_backfills(maxResults=1)["nextToken"]
    return [{"nextToken": token, "maxResults": 1}]


def case_describe_replication_backfill_results(w: World) -> Cases:
    return [{"backfillId": _backfill(w), "nextToken": encode_token(0), "maxResults": 5}]


def case_describe_pull_through_cache_rules(w: World) -> Cases:
    prefixes = sorted([_stored_rule(w), _stored_rule(w)])
    token = w.ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=prefixes, maxResults=1)[
        "nextToken"
    ]
    return [{"ecrRepositoryPrefixes": prefixes, "nextToken": token, "maxResults": 1}]


def case_update_pull_through_cache_rule(w: World) -> Cases:
    return [
        {
            "ecrRepositoryPrefix": _stored_rule(w),
            "credentialArn": _cache_secret(w),
            "customRoleArn": _CACHE_ROLE,
        }
    ]


def case_delete_pull_through_cache_rule(w: World) -> Cases:
    return [{"ecrRepositoryPrefix": _stored_rule(w)}]


def case_validate_pull_through_cache_rule(w: World) -> Cases:
    return [{"ecrRepositoryPrefix": _stored_rule(w)}]


CASES: dict[str, Callable[[World], Cases]] = {
    name: globals()[f"case_{xform_name(name)}"] for name in sorted(IMPLEMENTED)
}


def test_the_cases_cover_the_handlers() -> None:
    assert set(HANDLERS) == IMPLEMENTED


@pytest.mark.parametrize("operation", sorted(IMPLEMENTED))
def test_every_member_is_accepted(world: World, operation: str) -> None:
    op = MODEL.operation(operation)
    assert op is not None and op.input_shape is not None
    sent: list[dict[str, Any]] = []
    for overrides in CASES[operation](world):
        params = generate(op.input_shape, overrides)
        params = {k: v for k, v in params.items() if v is not None}
        assert model_problems(op.input_shape, params) == [], "the generator broke the model"
        sent.append(params)
        try:
            response = getattr(world.ecr, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response["Error"]
            pytest.fail(
                f"{operation} with every member answered {error['Code']}: {error['Message']}\n"
                f"request: {_show(params)}"
            )
        assert response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
        problems = check_output(operation, world.raw.body)
        assert problems == [], f"{operation} response breaks the model: {problems}"
    assert missing_members(op.input_shape, sent) == [], "not every member was sent"


def _show(params: dict[str, Any]) -> str:
    def default(value: Any) -> str:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        return str(value)

    return json.dumps(params, default=default)[:2000]
