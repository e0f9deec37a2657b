"""Who may push where: missing repositories, ``--create-on-push``, ``--allow-anonymous-pull``."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.auth import (
    ACCOUNT_ID,
    SecretLedger,
    StartDockyard,
    assert_unauthorized,
    basic,
    ecr_client,
    ecr_error,
    login_password,
    oci_error,
)
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_MANIFEST,
    make_image,
    push_blob,
    push_image,
    sha256_digest,
)
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(60)


def name_unknown_message(name: str) -> str:
    return (
        f"The repository with name '{name}' does not exist in the registry with id '{ACCOUNT_ID}'"
    )


def assert_name_unknown(response: httpx.Response, name: str) -> None:
    assert response.status_code == 404, (response.request.method, response.text)
    error = oci_error(response)
    assert error["code"] == "NAME_UNKNOWN"
    assert error["message"] == name_unknown_message(name)


def assert_no_repository(server: DockyardProcess, name: str) -> None:
    with pytest.raises(ClientError) as info:
        ecr_client(server.url).describe_repositories(repositoryNames=[name])
    assert ecr_error(info.value)[0] == "RepositoryNotFoundException"


# --- repositories must exist ---------------------------------------------------------------


def test_push_to_missing_repository(
    auth_server: DockyardProcess, root_password: str, repo_name: str
) -> None:
    image = make_image(f"missing/{repo_name}", layers=1)
    layer = image.layers[0]
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        # Monolithic upload, chunked upload start, and a manifest: all NAME_UNKNOWN.
        r = c.post(
            f"/v2/{repo_name}/blobs/uploads/",
            params={"digest": layer.digest},
            content=layer.data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert_name_unknown(r, repo_name)
        assert_name_unknown(c.post(f"/v2/{repo_name}/blobs/uploads/"), repo_name)
        r = c.put(
            f"/v2/{repo_name}/manifests/v1",
            content=image.manifest.data,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert_name_unknown(r, repo_name)
        # A cross-repository mount into a missing repository is refused the same way.
        r = c.post(
            f"/v2/{repo_name}/blobs/uploads/",
            params={"mount": layer.digest, "from": "some/other"},
        )
        assert_name_unknown(r, repo_name)
    assert_no_repository(auth_server, repo_name)


def test_push_after_create_repository(
    auth_server: DockyardProcess, root_password: str, repo_name: str
) -> None:
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"created/{repo_name}", layers=1)
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        assert push_image(c, repo_name, image, tag="v1") == image.digest


def test_create_on_push(
    start_dockyard: StartDockyard, ledger: SecretLedger, repo_name: str
) -> None:
    server = start_dockyard("--create-on-push")
    password = ledger.add_password(login_password(server.url))
    image = make_image(f"create-on-push/{repo_name}", layers=2)
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        # Creating by pushing still needs credentials, and an anonymous try creates nothing.
        r = anonymous.post(f"/v2/{repo_name}/blobs/uploads/")
        assert_unauthorized(server, r)
    assert_no_repository(server, repo_name)
    with httpx.Client(base_url=server.url, headers=basic(password), timeout=30) as c:
        assert push_image(c, repo_name, image, tag="v1") == image.digest
        r = c.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200
        assert r.headers["Docker-Content-Digest"] == image.digest
    (repo,) = ecr_client(server.url).describe_repositories(repositoryNames=[repo_name])[
        "repositories"
    ]
    assert repo["repositoryName"] == repo_name
    assert repo["imageTagMutability"] == "MUTABLE"
    images = ecr_client(server.url).describe_images(repositoryName=repo_name)["imageDetails"]
    assert [(i["imageDigest"], i["imageTags"]) for i in images] == [(image.digest, ["v1"])]


# --- anonymous pull ------------------------------------------------------------------------


def test_anonymous_pull(
    start_dockyard: StartDockyard, ledger: SecretLedger, repo_name: str
) -> None:
    server = start_dockyard("--allow-anonymous-pull")
    password = ledger.add_password(login_password(server.url))
    ecr_client(server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"anonymous/{repo_name}", layers=2)
    other = make_image(f"anonymous-other/{repo_name}", layers=1)
    with httpx.Client(base_url=server.url, headers=basic(password), timeout=30) as c:
        push_image(c, repo_name, image, tag="v1")

    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        # Reads work without credentials.
        r = anonymous.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200, r.text
        assert r.headers["Docker-Content-Digest"] == image.digest
        assert r.content == image.manifest.data
        r = anonymous.head(f"/v2/{repo_name}/manifests/{image.digest}")
        assert r.status_code == 200
        r = anonymous.get(f"/v2/{repo_name}/blobs/{image.layers[0].digest}")
        assert r.status_code == 200
        assert sha256_digest(r.content) == image.layers[0].digest
        assert anonymous.get(f"/v2/{repo_name}/tags/list").json()["tags"] == ["v1"]

        # Writes do not.
        layer = other.layers[0]
        writes = [
            anonymous.post(f"/v2/{repo_name}/blobs/uploads/"),
            anonymous.post(
                f"/v2/{repo_name}/blobs/uploads/",
                params={"digest": layer.digest},
                content=layer.data,
                headers={"Content-Type": "application/octet-stream"},
            ),
            anonymous.put(
                f"/v2/{repo_name}/manifests/v1",
                content=other.manifest.data,
                headers={"Content-Type": OCI_MANIFEST},
            ),
            anonymous.put(
                f"/v2/{repo_name}/manifests/v2",
                content=image.manifest.data,
                headers={"Content-Type": OCI_MANIFEST},
            ),
            anonymous.delete(f"/v2/{repo_name}/manifests/{image.digest}"),
            anonymous.patch(f"/v2/{repo_name}/blobs/uploads/some-session", content=b"x"),
        ]
        for r in writes:
            assert_unauthorized(server, r)

    # Nothing changed: the tag still names the image, no v2 tag, the blob was not stored.
    with httpx.Client(base_url=server.url, headers=basic(password), timeout=30) as c:
        r = c.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.headers["Docker-Content-Digest"] == image.digest
        assert c.get(f"/v2/{repo_name}/tags/list").json()["tags"] == ["v1"]
        assert c.head(f"/v2/{repo_name}/blobs/{layer.digest}").status_code == 404
        # With credentials the same upload is fine.
        assert push_blob(c, repo_name, layer) == layer.digest


def test_anonymous_pull_is_off_by_default(
    auth_server: DockyardProcess, root_password: str, repo_name: str
) -> None:
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"not-anonymous/{repo_name}", layers=1)
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        push_image(c, repo_name, image, tag="v1")
    with httpx.Client(base_url=auth_server.url, timeout=30) as anonymous:
        r = anonymous.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert_unauthorized(auth_server, r)
        r = anonymous.get(f"/v2/{repo_name}/blobs/{image.layers[0].digest}")
        assert_unauthorized(auth_server, r)
