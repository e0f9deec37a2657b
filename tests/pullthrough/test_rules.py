"""Create, Describe, Update, Delete and ValidatePullThroughCacheRule through boto3 and the
``aws`` CLI: the guide's Docker Hub example, every kind of upstream botocore knows and the
generic one, pages, the quota, every error with its ``__type``, and validation against real
CNCF registries (open, and behind Basic authentication) and a port nobody listens on."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from botocore import loaders
from cryptography.fernet import Fernet

from tests.pullthrough.conftest import UPSTREAM_USER
from tests.support.ecr import ACCOUNT, REGION, AwsCli, expect_error, regional_client
from tests.support.secrets import HtpasswdDistribution, secrets_client
from tests.support.servers import DistributionProcess, DockyardProcess, free_port

pytestmark = pytest.mark.timeout(120)

DOCKER_HUB_SECRET = {"username": "dockyard-bot", "accessToken": "dckr_pat_not-a-real-token"}


def _epoch(value: Any) -> float:
    """A timestamp as the aws CLI prints it: epoch seconds (v1) or ISO 8601 (v2)."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def test_the_guide_s_docker_hub_rule_works_as_written(aws: AwsCli, aws_sm: AwsCli) -> None:
    secret = aws_sm(
        "create-secret",
        "--name",
        "ecr-pullthroughcache/docker-hub",
        "--secret-string",
        json.dumps(DOCKER_HUB_SECRET),
    )
    before = time.time()
    created = aws(
        "create-pull-through-cache-rule",
        "--ecr-repository-prefix",
        "docker-hub",
        "--upstream-registry-url",
        "registry-1.docker.io",
        "--credential-arn",
        secret["ARN"],
    )
    assert created["ecrRepositoryPrefix"] == "docker-hub"
    assert created["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert created["upstreamRegistry"] == "docker-hub"  # known by its host
    assert created["credentialArn"] == secret["ARN"]
    assert created["registryId"] == ACCOUNT
    assert before - 2 <= _epoch(created["createdAt"]) <= time.time() + 2

    described = aws("describe-pull-through-cache-rules", "--ecr-repository-prefixes", "docker-hub")
    (rule,) = described["pullThroughCacheRules"]
    assert rule["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule["credentialArn"] == secret["ARN"]
    assert rule["updatedAt"] == rule["createdAt"]


def test_create_describe_update_delete(ecr: Any, sm: Any, prefix: str, secret: str) -> None:
    created = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix,
        upstreamRegistryUrl="ghcr.io",
        upstreamRegistry="github-container-registry",
        credentialArn=secret,
        upstreamRepositoryPrefix="my-org",
    )
    assert created["upstreamRegistry"] == "github-container-registry"
    assert created["upstreamRepositoryPrefix"] == "my-org"
    (rule,) = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])[
        "pullThroughCacheRules"
    ]
    assert rule["ecrRepositoryPrefix"] == prefix
    assert rule["createdAt"] == created["createdAt"]
    assert "customRoleArn" not in rule

    other = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps(DOCKER_HUB_SECRET),
    )["ARN"]
    time.sleep(0.01)
    role = f"arn:aws:iam::{ACCOUNT}:role/ptc"
    updated = ecr.update_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, credentialArn=other, customRoleArn=role
    )
    assert updated["credentialArn"] == other and updated["customRoleArn"] == role
    assert updated["upstreamRepositoryPrefix"] == "my-org"
    assert updated["updatedAt"] > created["createdAt"]
    # An empty role removes it; the credential stays.
    cleared = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix=prefix, customRoleArn="")
    assert "customRoleArn" not in cleared and cleared["credentialArn"] == other

    # A trailing / names the same rule (ECR assumes it).
    deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=f"{prefix}/")
    assert deleted["ecrRepositoryPrefix"] == prefix
    assert deleted["upstreamRegistryUrl"] == "ghcr.io"
    assert deleted["credentialArn"] == other
    assert deleted["createdAt"] == created["createdAt"]
    expect_error(
        "PullThroughCacheRuleNotFoundException",
        ecr.describe_pull_through_cache_rules,
        ecrRepositoryPrefixes=[prefix],
    )


