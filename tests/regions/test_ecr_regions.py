"""The ECR API in eu-central-1 (and others) against one server started without any region
setting: each region a registry of its own, chosen by the request's SigV4 scope."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.support.ecr import (
    ACCOUNT,
    expect_error,
    login_password,
    push_layer_api,
    regional_client,
)
from tests.support.images import MANIFEST_ACCEPT, make_image
from tests.support.servers import DockyardProcess

FRANKFURT = "eu-central-1"
VIRGINIA = "us-east-1"


@pytest.fixture(scope="module")
def frankfurt(plain_server: DockyardProcess) -> Any:
    return regional_client(plain_server.url, FRANKFURT)


@pytest.fixture(scope="module")
def virginia(plain_server: DockyardProcess) -> Any:
    return regional_client(plain_server.url, VIRGINIA)


@pytest.fixture
def name() -> str:
    return f"regions/{uuid.uuid4().hex[:10]}"


def arn(region: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{name}"


def lifecycle_text() -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "keep one untagged image",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def test_repositories_in_eu_central_1(
    frankfurt: Any, plain_server: DockyardProcess, name: str
) -> None:
    created = frankfurt.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE",
        tags=[{"Key": "team", "Value": "platform"}],
    )["repository"]
    assert created["repositoryArn"] == arn(FRANKFURT, name)
    assert created["registryId"] == ACCOUNT
    assert created["repositoryUri"] == f"{plain_server.host}/{name}"
    assert created["imageTagMutability"] == "IMMUTABLE"

    (described,) = frankfurt.describe_repositories(repositoryNames=[name])["repositories"]
    assert described["repositoryArn"] == arn(FRANKFURT, name)
    listed = frankfurt.describe_repositories()["repositories"]
    assert name in {r["repositoryName"] for r in listed}
    expect_error(
        "RepositoryAlreadyExistsException", frankfurt.create_repository, repositoryName=name
    )


def test_tags_in_eu_central_1(frankfurt: Any, name: str) -> None:
    frankfurt.create_repository(repositoryName=name)
    resource = arn(FRANKFURT, name)
    frankfurt.tag_resource(
        resourceArn=resource,
        tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "ops"}],
    )
    frankfurt.untag_resource(resourceArn=resource, tagKeys=["owner"])
    assert frankfurt.list_tags_for_resource(resourceArn=resource)["tags"] == [
        {"Key": "env", "Value": "prod"}
    ]
    # An ARN of another region is no resource of this one.
    expect_error(
        "InvalidParameterException",
        frankfurt.list_tags_for_resource,
        resourceArn=arn(VIRGINIA, name),
    )


def test_lifecycle_in_eu_central_1(frankfurt: Any, name: str) -> None:
    frankfurt.create_repository(repositoryName=name)
    text = lifecycle_text()
    put = frankfurt.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=text)
    assert put["lifecyclePolicyText"] == text
    got = frankfurt.get_lifecycle_policy(repositoryName=name)
    assert (got["repositoryName"], got["lifecyclePolicyText"]) == (name, text)
    image = make_image(f"{name}-lifecycle", layers=1)
    pushed = push_layer_api(frankfurt, name, image)
    started = frankfurt.start_lifecycle_policy_preview(repositoryName=name)
    assert started["lifecyclePolicyText"] == text
    preview = frankfurt.get_lifecycle_policy_preview(repositoryName=name)
    assert preview["status"] == "COMPLETE"
    assert preview["previewResults"] == []  # one untagged image is kept
    assert pushed["imageId"]["imageDigest"] == image.digest


def test_scanning_configuration_in_eu_central_1(frankfurt: Any, virginia: Any, name: str) -> None:
    frankfurt.create_repository(repositoryName=name)
    frankfurt.put_image_scanning_configuration(
        repositoryName=name, imageScanningConfiguration={"scanOnPush": True}
    )
    (described,) = frankfurt.describe_repositories(repositoryNames=[name])["repositories"]
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}
    found = frankfurt.batch_get_repository_scanning_configuration(repositoryNames=[name])
    (config,) = found["scanningConfigurations"]
    assert (config["repositoryName"], config["scanOnPush"]) == (name, True)

    rules = [
        {
            "scanFrequency": "SCAN_ON_PUSH",
            "repositoryFilters": [{"filter": "frankfurt-*", "filterType": "WILDCARD"}],
        }
    ]
    frankfurt.put_registry_scanning_configuration(scanType="BASIC", rules=rules)
    here = frankfurt.get_registry_scanning_configuration()["scanningConfiguration"]
    assert here["rules"] == rules
    # The registry of another region keeps its own configuration.
    there = virginia.get_registry_scanning_configuration()["scanningConfiguration"]
    assert there.get("rules", []) != rules


def test_images_in_eu_central_1(frankfurt: Any, name: str) -> None:
    frankfurt.create_repository(repositoryName=name)
    image = make_image(f"{name}-push", layers=2)
    pushed = push_layer_api(frankfurt, name, image, tag="v1")
    assert pushed["registryId"] == ACCOUNT
    (detail,) = frankfurt.describe_images(repositoryName=name)["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"]) == (image.digest, ["v1"])
    got = frankfurt.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])
    assert got["images"][0]["imageManifest"] == image.manifest.data.decode()
    # The download URL carries the region: it fetches this region's layer.
    layer = image.layers[0]
    url = frankfurt.get_download_url_for_layer(repositoryName=name, layerDigest=layer.digest)[
        "downloadUrl"
    ]
    assert httpx.get(url, follow_redirects=True).content == layer.data


def test_each_region_is_a_registry_of_its_own(
    frankfurt: Any, virginia: Any, plain_server: DockyardProcess, name: str
) -> None:
    frankfurt.create_repository(repositoryName=name)
    expect_error(
        "RepositoryNotFoundException", virginia.describe_repositories, repositoryNames=[name]
    )
    other = f"{name}-virginia"
    virginia.create_repository(repositoryName=other)
    expect_error(
        "RepositoryNotFoundException", frankfurt.describe_repositories, repositoryNames=[other]
    )
    assert other not in {
        r["repositoryName"] for r in frankfurt.describe_repositories()["repositories"]
    }

    # The same name in both, with different images and settings.
    created = virginia.create_repository(repositoryName=name)["repository"]
    assert created["repositoryArn"] == arn(VIRGINIA, name)
    in_frankfurt, in_virginia = make_image(f"{name}-fra", 1), make_image(f"{name}-iad", 1)
    push_layer_api(frankfurt, name, in_frankfurt, tag="latest")
    push_layer_api(virginia, name, in_virginia, tag="latest")
    frankfurt.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=lifecycle_text())
    expect_error(
        "LifecyclePolicyNotFoundException", virginia.get_lifecycle_policy, repositoryName=name
    )
    assert [
        d["imageDigest"] for d in frankfurt.describe_images(repositoryName=name)["imageDetails"]
    ] == [in_frankfurt.digest]
    assert [
        d["imageDigest"] for d in virginia.describe_images(repositoryName=name)["imageDetails"]
    ] == [in_virginia.digest]

    # On /v2, a login token is for the region it was asked in.
    for client, image in ((frankfurt, in_frankfurt), (virginia, in_virginia)):
        auth = ("AWS", login_password(client))
        with httpx.Client(base_url=plain_server.url, auth=auth) as v2:
            r = v2.get(f"/v2/{name}/manifests/latest", headers={"Accept": MANIFEST_ACCEPT})
            assert r.status_code == 200, r.text
            assert r.headers["Docker-Content-Digest"] == image.digest
            catalog = v2.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]
            assert (other in catalog) == (client is virginia)

    # Deleting in one region leaves the other's.
    virginia.delete_repository(repositoryName=name, force=True)
    assert frankfurt.describe_images(repositoryName=name)["imageDetails"]


def test_registry_policies_are_per_region(frankfurt: Any, virginia: Any) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "frankfurt",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": ["ecr:ReplicateImage"],
                    "Resource": f"arn:aws:ecr:{FRANKFURT}:{ACCOUNT}:repository/*",
                }
            ],
        }
    )
    frankfurt.put_registry_policy(policyText=policy)
    try:
        assert json.loads(frankfurt.get_registry_policy()["policyText"]) == json.loads(policy)
        expect_error("RegistryPolicyNotFoundException", virginia.get_registry_policy)
    finally:
        frankfurt.delete_registry_policy()


def test_policy_arns_name_the_request_region(plain_server: DockyardProcess, name: str) -> None:
    """A user allowed in eu-central-1 only is refused in us-east-1, with that region's ARN."""
    iam = regional_client(plain_server.url, VIRGINIA, "iam")
    user = f"frankfurt-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="frankfurt-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ecr:*",
                        "Resource": f"arn:aws:ecr:{FRANKFURT}:{ACCOUNT}:repository/regions/*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    keys = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    regional_client(plain_server.url, FRANKFURT, **keys).create_repository(repositoryName=name)
    refused = expect_error(
        "AccessDeniedException",
        regional_client(plain_server.url, VIRGINIA, **keys).create_repository,
        repositoryName=name,
    )
    assert arn(VIRGINIA, name) in refused.response["Error"]["Message"]


def test_iam_and_sts_stay_global(plain_server: DockyardProcess) -> None:
    for region in (FRANKFURT, VIRGINIA):
        sts = regional_client(plain_server.url, region, "sts")
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        iam = regional_client(plain_server.url, region, "iam")
        assert "Users" in iam.list_users()
