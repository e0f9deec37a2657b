"""A push to a missing repository creates it through a CREATE_ON_PUSH template, with the
template's settings: over HTTP and with skopeo, longest prefix first, ROOT for the rest, the
``--create-on-push`` setting as a ROOT template with defaults, and nothing without either."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.authz import PUSH_ACTIONS, allow, document, ecr_as, make_user, password_of
from tests.support.ecr import expect_error, login_client, make_client, regional_client
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_MANIFEST,
    make_image,
    push_blob,
    push_image,
    write_oci_layout,
)
from tests.support.postgres import Database
from tests.support.servers import DockyardProcess
from tests.support.tools import skopeo
from tests.templates.conftest import StartServer
from tests.templates.helpers import ACCOUNT, LIFECYCLE, PULL_POLICY, TAGS, full_template, same_json

pytestmark = pytest.mark.timeout(180)


def describe(ecr: Any, name: str) -> dict[str, Any]:
    (repository,) = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    return dict(repository)


def assert_missing(ecr: Any, name: str) -> None:
    expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=[name])


def assert_name_unknown(response: httpx.Response, name: str) -> None:
    assert response.status_code == 404, (response.request.method, response.text)
    (error,) = response.json()["errors"]
    assert error["code"] == "NAME_UNKNOWN"
    assert error["message"] == (
        f"The repository with name '{name}' does not exist in the registry with id '{ACCOUNT}'"
    )


def refused_push(client: httpx.Client, name: str) -> None:
    """Every way of starting a push to ``name`` answers NAME_UNKNOWN."""
    image = make_image(f"refused/{name}", layers=1)
    layer = image.layers[0]
    r = client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": layer.digest},
        content=layer.data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_name_unknown(r, name)
    assert_name_unknown(client.post(f"/v2/{name}/blobs/uploads/"), name)
    r = client.put(
        f"/v2/{name}/manifests/v1",
        content=image.manifest.data,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert_name_unknown(r, name)


def test_a_push_creates_the_repository_with_the_template_s_settings(
    ecr: Any, v2: httpx.Client, prefix: str
) -> None:
    ecr.create_repository_creation_template(**full_template(prefix))
    name = f"{prefix}/service/web"
    assert_missing(ecr, name)
    # Before the first push, a client asking for referrers learns there are none.
    r = v2.get(f"/v2/{name}/referrers/sha256:{'0' * 64}")
    assert r.status_code == 200, r.text
    assert r.json()["manifests"] == []

    image = make_image(f"templated/{name}", layers=2)
    assert push_image(v2, name, image, tag="v1") == image.digest

    repository = describe(ecr, name)
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"},
        {"filterType": "WILDCARD", "filter": "dev-*"},
    ]
    assert repository["encryptionConfiguration"] == {"encryptionType": "AES256"}
    lifecycle = ecr.get_lifecycle_policy(repositoryName=name)
    assert same_json(lifecycle["lifecyclePolicyText"], LIFECYCLE)
    policy = ecr.get_repository_policy(repositoryName=name)
    assert same_json(policy["policyText"], PULL_POLICY)
    arn = repository["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == TAGS
    images = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [(i["imageDigest"], i["imageTags"]) for i in images] == [(image.digest, ["v1"])]

    # The template's mutability holds: v1 cannot move, an excluded tag can.
    other = make_image(f"templated-2/{name}", layers=1)
    for blob in other.blobs:
        push_blob(v2, name, blob)
    r = v2.put(
        f"/v2/{name}/manifests/v1",
        content=other.manifest.data,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "TAG_INVALID", r.text
    push_image(v2, name, image, tag="dev-1")
    push_image(v2, name, other, tag="dev-1")

    # Deleting the template leaves the repository as it is and stops further creation.
    ecr.delete_repository_creation_template(prefix=prefix)
    assert describe(ecr, name)["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    refused_push(v2, f"{prefix}/service/api")
    assert_missing(ecr, f"{prefix}/service/api")


def test_the_longest_prefix_wins(ecr: Any, v2: httpx.Client, prefix: str) -> None:
    ecr.create_repository_creation_template(
        prefix=prefix, appliedFor=["CREATE_ON_PUSH"], resourceTags=[{"Key": "from", "Value": "a"}]
    )
    ecr.create_repository_creation_template(
        prefix=f"{prefix}/team",
        appliedFor=["CREATE_ON_PUSH", "REPLICATION"],
        imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "from", "Value": "a/team"}],
    )
    # A longer prefix for another use only does not count for a push.
    ecr.create_repository_creation_template(
        prefix=f"{prefix}/team/mirror", appliedFor=["REPLICATION"], imageTagMutability="MUTABLE"
    )
    try:
        expected = {
            f"{prefix}/team/app": ("IMMUTABLE", "a/team"),
            f"{prefix}/team/mirror/app": ("IMMUTABLE", "a/team"),
            f"{prefix}/teams/app": ("MUTABLE", "a"),  # a path boundary, not a string prefix
            f"{prefix}/other/deep/app": ("MUTABLE", "a"),
        }
        for name, (mutability, source) in expected.items():
            push_image(v2, name, make_image(f"longest/{name}", layers=1), tag="v1")
            repository = describe(ecr, name)
            assert repository["imageTagMutability"] == mutability, name
            tags = ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]
            assert tags == [{"Key": "from", "Value": source}], name
        # The prefix itself is not under its template, and nothing else applies here.
        refused_push(v2, prefix)
        assert_missing(ecr, prefix)
    finally:
        for p in (prefix, f"{prefix}/team", f"{prefix}/team/mirror"):
            ecr.delete_repository_creation_template(prefix=p)


def test_templates_for_other_uses_create_nothing(ecr: Any, v2: httpx.Client, prefix: str) -> None:
    ecr.create_repository_creation_template(
        prefix=prefix, appliedFor=["REPLICATION", "PULL_THROUGH_CACHE"]
    )
    try:
        refused_push(v2, f"{prefix}/app")
        assert_missing(ecr, f"{prefix}/app")
    finally:
        ecr.delete_repository_creation_template(prefix=prefix)


def test_no_template_no_setting_no_repository(ecr: Any, v2: httpx.Client, prefix: str) -> None:
    refused_push(v2, f"{prefix}/app")
    assert_missing(ecr, f"{prefix}/app")
    r = v2.get(f"/v2/{prefix}/app/referrers/sha256:{'0' * 64}")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_creating_by_push_needs_create_repository(
    server: DockyardProcess, ecr: Any, iam: Any, prefix: str
) -> None:
    ecr.create_repository_creation_template(
        prefix=prefix, appliedFor=["CREATE_ON_PUSH"], resourceTags=[{"Key": "env", "Value": "ci"}]
    )
    mine = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{prefix}/*"
    name = f"ci-{uuid.uuid4().hex[:8]}"
    pusher = make_user(
        iam,
        name,
        inline=json.dumps(document(allow(PUSH_ACTIONS, mine), allow("ecr:GetAuthorizationToken"))),
    )
    creator = make_user(
        iam,
        f"{name}-creator",
        inline=json.dumps(
            document(
                allow([*PUSH_ACTIONS, "ecr:CreateRepository"], mine),
                allow("ecr:GetAuthorizationToken"),
            )
        ),
    )
    try:
        repo = f"{prefix}/app"
        image = make_image(f"iam/{repo}", layers=1)
        with login_client(ecr_as(server.url, pusher), server.url) as client:
            r = client.post(f"/v2/{repo}/blobs/uploads/")
            assert r.status_code == 403, r.text
            (error,) = r.json()["errors"]
            assert error["code"] == "DENIED"
            assert "ecr:CreateRepository" in error["message"]
        assert_missing(ecr, repo)
        with login_client(ecr_as(server.url, creator), server.url) as client:
            assert push_image(client, repo, image, tag="v1") == image.digest
        repository = describe(ecr, repo)
        tags = ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]
        assert tags == [{"Key": "env", "Value": "ci"}]
        # Once it exists, pushing needs the push permissions only.
        with login_client(ecr_as(server.url, pusher), server.url) as client:
            push_image(client, repo, image, tag="v2")
    finally:
        ecr.delete_repository_creation_template(prefix=prefix)


def test_root_takes_what_no_prefix_does_with_skopeo(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ecr = make_client(server.url)
    ecr.create_repository_creation_template(
        prefix="ROOT",
        appliedFor=["CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE",
        lifecyclePolicy=LIFECYCLE,
    )
    ecr.create_repository_creation_template(prefix="team", appliedFor=["CREATE_ON_PUSH"])
    host = server.url.removeprefix("http://")
    password = password_of(ecr)
    image = make_image("root-fallback", layers=2)
    layout = write_oci_layout(tmp_path / "layout", {"src": image})
    for name in ("loose/app", "team/app", "standalone"):
        done = skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"AWS:{password}",
            f"oci:{layout}:src",
            f"docker://{host}/{name}:v1",
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert describe(ecr, "loose/app")["imageTagMutability"] == "IMMUTABLE"
    assert describe(ecr, "standalone")["imageTagMutability"] == "IMMUTABLE"
    stored = ecr.get_lifecycle_policy(repositoryName="standalone")["lifecyclePolicyText"]
    assert same_json(stored, LIFECYCLE)
    assert describe(ecr, "team/app")["imageTagMutability"] == "MUTABLE"
    expect_error(
        "LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName="team/app"
    )
    with login_client(ecr, server.url) as client:
        r = client.get("/v2/standalone/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200
        assert r.headers["Docker-Content-Digest"] == image.digest


def test_the_setting_is_a_root_template_with_defaults(start_server: StartServer) -> None:
    server = start_server("--create-on-push")
    ecr = make_client(server.url)
    ecr.create_repository_creation_template(
        prefix="strict", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    with login_client(ecr, server.url) as client:
        for name in ("strict/app", "lenient/app"):
            push_image(client, name, make_image(f"setting/{name}", layers=1), tag="v1")
    assert describe(ecr, "strict/app")["imageTagMutability"] == "IMMUTABLE"
    lenient = describe(ecr, "lenient/app")
    assert lenient["imageTagMutability"] == "MUTABLE"
    assert lenient["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert ecr.list_tags_for_resource(resourceArn=lenient["repositoryArn"])["tags"] == []
    # A ROOT template the registry really holds comes before the setting's.
    ecr.create_repository_creation_template(
        prefix="ROOT", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    with login_client(ecr, server.url) as client:
        push_image(client, "later/app", make_image("setting/later", layers=1), tag="v1")
    assert describe(ecr, "later/app")["imageTagMutability"] == "IMMUTABLE"


def test_first_pushes_at_once_create_one_repository(
    ecr: Any, server: DockyardProcess, prefix: str
) -> None:
    ecr.create_repository_creation_template(
        prefix=prefix, appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy=LIFECYCLE
    )
    name = f"{prefix}/busy"
    images = [make_image(f"race/{name}/{i}", layers=1) for i in range(8)]
    password = password_of(ecr)

    def push(i: int) -> str:
        with httpx.Client(base_url=server.url, auth=("AWS", password), timeout=60) as client:
            return push_image(client, name, images[i], tag=f"v{i}")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            digests = list(pool.map(push, range(8)))
        assert digests == [i.digest for i in images]
        listed = ecr.describe_images(repositoryName=name)["imageDetails"]
        assert len(listed) == 8
        stored = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
        assert same_json(stored, LIFECYCLE)
    finally:
        ecr.delete_repository_creation_template(prefix=prefix)


def test_templates_end_to_end_on_each_engine(start_server: StartServer, database: Database) -> None:
    """The whole path on SQLite and on PostgreSQL: stored, listed, updated, applied to a
    push (repository, policies and tags in one transaction), deleted."""
    server = start_server(database_url=database.url)
    ecr = make_client(server.url)
    ecr.create_repository_creation_template(**full_template("engine"))
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["REPLICATION"])
    ecr.update_repository_creation_template(prefix="engine", description="on each engine")
    listed = ecr.describe_repository_creation_templates(maxResults=1)
    assert [t["prefix"] for t in listed["repositoryCreationTemplates"]] == ["ROOT"]
    rest = ecr.describe_repository_creation_templates(nextToken=listed["nextToken"])
    (engine,) = rest["repositoryCreationTemplates"]
    assert engine["description"] == "on each engine"
    assert engine["resourceTags"] == TAGS
    with login_client(ecr, server.url) as client:
        push_image(client, "engine/app", make_image(f"engine/{database.engine}", layers=1), "v1")
        refused_push(client, "elsewhere/app")  # ROOT is for replication only
    repository = describe(ecr, "engine/app")
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"] == TAGS
    stored = ecr.get_repository_policy(repositoryName="engine/app")["policyText"]
    assert same_json(stored, PULL_POLICY)
    stored = ecr.get_lifecycle_policy(repositoryName="engine/app")["lifecyclePolicyText"]
    assert same_json(stored, LIFECYCLE)
    ecr.delete_repository_creation_template(prefix="engine")
    ecr.delete_repository_creation_template(prefix="ROOT")
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_templates_are_per_region(start_server: StartServer) -> None:
    """A template is its (account, region) registry's: it lists there only, and a push
    creates through it only in that region (chosen on /v2 by the login token's region)."""
    server = start_server()
    ireland = regional_client(server.url, "eu-west-1")
    virginia = regional_client(server.url, "us-east-1")
    ireland.create_repository_creation_template(
        prefix="regional", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    listed = ireland.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert [t["prefix"] for t in listed] == ["regional"]
    assert virginia.describe_repository_creation_templates()["repositoryCreationTemplates"] == []
    expect_error(
        "TemplateNotFoundException",
        virginia.delete_repository_creation_template,
        prefix="regional",
    )
    name = "regional/app"
    with login_client(virginia, server.url) as client:
        refused_push(client, name)
    assert_missing(virginia, name)
    with login_client(ireland, server.url) as client:
        push_image(client, name, make_image("regional", layers=1), tag="v1")
    created = describe(ireland, name)
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["repositoryArn"].startswith("arn:aws:ecr:eu-west-1:")
    assert_missing(virginia, name)