def _kinds() -> list[str]:
    model = loaders.Loader().load_service_model("ecr", "service-2")
    return list(model["shapes"]["UpstreamRegistry"]["enum"])


# Every kind botocore's model names, at the URL ECR documents for it.
URLS = {
    "ecr": "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
    "ecr-public": "public.ecr.aws",
    "quay": "quay.io",
    "k8s": "registry.k8s.io",
    "docker-hub": "registry-1.docker.io",
    "github-container-registry": "ghcr.io",
    "azure-container-registry": "dockyardtests.azurecr.io",
    "gitlab-container-registry": "registry.gitlab.com",
    "chainguard": "cgr.dev",
}
NEEDS_SECRET = {
    "docker-hub",
    "github-container-registry",
    "azure-container-registry",
    "gitlab-container-registry",
    "chainguard",
}


@pytest.mark.parametrize("kind", _kinds())
def test_every_upstream_kind_of_the_model(ecr: Any, secret: str, kind: str) -> None:
    prefix = f"k-{uuid.uuid4().hex[:8]}"
    extra: dict[str, str] = {}
    if kind == "ecr":
        extra["customRoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/ecr-upstream"
    if kind in NEEDS_SECRET:
        expect_error(
            "InvalidParameterException",
            ecr.create_pull_through_cache_rule,
            ecrRepositoryPrefix=prefix,
            upstreamRegistryUrl=URLS[kind],
            **extra,
        )
        extra["credentialArn"] = secret
    # Named with upstreamRegistry, and known by the URL alone.
    named = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=URLS[kind], upstreamRegistry=kind, **extra
    )
    assert named["upstreamRegistry"] == kind
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    inferred = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=URLS[kind], **extra
    )
    assert inferred["upstreamRegistry"] == kind
    # The URL of another kind is refused.
    other = URLS["quay" if kind != "quay" else "k8s"]
    expect_error(
        "InvalidParameterException",
        ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix=f"{prefix}-x",
        upstreamRegistryUrl=other,
        upstreamRegistry=kind,
        **extra,
    )


def test_any_oci_registry_by_url(ecr: Any, secret: str, prefix: str) -> None:
    created = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl="https://registry.example.com:5443/"
    )
    # The generic kind has no upstreamRegistry value in botocore's enum: none is sent.
    assert "upstreamRegistry" not in created
    assert created["upstreamRegistryUrl"] == "https://registry.example.com:5443"
    with_secret = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=f"{prefix}-auth",
        upstreamRegistryUrl="http://127.0.0.1:5000",
        credentialArn=secret,
        upstreamRepositoryPrefix="mirror",
    )
    assert with_secret["credentialArn"] == secret
    root = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="ROOT", upstreamRegistryUrl="https://mirror.example.com"
    )
    assert root["ecrRepositoryPrefix"] == "ROOT"
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="ROOT")
    for url, code in [
        ("localhost:5000", "UnsupportedUpstreamRegistryException"),  # a bare unknown host
        ("ftp://registry.example.com", "UnsupportedUpstreamRegistryException"),
        ("https://registry.example.com/v2/library", "UnsupportedUpstreamRegistryException"),
        ("https://bot:hunter2@registry.example.com", "InvalidParameterException"),
    ]:
        expect_error(
            code,
            ecr.create_pull_through_cache_rule,
            ecrRepositoryPrefix=f"{prefix}-bad",
            upstreamRegistryUrl=url,
        )


