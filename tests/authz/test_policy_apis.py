"""Repository and registry policies through the ECR API: shapes, errors, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.authz import allow, document, dumps, ecr_as
from tests.support.ecr import ACCOUNT, expect_error

pytestmark = pytest.mark.timeout(120)

PULL_FROM_B = document(
    {
        "Sid": "AllowPull",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }
)


def test_set_get_delete_repository_policy(ecr: Any, repo: str) -> None:
    text = dumps(PULL_FROM_B)
    answer = ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert {k: answer[k] for k in ("registryId", "repositoryName", "policyText")} == {
        "registryId": ACCOUNT,
        "repositoryName": repo,
        "policyText": text,
    }
    got = ecr.get_repository_policy(repositoryName=repo)
    assert (got["registryId"], got["repositoryName"]) == (ACCOUNT, repo)
    assert json.loads(got["policyText"]) == PULL_FROM_B
    # Set again: replaced.
    other = dumps(document({**PULL_FROM_B["Statement"][0], "Sid": "Other"}))
    ecr.set_repository_policy(repositoryName=repo, policyText=other, registryId=ACCOUNT)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == other
    deleted = ecr.delete_repository_policy(repositoryName=repo)
    assert deleted["policyText"] == other and deleted["repositoryName"] == repo
    error = expect_error(
        "RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo
    )
    assert error.response["Error"]["Message"] == (
        f"Repository policy does not exist for the repository with name '{repo}' "
        f"in the registry with id '{ACCOUNT}'"
    )
    expect_error(
        "RepositoryPolicyNotFoundException", ecr.delete_repository_policy, repositoryName=repo
    )


def test_repository_policy_of_a_missing_repository(ecr: Any) -> None:
    for call, extra in (
        (ecr.set_repository_policy, {"policyText": dumps(PULL_FROM_B)}),
        (ecr.get_repository_policy, {}),
        (ecr.delete_repository_policy, {}),
    ):
        expect_error("RepositoryNotFoundException", call, repositoryName="authz/none-such", **extra)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "Syntax"),
        (dumps({"Version": "2012-10-17"}), "Statement"),
        (dumps(document({"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"})), "Effect"),
        # A resource policy must say whom it is about.
        (dumps(document({"Effect": "Allow", "Action": "ecr:BatchGetImage"})), "rincipal"),
    ],
)
def test_invalid_repository_policy(ecr: Any, repo: str, text: str, problem: str) -> None:
    error = expect_error(
        "InvalidParameterException", ecr.set_repository_policy, repositoryName=repo, policyText=text
    )
    message = error.response["Error"]["Message"]
    assert message.startswith("Invalid parameter at 'PolicyText' failed to satisfy constraint")
    assert problem.lower() in message.lower(), message
    expect_error(
        "RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=repo
    )


def test_policy_text_limit(ecr_unvalidated: Any, repo: str) -> None:
    statement = {"Sid": "", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
    padded = document({**statement, "Sid": "A" * (10_240 - len(dumps(document(statement))))})
    text = dumps(padded)
    assert len(text) == 10_240
    ecr_unvalidated.set_repository_policy(repositoryName=repo, policyText=text)
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.set_repository_policy,
        repositoryName=repo,
        policyText=text.replace('"Sid": "', '"Sid": "B'),
    )
    assert ecr_unvalidated.get_repository_policy(repositoryName=repo)["policyText"] == text


def test_set_policy_that_locks_the_setter_out_needs_force(ecr: Any, repo: str) -> None:
    lockout = dumps(
        document(
            {
                "Sid": "NoMore",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:SetRepositoryPolicy",
            }
        )
    )
    expect_error(
        "InvalidParameterException",
        ecr.set_repository_policy,
        repositoryName=repo,
        policyText=lockout,
    )
    ecr.set_repository_policy(repositoryName=repo, policyText=lockout, force=True)
    # And now even the account's root may not set another one.
    expect_error(
        "AccessDeniedException",
        ecr.set_repository_policy,
        repositoryName=repo,
        policyText=dumps(PULL_FROM_B),
        force=True,
    )
    ecr.delete_repository_policy(repositoryName=repo)


def test_registry_policy(ecr: Any) -> None:
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)
    text = dumps(
        document(
            {
                "Sid": "ReplicationAccessCrossAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*",
            }
        )
    )
    answer = ecr.put_registry_policy(policyText=text)
    assert (answer["registryId"], answer["policyText"]) == (ACCOUNT, text)
    got = ecr.get_registry_policy()
    assert (got["registryId"], got["policyText"]) == (ACCOUNT, text)
    deleted = ecr.delete_registry_policy()
    assert (deleted["registryId"], deleted["policyText"]) == (ACCOUNT, text)
    error = expect_error("RegistryPolicyNotFoundException", ecr.delete_registry_policy)
    assert error.response["Error"]["Message"] == (
        f"Registry policy does not exist in the registry with id '{ACCOUNT}'"
    )
    expect_error(
        "InvalidParameterException", ecr.put_registry_policy, policyText=dumps({"Statement": []})
    )


def test_policy_apis_need_their_permissions(ecr: Any, repo: str, user: Any) -> None:
    """A user allowed to read a repository's policy cannot set one."""
    made = user("policy-reader", inline=document(allow("ecr:GetRepositoryPolicy")))
    reader = ecr_as(ecr.meta.endpoint_url, made.key)
    ecr.set_repository_policy(repositoryName=repo, policyText=dumps(PULL_FROM_B))
    assert reader.get_repository_policy(repositoryName=repo)["repositoryName"] == repo
    error = expect_error(
        "AccessDeniedException",
        reader.set_repository_policy,
        repositoryName=repo,
        policyText=dumps(PULL_FROM_B),
    )
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo}"
    assert error.response["Error"]["Message"] == (
        f"User: {made.arn} is not authorized to perform: ecr:SetRepositoryPolicy "
        f"on resource: {arn} "
        "because no identity-based policy allows the ecr:SetRepositoryPolicy action"
    )
    expect_error("AccessDeniedException", reader.get_registry_policy)
