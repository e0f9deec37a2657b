"""PutReplicationConfiguration's checks (botocore's limits and patterns, ECR's rules), and
DescribeRegistry / DescribeImageReplicationStatus answers and errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import rule
from tests.support.ecr import expect_error, extended_client
from tests.support.servers import DockyardProcess


@pytest.fixture(scope="module")
def unchecked(server: DockyardProcess) -> Any:
    """A client that sends what botocore's own validation would stop."""
    return extended_client(server.url, VIRGINIA, validate=False)


def _put(ecr: Any, *rules: dict[str, Any]) -> Any:
    return ecr.put_replication_configuration(replicationConfiguration={"rules": list(rules)})


def test_a_configuration_is_stored_per_registry_and_can_be_cleared(
    virginia: Any, ireland: Any
) -> None:
    both = [
        rule("team", (ACCOUNT_A, IRELAND), ("111122223333", VIRGINIA)),
        rule(None, ("111122223333", IRELAND)),
    ]
    answer = _put(virginia, *both)
    assert answer["replicationConfiguration"] == {"rules": both}
    assert virginia.describe_registry()["replicationConfiguration"] == {"rules": both}
    assert ireland.describe_registry()["replicationConfiguration"] == {"rules": []}
    assert _put(virginia)["replicationConfiguration"] == {"rules": []}
    assert virginia.describe_registry() | {"ResponseMetadata": None} == {
        "registryId": ACCOUNT_A,
        "replicationConfiguration": {"rules": []},
        "ResponseMetadata": None,
    }


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        ([rule(None, (ACCOUNT_A, VIRGINIA))], "cannot be the source registry"),
        ([rule(None, (ACCOUNT_A, "eu-central-1"))], "not served"),
        ([{"destinations": []}], "at least one destination"),
        (
            [rule(None, *((f"{n:012d}", IRELAND) for n in range(1, 27)))],
            "at most 25 unique destinations",
        ),
    ],
    ids=["source", "region", "no-destination", "26-destinations"],
)
def test_ecr_rules_are_invalid_parameters(
    virginia: Any, rules: list[dict[str, Any]], words: str
) -> None:
    err = expect_error("InvalidParameterException", lambda: _put(virginia, *rules))
    assert words in err.response["Error"]["Message"]
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "rules",
    [
        [rule(None, (ACCOUNT_A, IRELAND))] * 11,  # ReplicationRuleList max 10
        [{"destinations": [{"region": IRELAND, "registryId": "12"}]}],  # RegistryId pattern
        [{"destinations": [{"region": "X", "registryId": ACCOUNT_A}]}],  # Region min/pattern
        [{"destinations": [{"region": IRELAND}]}],  # registryId required
        [{**rule(None, (ACCOUNT_A, IRELAND)), "repositoryFilters": []}],  # min 1
        [
            {
                **rule(None, (ACCOUNT_A, IRELAND)),
                "repositoryFilters": [{"filter": "Team", "filterType": "PREFIX_MATCH"}],
            }
        ],  # RepositoryFilterValue pattern
        [
            {
                **rule(None, (ACCOUNT_A, IRELAND)),
                "repositoryFilters": [{"filter": "team", "filterType": "WILDCARD"}],
            }
        ],  # RepositoryFilterType enum
    ],
    ids=["11-rules", "registry-id", "region", "no-registry-id", "no-filters", "filter", "type"],
)
def test_the_model_limits_are_checked(unchecked: Any, rules: list[dict[str, Any]]) -> None:
    expect_error("InvalidParameterException", lambda: _put(unchecked, *rules))


def test_the_configuration_is_required(unchecked: Any) -> None:
    expect_error("InvalidParameterException", unchecked.put_replication_configuration)


def test_replication_status_errors(virginia: Any) -> None:
    missing = f"missing/{uuid.uuid4().hex[:8]}"
    expect_error(
        "RepositoryNotFoundException",
        virginia.describe_image_replication_status,
        repositoryName=missing,
        imageId={"imageTag": "v1"},
    )
    name = f"status/{uuid.uuid4().hex[:8]}"
    virginia.create_repository(repositoryName=name)
    expect_error(
        "ImageNotFoundException",
        virginia.describe_image_replication_status,
        repositoryName=name,
        imageId={"imageTag": "v1"},
    )


def test_a_user_needs_the_operation_permission(server: DockyardProcess, virginia: Any) -> None:
    from tests.support.authz import iam_client, make_user

    iam = iam_client(server.url)
    user = f"no-replication-{uuid.uuid4().hex[:6]}"
    key = make_user(
        iam, user, managed=("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser",)
    )
    ecr = extended_client(server.url, VIRGINIA, access_key_id=key[0], secret_access_key=key[1])
    err = expect_error("AccessDeniedException", lambda: _put(ecr, rule(None, (ACCOUNT_A, IRELAND))))
    assert "ecr:PutReplicationConfiguration" in err.response["Error"]["Message"]