def test_describe_pages_in_prefix_order(ecr: Any, server: DockyardProcess) -> None:
    region = "ap-southeast-2"  # a registry of its own: no other test's rules
    client = regional_client(server.url, region)
    prefixes = [f"page-{i}" for i in (3, 0, 4, 1, 2)]
    for p in prefixes:
        client.create_pull_through_cache_rule(ecrRepositoryPrefix=p, upstreamRegistryUrl="quay.io")
    first = client.describe_pull_through_cache_rules(maxResults=2)
    assert [r["ecrRepositoryPrefix"] for r in first["pullThroughCacheRules"]] == [
        "page-0",
        "page-1",
    ]
    pages = client.get_paginator("describe_pull_through_cache_rules").paginate(
        PaginationConfig={"PageSize": 2}
    )
    listed = [r["ecrRepositoryPrefix"] for page in pages for r in page["pullThroughCacheRules"]]
    assert listed == sorted(prefixes)
    # Another region's registry holds none of them.
    assert not any(
        r["ecrRepositoryPrefix"].startswith("page-")
        for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    )
    expect_error(
        "InvalidParameterException", client.describe_pull_through_cache_rules, nextToken="nope"
    )


def test_the_quota_is_ecr_s_fifty_rules(server: DockyardProcess) -> None:
    client = regional_client(server.url, "sa-east-1")
    for i in range(50):
        client.create_pull_through_cache_rule(
            ecrRepositoryPrefix=f"q-{i:02d}", upstreamRegistryUrl="public.ecr.aws"
        )
    error = expect_error(
        "LimitExceededException",
        client.create_pull_through_cache_rule,
        ecrRepositoryPrefix="q-50",
        upstreamRegistryUrl="public.ecr.aws",
    )
    assert "50" in error.response["Error"]["Message"]
    client.delete_pull_through_cache_rule(ecrRepositoryPrefix="q-00")
    client.create_pull_through_cache_rule(
        ecrRepositoryPrefix="q-50", upstreamRegistryUrl="public.ecr.aws"
    )


def test_errors(
    ecr: Any, ecr_unvalidated: Any, sm: Any, server: DockyardProcess, prefix: str, secret: str
) -> None:
    create = ecr.create_pull_through_cache_rule
    create(ecrRepositoryPrefix=prefix, upstreamRegistryUrl="quay.io")
    expect_error(
        "PullThroughCacheRuleAlreadyExistsException",
        create,
        ecrRepositoryPrefix=prefix,
        upstreamRegistryUrl="registry.k8s.io",
    )
    missing = f"{prefix}-missing"
    for call in (
        ecr.delete_pull_through_cache_rule,
        ecr.validate_pull_through_cache_rule,
        ecr.update_pull_through_cache_rule,
    ):
        expect_error("PullThroughCacheRuleNotFoundException", call, ecrRepositoryPrefix=missing)
    expect_error(
        "PullThroughCacheRuleNotFoundException",
        ecr.describe_pull_through_cache_rules,
        ecrRepositoryPrefixes=[prefix, missing],
    )

    # The credential secret: absent, in another region, waiting for deletion, sealed with
    # another key.
    gone = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/gone-AbCdEf"
    elsewhere = secrets_client(server.url, region="eu-west-1").create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}", SecretString="{}"
    )["ARN"]
    for arn in (gone, elsewhere):
        expect_error(
            "SecretNotFoundException",
            create,
            ecrRepositoryPrefix=f"{prefix}-s",
            upstreamRegistryUrl="registry-1.docker.io",
            credentialArn=arn,
        )
        expect_error(
            "SecretNotFoundException",
            ecr.update_pull_through_cache_rule,
            ecrRepositoryPrefix=prefix,
            credentialArn=arn,
        )
    waiting = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}", SecretString="{}"
    )
    sm.delete_secret(SecretId=waiting["ARN"], RecoveryWindowInDays=7)
    expect_error(
        "UnableToAccessSecretException",
        create,
        ecrRepositoryPrefix=f"{prefix}-s",
        upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=waiting["ARN"],
    )
    foreign = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}", SecretString="{}"
    )
    with sqlite3.connect(server.data_dir / "metadata.db") as db:
        db.execute(
            "UPDATE secret_versions SET value_ciphertext = ? WHERE secret_id = "
            "(SELECT id FROM secrets WHERE name = ?)",
            (Fernet(Fernet.generate_key()).encrypt(b"{}"), foreign["Name"]),
        )
    expect_error(
        "UnableToDecryptSecretValueException",
        ecr.update_pull_through_cache_rule,
        ecrRepositoryPrefix=prefix,
        credentialArn=foreign["ARN"],
    )

    # Parameters the model or ECR's rules refuse.
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.create_pull_through_cache_rule,
        ecrRepositoryPrefix="Upper/Case",
        upstreamRegistryUrl="quay.io",
    )
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.create_pull_through_cache_rule,
        ecrRepositoryPrefix=prefix,
        upstreamRegistryUrl="quay.io",
        upstreamRegistry="dockerhub",
    )
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.create_pull_through_cache_rule,
        ecrRepositoryPrefix=f"{prefix}-c",
        upstreamRegistryUrl="quay.io",
        credentialArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:not-for-the-cache-AbCdEf",
    )
    expect_error(
        "InvalidParameterException",
        create,
        ecrRepositoryPrefix="ROOT",
        upstreamRegistryUrl="quay.io",
    )
    expect_error(
        "InvalidParameterException",
        create,
        ecrRepositoryPrefix="ROOT",
        upstreamRegistryUrl="https://mirror.example.com",
        upstreamRepositoryPrefix="team",
    )
    expect_error(
        "InvalidParameterException",
        create,
        ecrRepositoryPrefix=f"{prefix}-r",
        upstreamRegistryUrl="quay.io",
        customRoleArn="arn:aws:iam::111122223333:role/not-mine",
    )
    expect_error(
        "InvalidParameterException",
        create,
        ecrRepositoryPrefix=f"{prefix}-e",
        upstreamRegistryUrl="210987654321.dkr.ecr.eu-west-1.amazonaws.com",
    )
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.describe_pull_through_cache_rules,
        maxResults=1001,
    )
    # None of it left a rule behind.
    assert [
        r["ecrRepositoryPrefix"]
        for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        if r["ecrRepositoryPrefix"].startswith(prefix)
    ] == [prefix]


