"""A deployment restricted to two regions, with a registry domain: ECR-shaped repository
URIs and login endpoints, ``/v2`` choosing the registry by host name, and refusals of the
regions not served (on the API as AWS refuses a wrong region, on ``/v2`` as an unknown
registry)."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.regions.conftest import DOMAIN
from tests.support.ecr import ACCOUNT, error_code, login_password, push_layer_api, regional_client
from tests.support.images import MANIFEST_ACCEPT, make_image, push_image
from tests.support.servers import DockyardProcess

IRELAND, VIRGINIA, FRANKFURT = "eu-west-1", "us-east-1", "eu-central-1"


def host(region: str, account: str = ACCOUNT) -> str:
    return f"{account}.dkr.ecr.{region}.{DOMAIN}"


def v2(server: DockyardProcess, name: str, password: str | None) -> httpx.Client:
    """A /v2 client that connects to the server and names ``name`` as its Host."""
    auth = ("AWS", password) if password is not None else None
    return httpx.Client(base_url=server.url, headers={"Host": name}, auth=auth, timeout=30)


@pytest.fixture
def name() -> str:
    return f"hosts/{uuid.uuid4().hex[:10]}"


def test_uris_and_login_endpoints_are_ecr_shaped(
    restricted_server: DockyardProcess, name: str
) -> None:
    ecr = regional_client(restricted_server.url, IRELAND)
    created = ecr.create_repository(repositoryName=name)["repository"]
    assert created["repositoryUri"] == f"{host(IRELAND)}/{name}"
    (data,) = ecr.get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == f"http://{host(IRELAND)}"


def test_a_region_not_served_is_refused_as_aws_refuses_a_wrong_region(
    restricted_server: DockyardProcess,
) -> None:
    ecr = regional_client(restricted_server.url, FRANKFURT)
    with pytest.raises(ClientError) as caught:
        ecr.describe_repositories()
    assert error_code(caught) == "InvalidSignatureException"
    assert caught.value.response["Error"]["Message"] == (
        f"Credential should be scoped to a valid region, not '{FRANKFURT}'."
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # IAM and STS are global: us-east-1 (their global endpoint's) is always accepted.
    sts = regional_client(restricted_server.url, VIRGINIA, "sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT


def test_v2_chooses_the_registry_by_host_name(
    restricted_server: DockyardProcess, name: str
) -> None:
    ireland, virginia = (regional_client(restricted_server.url, r) for r in (IRELAND, VIRGINIA))
    ireland.create_repository(repositoryName=name)
    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-ireland", layers=2)
    with v2(restricted_server, host(IRELAND), login_password(ireland)) as client:
        digest = push_image(client, name, image, "v1")
        assert digest == image.digest
        r = client.get(f"/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200 and r.content == image.manifest.data
        r = client.get(f"/v2/{name}/blobs/{image.layers[0].digest}")
        assert r.status_code == 200 and r.content == image.layers[0].data
    # Case and port do not matter in a host name.
    shouted = f"{host(IRELAND).upper()}:{restricted_server.port}"
    with v2(restricted_server, shouted, login_password(ireland)) as client:
        r = client.head(f"/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.headers["Docker-Content-Digest"] == image.digest
    # The same name in the other region's registry holds nothing.
    with v2(restricted_server, host(VIRGINIA), login_password(virginia)) as client:
        r = client.get(f"/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 404
        assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    # The API sees what /v2 pushed, in that region only.
    details = ireland.describe_images(repositoryName=name)["imageDetails"]
    assert [d["imageDigest"] for d in details] == [image.digest]
    assert virginia.describe_images(repositoryName=name)["imageDetails"] == []


def test_a_token_is_for_its_own_region(restricted_server: DockyardProcess, name: str) -> None:
    virginia_password = login_password(regional_client(restricted_server.url, VIRGINIA))
    with v2(restricted_server, host(IRELAND), virginia_password) as client:
        r = client.get("/v2/")
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "us-east-1" in r.json()["errors"][0]["message"]
    # The challenge names the registry asked for, so the client logs in to that one.
    assert r.headers["WWW-Authenticate"] == (
        f'Basic realm="http://{host(IRELAND)}",service="ecr.amazonaws.com"'
    )
    with v2(restricted_server, host(VIRGINIA), virginia_password) as client:
        assert client.get("/v2/").status_code == 200


def test_without_a_registry_host_the_token_chooses(
    restricted_server: DockyardProcess, name: str
) -> None:
    """On the server's own address (no ECR-shaped host), the region is the token's."""
    ireland = regional_client(restricted_server.url, IRELAND)
    ireland.create_repository(repositoryName=name)
    image = make_image(f"{name}-token", layers=1)
    push_layer_api(ireland, name, image, tag="v1")
    with v2(restricted_server, restricted_server.host, login_password(ireland)) as client:
        r = client.get(f"/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.headers["Docker-Content-Digest"] == image.digest
    virginia_password = login_password(regional_client(restricted_server.url, VIRGINIA))
    with v2(restricted_server, restricted_server.host, virginia_password) as client:
        r = client.get(f"/v2/{name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 404


def test_a_host_naming_a_region_not_served_is_no_registry(
    restricted_server: DockyardProcess,
) -> None:
    password = login_password(regional_client(restricted_server.url, VIRGINIA))
    for credentials in (password, None):
        with v2(restricted_server, host(FRANKFURT), credentials) as client:
            r = client.get("/v2/_catalog")
        assert r.status_code == 404
        error = r.json()["errors"][0]
        assert error["code"] == "NAME_UNKNOWN"
        assert error["detail"] == {"region": FRANKFURT, "host": host(FRANKFURT)}
    # A host of another form is the server's own address: the token's registry.
    with v2(restricted_server, f"registry.{DOMAIN}", password) as client:
        assert client.get("/v2/").status_code == 200


def test_a_bearer_token_keeps_its_password_region(restricted_server: DockyardProcess) -> None:
    password = login_password(regional_client(restricted_server.url, IRELAND))
    basic = base64.b64encode(f"AWS:{password}".encode()).decode()
    got = httpx.get(f"{restricted_server.url}/", headers={"Authorization": f"Basic {basic}"})
    bearer = {"Authorization": f"Bearer {got.json()['token']}"}
    with v2(restricted_server, host(IRELAND), None) as client:
        assert client.get("/v2/", headers=bearer).status_code == 200
    with v2(restricted_server, host(VIRGINIA), None) as client:
        assert client.get("/v2/", headers=bearer).status_code == 401


def test_a_host_names_the_account_too(restricted_server: DockyardProcess, name: str) -> None:
    """Another account's host is that account's registry: reachable only as its policies
    allow (here none does), like /v2/<account>/<name> on the server's own address."""
    other = "111122223333"
    password = login_password(regional_client(restricted_server.url, IRELAND))
    with v2(restricted_server, host(IRELAND, other), password) as client:
        r = client.get(f"/v2/{name}/tags/list")
        assert r.status_code == 403
        error = r.json()["errors"][0]
        assert error["code"] == "DENIED"
        assert f"arn:aws:ecr:{IRELAND}:{other}:repository/{name}" in error["message"]
        assert client.get("/v2/_catalog").json()["repositories"] == []
