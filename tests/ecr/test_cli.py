"""The real ``aws`` CLI (v1) against Dockyard: what people type."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.support.ecr import ACCOUNT, AwsCli, push_layer_api
from tests.support.images import OCI_MANIFEST, make_image
from tests.support.servers import DockyardProcess


def test_create_and_describe_repository(
    aws: AwsCli, ecr_server: DockyardProcess, repo_name: str
) -> None:
    created = aws(
        "create-repository",
        "--repository-name",
        repo_name,
        "--image-tag-mutability",
        "IMMUTABLE",
        "--image-scanning-configuration",
        "scanOnPush=true",
        "--tags",
        "Key=team,Value=infra",
    )["repository"]
    assert created["repositoryName"] == repo_name
    assert created["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo_name}"
    assert created["repositoryUri"] == f"127.0.0.1:{ecr_server.port}/{repo_name}"
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert isinstance(created["createdAt"], float | int)  # the CLI prints epoch seconds

    described = aws("describe-repositories", "--repository-names", repo_name)["repositories"]
    assert [r["repositoryName"] for r in described] == [repo_name]
    assert described[0]["repositoryUri"] == created["repositoryUri"]

    aws.error(
        "RepositoryAlreadyExistsException", "create-repository", "--repository-name", repo_name
    )
    aws.error(
        "RepositoryNotFoundException",
        "describe-repositories",
        "--repository-names",
        f"{repo_name}-missing",
    )
    aws.error("InvalidParameterException", "create-repository", "--repository-name", "NotValid")


def test_describe_repositories_pages_through_everything(aws: AwsCli, repo_name: str) -> None:
    for i in range(3):
        aws("create-repository", "--repository-name", f"{repo_name}/p{i}")
    # --page-size makes the CLI follow nextToken itself.
    found = aws("describe-repositories", "--page-size", "2")["repositories"]
    names = [r["repositoryName"] for r in found]
    assert {f"{repo_name}/p{i}" for i in range(3)} <= set(names)
    assert len(names) == len(set(names))


def test_images_with_the_cli(aws: AwsCli, ecr: Any, repo: str) -> None:
    img = make_image(f"cli/{repo}", layers=2)
    push_layer_api(ecr, repo, img, tag="v1")
    push_layer_api(ecr, repo, img, tag="v2")

    details = aws("describe-images", "--repository-name", repo)["imageDetails"]
    assert len(details) == 1
    assert details[0]["imageDigest"] == img.digest
    assert sorted(details[0]["imageTags"]) == ["v1", "v2"]
    assert details[0]["imageSizeInBytes"] == sum(layer.size for layer in img.layers)
    assert details[0]["imageManifestMediaType"] == OCI_MANIFEST
    by_tag = aws("describe-images", "--repository-name", repo, "--image-ids", "imageTag=v2")
    assert by_tag["imageDetails"][0]["imageDigest"] == img.digest
    aws.error(
        "ImageNotFoundException",
        "describe-images",
        "--repository-name",
        repo,
        "--image-ids",
        "imageTag=missing",
    )

    # The CLI's own way to retag: batch-get-image, then put-image with the manifest.
    manifest = aws(
        "batch-get-image",
        "--repository-name",
        repo,
        "--image-ids",
        "imageTag=v1",
        "--query",
        "images[0].imageManifest",
    )
    assert manifest == img.manifest.data.decode()
    put = aws(
        "put-image", "--repository-name", repo, "--image-tag", "v3", "--image-manifest", manifest
    )
    assert put["image"]["imageId"] == {"imageDigest": img.digest, "imageTag": "v3"}

    deleted = aws(
        "batch-delete-image",
        "--repository-name",
        repo,
        "--image-ids",
        "imageTag=v1",
        "imageTag=missing",
    )
    assert deleted["imageIds"] == [{"imageDigest": img.digest, "imageTag": "v1"}]
    assert [(f["imageId"], f["failureCode"]) for f in deleted["failures"]] == [
        ({"imageTag": "missing"}, "ImageNotFound")
    ]
    deleted = aws(
        "batch-delete-image", "--repository-name", repo, "--image-ids", f"imageDigest={img.digest}"
    )
    # By digest: one id per tag the image still had (ECR's answer).
    assert deleted["imageIds"] == [
        {"imageDigest": img.digest, "imageTag": "v2"},
        {"imageDigest": img.digest, "imageTag": "v3"},
    ]
    assert deleted["failures"] == []
    assert aws("list-images", "--repository-name", repo)["imageIds"] == []


def test_put_image_tag_mutability(aws: AwsCli, repo: str) -> None:
    result = aws(
        "put-image-tag-mutability",
        "--repository-name",
        repo,
        "--image-tag-mutability",
        "IMMUTABLE_WITH_EXCLUSION",
        "--image-tag-mutability-exclusion-filters",
        "filterType=WILDCARD,filter=latest",
    )
    assert result == {
        "registryId": ACCOUNT,
        "repositoryName": repo,
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
    }
    aws.error(
        "InvalidParameterException",
        "put-image-tag-mutability",
        "--repository-name",
        repo,
        "--image-tag-mutability",
        "MUTABLE",
        "--image-tag-mutability-exclusion-filters",
        "filterType=WILDCARD,filter=latest",
    )
    aws.error(
        "RepositoryNotFoundException",
        "put-image-tag-mutability",
        "--repository-name",
        f"{repo}-missing",
        "--image-tag-mutability",
        "IMMUTABLE",
    )


def test_get_login_password(aws: AwsCli, endpoint: str) -> None:
    done = aws.raw("get-login-password")
    assert done.returncode == 0, done.stderr
    password = done.stdout.strip()
    assert password and "\n" not in password
    r = httpx.get(f"{endpoint}/v2/", auth=("AWS", password))
    assert r.status_code == 200
    # The same password that get-authorization-token carries.
    token = aws("get-authorization-token")["authorizationData"][0]
    assert base64.b64decode(token["authorizationToken"]).decode().startswith("AWS:")
    assert token["proxyEndpoint"] == endpoint


def test_delete_repository_force(aws: AwsCli, ecr: Any, repo: str) -> None:
    push_layer_api(ecr, repo, make_image(f"cli-del/{repo}", layers=1), tag="v1")
    aws.error("RepositoryNotEmptyException", "delete-repository", "--repository-name", repo)
    deleted = aws("delete-repository", "--repository-name", repo, "--force")["repository"]
    assert deleted["repositoryName"] == repo
    aws.error("RepositoryNotFoundException", "delete-repository", "--repository-name", repo)


def test_cli_output_is_json(aws: AwsCli) -> None:
    done = aws.raw("describe-registry")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["registryId"] == ACCOUNT