def test_validate_an_open_registry(
    ecr: Any, aws: AwsCli, upstream: DistributionProcess, prefix: str
) -> None:
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url)
    answer = aws("validate-pull-through-cache-rule", "--ecr-repository-prefix", prefix)
    assert answer["isValid"] is True, answer
    assert "failure" not in answer
    assert answer["upstreamRegistryUrl"] == upstream.url
    assert answer["ecrRepositoryPrefix"] == prefix and answer["registryId"] == ACCOUNT


def test_validate_an_unreachable_registry(ecr: Any, prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=url)
    answer = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    assert answer["isValid"] is False
    assert "unreachable" in answer["failure"] and "127.0.0.1" in answer["failure"]


def test_validate_a_registry_behind_basic_auth(
    ecr: Any, sm: Any, basic_upstream: HtpasswdDistribution, prefix: str, secret: str
) -> None:
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=basic_upstream.url, credentialArn=secret
    )
    assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)["isValid"] is True

    # Without credentials, with wrong ones, and with a secret that holds no credentials.
    bare = f"{prefix}-bare"
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=bare, upstreamRegistryUrl=basic_upstream.url
    )
    answer = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=bare)
    assert answer["isValid"] is False and "requires credentials" in answer["failure"]

    wrong = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": UPSTREAM_USER, "accessToken": "wrong-password"}),
    )["ARN"]
    ecr.update_pull_through_cache_rule(ecrRepositoryPrefix=prefix, credentialArn=wrong)
    answer = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    assert answer["isValid"] is False and "refused the credentials" in answer["failure"]
    assert "wrong-password" not in answer["failure"]

    shapeless = sm.create_secret(
        Name=f"ecr-pullthroughcache/{uuid.uuid4().hex[:8]}", SecretString="just a password"
    )["ARN"]
    ecr.update_pull_through_cache_rule(ecrRepositoryPrefix=prefix, credentialArn=shapeless)
    answer = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    assert answer["isValid"] is False and "not a JSON object" in answer["failure"]
    assert "just a password" not in answer["failure"]

    # A secret deleted after the rule was made fails validation, not the call.
    sm.delete_secret(SecretId=shapeless, ForceDeleteWithoutRecovery=True)
    answer = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    assert answer["isValid"] is False and "can't find" in answer["failure"]
