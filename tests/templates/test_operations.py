"""Create, Describe, Update and DeleteRepositoryCreationTemplate through boto3 and the
``aws`` CLI: answers, errors, pagination, the quota and the permissions each needs."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.authz import allow, document, ecr_as, make_user
from tests.support.ecr import AwsCli, expect_error, make_client
from tests.support.servers import DockyardProcess
from tests.templates.conftest import StartServer
from tests.templates.helpers import (
    ACCOUNT,
    FILTERS,
    LIFECYCLE,
    PULL_POLICY,
    ROLE,
    TAGS,
    full_template,
    same_json,
)

pytestmark = pytest.mark.timeout(120)


def test_create_describe_update_delete(ecr: Any, prefix: str) -> None:
    before = time.time()
    created = ecr.create_repository_creation_template(**full_template(prefix))
    assert created["registryId"] == ACCOUNT
    template = created["repositoryCreationTemplate"]
    assert template["prefix"] == prefix
    assert template["description"] == f"everything for {prefix}"
    assert template["appliedFor"] == ["CREATE_ON_PUSH"]
    assert template["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert template["imageTagMutabilityExclusionFilters"] == FILTERS
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert template["resourceTags"] == TAGS
    assert same_json(template["repositoryPolicy"], PULL_POLICY)
    assert same_json(template["lifecyclePolicy"], LIFECYCLE)
    assert template["customRoleArn"] == ROLE
    created_at = template["createdAt"].timestamp()
    assert before - 2 <= created_at <= time.time() + 2
    assert template["updatedAt"] == template["createdAt"]

    described = ecr.describe_repository_creation_templates(prefixes=[prefix])
    assert described["registryId"] == ACCOUNT
    assert described["repositoryCreationTemplates"] == [template]
    assert "nextToken" not in described

    # An update changes what it names and keeps the rest.
    time.sleep(0.01)
    updated = ecr.update_repository_creation_template(
        prefix=prefix,
        description="now mutable",
        imageTagMutability="MUTABLE",
        appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
        encryptionConfiguration={"encryptionType": "KMS"},
    )["repositoryCreationTemplate"]
    assert updated["description"] == "now mutable"
    assert updated["imageTagMutability"] == "MUTABLE"
    assert "imageTagMutabilityExclusionFilters" not in updated
    assert updated["appliedFor"] == ["CREATE_ON_PUSH", "REPLICATION"]
    assert updated["encryptionConfiguration"] == {"encryptionType": "KMS"}
    assert updated["resourceTags"] == TAGS
    assert same_json(updated["lifecyclePolicy"], LIFECYCLE)
    assert updated["createdAt"] == template["createdAt"]
    assert updated["updatedAt"] > template["updatedAt"]

    # Empty texts and lists remove the optional settings.
    cleared = ecr.update_repository_creation_template(
        prefix=prefix, lifecyclePolicy="", repositoryPolicy="", resourceTags=[], customRoleArn=""
    )["repositoryCreationTemplate"]
    for member in ("lifecyclePolicy", "repositoryPolicy", "customRoleArn"):
        assert member not in cleared
    assert cleared["resourceTags"] == []

    deleted = ecr.delete_repository_creation_template(prefix=prefix)
    assert deleted["registryId"] == ACCOUNT
    assert deleted["repositoryCreationTemplate"] == cleared
    assert (
        ecr.describe_repository_creation_templates(prefixes=[prefix])["repositoryCreationTemplates"]
        == []
    )


def test_a_prefix_names_one_template(ecr: Any, prefix: str) -> None:
    ecr.create_repository_creation_template(prefix=f"{prefix}/team", appliedFor=["REPLICATION"])
    error = expect_error(
        "TemplateAlreadyExistsException",
        ecr.create_repository_creation_template,
        prefix=f"{prefix}/team/",  # ECR assumes the trailing "/" anyway: the same prefix
        appliedFor=["PULL_THROUGH_CACHE"],
    )
    assert f"{prefix}/team" in error.response["Error"]["Message"]
    found = ecr.describe_repository_creation_templates(prefixes=[f"{prefix}/team/"])
    assert [t["prefix"] for t in found["repositoryCreationTemplates"]] == [f"{prefix}/team"]
    ecr.delete_repository_creation_template(prefix=f"{prefix}/team/")


def test_missing_templates(ecr: Any, prefix: str) -> None:
    for call, params in (
        (ecr.update_repository_creation_template, {"prefix": prefix, "description": "x"}),
        (ecr.delete_repository_creation_template, {"prefix": prefix}),
    ):
        error = expect_error("TemplateNotFoundException", call, **params)
        assert prefix in error.response["Error"]["Message"]
    # Describing a prefix that has no template is no error: it lists nothing.
    found = ecr.describe_repository_creation_templates(prefixes=[prefix])
    assert found["repositoryCreationTemplates"] == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"lifecyclePolicy": '{"rules": []}'}, "InvalidParameterException"),
        ({"lifecyclePolicy": "not json at all " * 10}, "InvalidParameterException"),
        ({"repositoryPolicy": '{"Statement": "nope"}'}, "InvalidParameterException"),
        ({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "InvalidParameterException"),
        (
            {"imageTagMutability": "MUTABLE", "imageTagMutabilityExclusionFilters": FILTERS},
            "InvalidParameterException",
        ),
        (
            {"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": "alias/x"}},
            "InvalidParameterException",
        ),
        ({"appliedFor": []}, "ValidationException"),
        ({"customRoleArn": "arn:aws:iam::111122223333:role/other"}, "ValidationException"),
        ({"customRoleArn": "not-an-arn"}, "ValidationException"),
        (
            {"resourceTags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
            "TooManyTagsException",
        ),
        ({"resourceTags": [{"Key": "k" * 129, "Value": "v"}]}, "InvalidTagParameterException"),
        # The model's own constraints, checked by the server as well as by botocore.
        ({"prefix": "Not/Valid"}, "InvalidParameterException"),
        ({"appliedFor": ["CREATE_ON_PULL"]}, "InvalidParameterException"),
        ({"description": "d" * 257}, "InvalidParameterException"),
    ],
)
def test_invalid_templates_are_refused(
    ecr: Any, ecr_unvalidated: Any, prefix: str, change: dict[str, Any], code: str
) -> None:
    params = {"prefix": prefix, "appliedFor": ["CREATE_ON_PUSH"], **change}
    expect_error(code, ecr_unvalidated.create_repository_creation_template, **params)
    assert (
        ecr.describe_repository_creation_templates(prefixes=[prefix])["repositoryCreationTemplates"]
        == []
    )
    # An update is checked the same way, and changes nothing when refused.
    ecr.create_repository_creation_template(prefix=prefix, appliedFor=["CREATE_ON_PUSH"])
    try:
        update = {k: v for k, v in params.items() if k != "prefix"}
        if "prefix" not in change:
            expect_error(
                code, ecr_unvalidated.update_repository_creation_template, prefix=prefix, **update
            )
        (kept,) = ecr.describe_repository_creation_templates(prefixes=[prefix])[
            "repositoryCreationTemplates"
        ]
        assert kept["appliedFor"] == ["CREATE_ON_PUSH"]
        assert kept["imageTagMutability"] == "MUTABLE"
    finally:
        ecr.delete_repository_creation_template(prefix=prefix)


def test_describe_pages(ecr: Any, prefix: str) -> None:
    prefixes = [f"{prefix}/{name}" for name in ("e", "a", "c", "b", "d")]
    for p in prefixes:
        ecr.create_repository_creation_template(prefix=p, appliedFor=["REPLICATION"])
    try:
        seen: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"prefixes": prefixes, "maxResults": 2}
            if token:
                params["nextToken"] = token
            page = ecr.describe_repository_creation_templates(**params)
            assert len(page["repositoryCreationTemplates"]) <= 2
            seen += [t["prefix"] for t in page["repositoryCreationTemplates"]]
            token = page.get("nextToken")
            if not token:
                break
        assert seen == sorted(prefixes)
        # boto3's paginator (paginators-1.json) walks the same pages.
        paginator = ecr.get_paginator("describe_repository_creation_templates")
        pages = paginator.paginate(prefixes=prefixes, PaginationConfig={"PageSize": 3})
        walked = [t["prefix"] for p in pages for t in p["repositoryCreationTemplates"]]
        assert walked == sorted(prefixes)
        # Without prefixes every template of the registry is listed, ours among them.
        everything = paginator.paginate().build_full_result()["repositoryCreationTemplates"]
        assert set(prefixes) <= {t["prefix"] for t in everything}
        listed = ecr.describe_repository_creation_templates(prefixes=[], maxResults=1000)
        assert set(prefixes) <= {t["prefix"] for t in listed["repositoryCreationTemplates"]}
        expect_error(
            "InvalidParameterException",
            ecr.describe_repository_creation_templates,
            nextToken="garbage",
        )
    finally:
        for p in prefixes:
            ecr.delete_repository_creation_template(prefix=p)


def test_the_quota_of_templates(start_server: StartServer) -> None:
    server = start_server()
    ecr = make_client(server.url)
    for i in range(100):
        ecr.create_repository_creation_template(prefix=f"quota/p{i}", appliedFor=["REPLICATION"])
    error = expect_error(
        "LimitExceededException",
        ecr.create_repository_creation_template,
        prefix="quota/one-more",
        appliedFor=["REPLICATION"],
    )
    assert "100" in error.response["Error"]["Message"]
    ecr.delete_repository_creation_template(prefix="quota/p0")
    ecr.create_repository_creation_template(prefix="quota/one-more", appliedFor=["REPLICATION"])


def test_the_aws_cli(aws: AwsCli, prefix: str, tmp_path: Path) -> None:
    policy = tmp_path / "lifecycle.json"
    policy.write_text(LIFECYCLE)
    created = aws(
        "create-repository-creation-template",
        "--prefix",
        prefix,
        "--applied-for",
        "CREATE_ON_PUSH",
        "PULL_THROUGH_CACHE",
        "--image-tag-mutability",
        "IMMUTABLE",
        "--lifecycle-policy",
        f"file://{policy}",
        "--resource-tags",
        "Key=team,Value=infra",
    )
    template = created["repositoryCreationTemplate"]
    assert template["prefix"] == prefix
    assert template["appliedFor"] == ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"]
    assert template["imageTagMutability"] == "IMMUTABLE"
    assert template["resourceTags"] == [{"Key": "team", "Value": "infra"}]
    assert json.loads(template["lifecyclePolicy"]) == json.loads(LIFECYCLE)

    described = aws("describe-repository-creation-templates", "--prefixes", prefix)
    assert [t["prefix"] for t in described["repositoryCreationTemplates"]] == [prefix]
    updated = aws(
        "update-repository-creation-template", "--prefix", prefix, "--description", "via the CLI"
    )
    assert updated["repositoryCreationTemplate"]["description"] == "via the CLI"
    aws.error(
        "TemplateAlreadyExistsException",
        "create-repository-creation-template",
        "--prefix",
        prefix,
        "--applied-for",
        "REPLICATION",
    )
    deleted = aws("delete-repository-creation-template", "--prefix", prefix)
    assert deleted["repositoryCreationTemplate"]["description"] == "via the CLI"
    aws.error(
        "TemplateNotFoundException", "delete-repository-creation-template", "--prefix", prefix
    )


def test_each_operation_needs_its_permissions(
    server: DockyardProcess, ecr: Any, iam: Any, prefix: str
) -> None:
    """Its own action; storing a template also the permissions to create what it describes
    (ecr:CreateRepository, and PutLifecyclePolicy / SetRepositoryPolicy for its policies)."""
    name = f"templates-{uuid.uuid4().hex[:8]}"
    own = ["ecr:CreateRepositoryCreationTemplate", "ecr:UpdateRepositoryCreationTemplate"]
    key = make_user(
        iam,
        name,
        inline=json.dumps(
            document(
                allow([*own, "ecr:DescribeRepositoryCreationTemplates"]),
                allow("ecr:CreateRepository", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*"),
            )
        ),
    )
    user = ecr_as(server.url, key)
    user.create_repository_creation_template(prefix=prefix, appliedFor=["CREATE_ON_PUSH"])
    assert user.describe_repository_creation_templates(prefixes=[prefix])[
        "repositoryCreationTemplates"
    ]
    for action, params in (
        ("ecr:PutLifecyclePolicy", {"lifecyclePolicy": LIFECYCLE}),
        ("ecr:SetRepositoryPolicy", {"repositoryPolicy": PULL_POLICY}),
    ):
        error = expect_error(
            "AccessDeniedException",
            user.update_repository_creation_template,
            prefix=prefix,
            **params,
        )
        assert action in error.response["Error"]["Message"]
    error = expect_error(
        "AccessDeniedException", user.delete_repository_creation_template, prefix=prefix
    )
    assert "ecr:DeleteRepositoryCreationTemplate" in error.response["Error"]["Message"]

    # Without ecr:CreateRepository, no template can be stored.
    bare = ecr_as(
        server.url,
        make_user(iam, f"{name}-bare", inline=json.dumps(document(allow(own)))),
    )
    error = expect_error(
        "AccessDeniedException",
        bare.create_repository_creation_template,
        prefix=f"{prefix}/bare",
        appliedFor=["REPLICATION"],
    )
    assert "ecr:CreateRepository " in error.response["Error"]["Message"]
    ecr.delete_repository_creation_template(prefix=prefix)
