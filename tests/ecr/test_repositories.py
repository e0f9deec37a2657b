"""CreateRepository, DescribeRepositories, DeleteRepository, PutImageTagMutability."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.support.ecr import ACCOUNT, expect_error, push_layer_api
from tests.support.images import make_image
from tests.support.servers import DockyardProcess


def test_create_repository_defaults(ecr: Any, ecr_server: DockyardProcess, repo_name: str) -> None:
    before = time.time()
    repository = ecr.create_repository(repositoryName=repo_name)["repository"]
    assert repository["repositoryName"] == repo_name
    assert repository["registryId"] == ACCOUNT
    assert repository["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo_name}"
    assert repository["repositoryUri"] == f"127.0.0.1:{ecr_server.port}/{repo_name}"
    assert repository["imageTagMutability"] == "MUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repository["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert "imageTagMutabilityExclusionFilters" not in repository
    created = repository["createdAt"].timestamp()
    assert before - 2 <= created <= time.time() + 2


def test_create_repository_with_everything(ecr: Any, repo_name: str) -> None:
    filters = [
        {"filterType": "WILDCARD", "filter": "latest"},
        {"filterType": "WILDCARD", "filter": "dev-*"},
    ]
    repository = ecr.create_repository(
        repositoryName=repo_name,
        tags=[{"Key": "team", "Value": "infra"}, {"Key": "env", "Value": ""}],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/dockyard-test"},
    )["repository"]
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["imageTagMutabilityExclusionFilters"] == filters
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["encryptionConfiguration"] == {
        "encryptionType": "KMS",
        "kmsKey": "alias/dockyard-test",
    }
    # Reported back the same way by DescribeRepositories.
    described = ecr.describe_repositories(repositoryNames=[repo_name])["repositories"]
    assert [r["repositoryName"] for r in described] == [repo_name]
    for member in (
        "imageTagMutability",
        "imageTagMutabilityExclusionFilters",
        "imageScanningConfiguration",
        "encryptionConfiguration",
        "repositoryArn",
        "repositoryUri",
    ):
        assert described[0][member] == repository[member], member
    tags = ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [
        {"Key": "env", "Value": ""},
        {"Key": "team", "Value": "infra"},
    ]


def test_create_repository_that_exists(ecr: Any, repo: str) -> None:
    expect_error("RepositoryAlreadyExistsException", ecr.create_repository, repositoryName=repo)


@pytest.mark.parametrize("name", ["Upper-Case", "a", "ends-with-", "a//b", "-lead", "x" * 257])
def test_create_repository_bad_name(ecr_unvalidated: Any, name: str) -> None:
    # Unvalidated: botocore would refuse the 1- and 257-character names itself.
    err = expect_error(
        "InvalidParameterException", ecr_unvalidated.create_repository, repositoryName=name
    )
    assert "repositoryName" in err.response["Error"]["Message"]


def test_create_repository_too_many_tags(ecr: Any, repo_name: str) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    expect_error("TooManyTagsException", ecr.create_repository, repositoryName=repo_name, tags=tags)
    expect_error(
        "RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo_name]
    )
    # 50 is the limit, not over it.
    ecr.create_repository(repositoryName=repo_name, tags=tags[:50])


def test_create_repository_exclusion_filters_need_with_exclusion(ecr: Any, repo_name: str) -> None:
    filters = [{"filterType": "WILDCARD", "filter": "latest"}]
    for mutability in ("MUTABLE", "IMMUTABLE"):
        expect_error(
            "InvalidParameterException",
            ecr.create_repository,
            repositoryName=repo_name,
            imageTagMutability=mutability,
            imageTagMutabilityExclusionFilters=filters,
        )
    # ..._WITH_EXCLUSION without filters is just as wrong.
    expect_error(
        "InvalidParameterException",
        ecr.create_repository,
        repositoryName=repo_name,
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
    )
    expect_error(
        "RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo_name]
    )


def test_create_repository_in_another_registry(ecr: Any, repo_name: str) -> None:
    expect_error(
        "AccessDeniedException",
        ecr.create_repository,
        registryId="123456789012",
        repositoryName=repo_name,
    )


# --------------------------------------------------------------------------- describe


def test_describe_repositories_by_name(ecr: Any, repo: str) -> None:
    other = f"{repo}-b"
    ecr.create_repository(repositoryName=other)
    found = ecr.describe_repositories(repositoryNames=[other, repo], registryId=ACCOUNT)
    assert [r["repositoryName"] for r in found["repositories"]] == [other, repo]
    assert "nextToken" not in found


def test_describe_repositories_missing_name(ecr: Any, repo: str) -> None:
    missing = f"{repo}-missing"
    err = expect_error(
        "RepositoryNotFoundException",
        ecr.describe_repositories,
        repositoryNames=[repo, missing],
    )
    assert missing in err.response["Error"]["Message"]


def test_describe_repositories_paginates(ecr: Any) -> None:
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    names = {f"{prefix}/r{i}" for i in range(7)}
    for name in names:
        ecr.create_repository(repositoryName=name)
    paginator = ecr.get_paginator("describe_repositories")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 3}))
    seen: list[str] = [r["repositoryName"] for p in pages for r in p["repositories"]]
    assert len(seen) == len(set(seen)), "a repository was listed twice"
    assert names <= set(seen)
    assert all(len(p["repositories"]) <= 3 for p in pages)
    assert all("nextToken" in p for p in pages[:-1])
    assert "nextToken" not in pages[-1]
    assert len(pages) >= 3
    # The default page (no maxResults) is the first 100 (the session's other tests may have
    # made more than that by now).
    default = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert default == seen[:100]


def test_describe_repositories_manual_pages(ecr: Any) -> None:
    prefix = f"manual-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        ecr.create_repository(repositoryName=f"{prefix}/r{i}")
    first = ecr.describe_repositories(maxResults=1)
    assert len(first["repositories"]) == 1
    second = ecr.describe_repositories(maxResults=1, nextToken=first["nextToken"])
    assert len(second["repositories"]) == 1
    assert second["repositories"][0]["repositoryName"] != first["repositories"][0]["repositoryName"]


def test_describe_repositories_next_token_with_names(ecr: Any, repo: str) -> None:
    ecr.create_repository(repositoryName=f"{repo}-2")
    token = ecr.describe_repositories(maxResults=1)["nextToken"]
    expect_error(
        "InvalidParameterException",
        ecr.describe_repositories,
        repositoryNames=[repo],
        nextToken=token,
    )


@pytest.mark.parametrize("max_results", [0, 1001])
def test_describe_repositories_max_results_range(ecr_unvalidated: Any, max_results: int) -> None:
    # botocore checks the minimum itself; send the request unvalidated to see the server.
    err = expect_error(
        "InvalidParameterException",
        ecr_unvalidated.describe_repositories,
        maxResults=max_results,
    )
    assert "maxResults" in err.response["Error"]["Message"]


def test_describe_repositories_bad_next_token(ecr: Any) -> None:
    expect_error("InvalidParameterException", ecr.describe_repositories, nextToken="garbage!")


def test_describe_repositories_of_another_account(ecr: Any) -> None:
    expect_error("AccessDeniedException", ecr.describe_repositories, registryId="111122223333")


# --------------------------------------------------------------------------- delete


def test_delete_repository(ecr: Any, repo: str) -> None:
    deleted = ecr.delete_repository(repositoryName=repo)["repository"]
    assert deleted["repositoryName"] == repo
    assert deleted["registryId"] == ACCOUNT
    expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[repo])
    expect_error("RepositoryNotFoundException", ecr.delete_repository, repositoryName=repo)


def test_delete_repository_not_empty(ecr: Any, repo: str) -> None:
    push_layer_api(ecr, repo, make_image(f"del/{repo}", layers=1), tag="v1")
    err = expect_error("RepositoryNotEmptyException", ecr.delete_repository, repositoryName=repo)
    assert repo in err.response["Error"]["Message"]
    assert ecr.describe_images(repositoryName=repo)["imageDetails"]
    deleted = ecr.delete_repository(repositoryName=repo, force=True)["repository"]
    assert deleted["repositoryName"] == repo
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName=repo)
    # The name is free again, and the new repository starts empty.
    ecr.create_repository(repositoryName=repo)
    assert ecr.list_images(repositoryName=repo)["imageIds"] == []


def test_delete_missing_repository(ecr: Any, repo_name: str) -> None:
    expect_error(
        "RepositoryNotFoundException", ecr.delete_repository, repositoryName=repo_name, force=True
    )


# --------------------------------------------------------------------------- mutability


def test_put_image_tag_mutability(ecr: Any, repo: str) -> None:
    result = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    assert result["repositoryName"] == repo
    assert result["registryId"] == ACCOUNT
    assert result["imageTagMutability"] == "IMMUTABLE"
    assert "imageTagMutabilityExclusionFilters" not in result
    filters = [{"filterType": "WILDCARD", "filter": "snapshot-*"}]
    result = ecr.put_image_tag_mutability(
        repositoryName=repo,
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters,
    )
    assert result["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert result["imageTagMutabilityExclusionFilters"] == filters
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert described["imageTagMutabilityExclusionFilters"] == filters
    # Back to MUTABLE drops the filters.
    result = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
    assert "imageTagMutabilityExclusionFilters" not in result
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert "imageTagMutabilityExclusionFilters" not in described


def test_put_image_tag_mutability_errors(ecr: Any, ecr_unvalidated: Any, repo: str) -> None:
    expect_error(
        "RepositoryNotFoundException",
        ecr.put_image_tag_mutability,
        repositoryName=f"{repo}-missing",
        imageTagMutability="IMMUTABLE",
    )
    expect_error(
        "InvalidParameterException",
        ecr.put_image_tag_mutability,
        repositoryName=repo,
        imageTagMutability="MUTABLE",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "x"}],
    )
    too_many = [{"filterType": "WILDCARD", "filter": f"f{i}"} for i in range(6)]
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.put_image_tag_mutability,
        repositoryName=repo,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=too_many,
    )
    expect_error(
        "InvalidParameterException",
        ecr_unvalidated.put_image_tag_mutability,
        repositoryName=repo,
        imageTagMutability="SOMETIMES",
    )
    # Nothing changed.
    described = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    assert described["imageTagMutability"] == "MUTABLE"


def test_describe_repositories_max_results_with_names(ecr: Any, repo: str) -> None:
    # "This option cannot be used when you specify repositories with repositoryNames."
    expect_error(
        "InvalidParameterException",
        ecr.describe_repositories,
        repositoryNames=[repo],
        maxResults=1,
    )
