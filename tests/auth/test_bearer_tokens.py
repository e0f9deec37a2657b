"""The token endpoint at the challenge's realm (``GET /``) and the bearer tokens it issues.

Some clients answer ECR's ``Basic`` challenge with the distribution token flow anyway: they
GET the realm with the Basic credentials and send the token they get back as ``Bearer``
(oras-py's default backend, see ``test_oras_login.py``). A token is worth exactly the
password it was exchanged for: the same caller, checked against the access key on every
use, for at most an hour and never beyond the password.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.auth import (
    ROOT_KEY,
    SecretLedger,
    assert_unauthorized,
    basic,
    challenge,
    dockyard_cli,
    ecr_client,
    login_password,
    mint_token,
    new_user_key,
    wait_until,
)
from tests.support.images import MANIFEST_ACCEPT, make_image, push_image
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(60)

SERVICE = {"service": "ecr.amazonaws.com"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fetch_token(server: DockyardProcess, password: str, ledger: SecretLedger) -> str:
    r = httpx.get(server.url + "/", params=SERVICE, headers=basic(password), timeout=30)
    assert r.status_code == 200, r.text
    token = ledger.add(r.json()["token"])
    assert token not in (password, "")
    return token


def test_token_response(auth_server: DockyardProcess, root_password: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    r = httpx.get(
        auth_server.url + "/",
        params={**SERVICE, "scope": "repository:any/repo:pull,push"},
        headers=basic(root_password),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["token"] == body["access_token"]
    assert 60 <= body["expires_in"] <= 3600
    issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert before <= issued <= datetime.now(UTC)


def test_token_endpoint_without_credentials(auth_server: DockyardProcess) -> None:
    r = httpx.get(auth_server.url + "/", params=SERVICE, timeout=30)
    assert r.status_code == 401
    assert r.headers.get_list("WWW-Authenticate") == [challenge(auth_server)]
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("case", ["wrong-password", "wrong-user", "bearer", "secret-key"])
def test_token_endpoint_refuses_bad_credentials(
    auth_server: DockyardProcess, root_password: str, ledger: SecretLedger, case: str
) -> None:
    token = fetch_token(auth_server, root_password, ledger)
    headers = {
        "wrong-password": basic(root_password[:-2]),
        "wrong-user": basic(root_password, user="admin"),
        # A token must not buy a new token: renewal would outlive the password.
        "bearer": bearer(token),
        "secret-key": basic(ROOT_KEY[1]),
    }[case]
    r = httpx.get(auth_server.url + "/", params=SERVICE, headers=headers, timeout=30)
    assert r.status_code == 401, r.text
    assert r.headers.get_list("WWW-Authenticate") == [challenge(auth_server)]
    assert token not in r.text and root_password not in r.text


def test_bearer_token_pushes_and_pulls(
    auth_server: DockyardProcess, root_password: str, ledger: SecretLedger, repo_name: str
) -> None:
    token = fetch_token(auth_server, root_password, ledger)
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"bearer/{repo_name}", layers=2)
    with httpx.Client(base_url=auth_server.url, headers=bearer(token), timeout=30) as c:
        push_image(c, repo_name, image, tag="v1")
        r = c.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200, r.text
        assert r.headers["Docker-Content-Digest"] == image.digest
        assert repo_name in c.get("/v2/_catalog").json()["repositories"]


def test_bearer_token_is_bound_to_its_key(
    auth_server: DockyardProcess, v2: httpx.Client, ledger: SecretLedger, repo_name: str
) -> None:
    """A user's token acts as that user, and dies with the user's key."""
    data_dir = auth_server.data_dir
    key = new_user_key(data_dir, "bearer-user", ledger)
    token = fetch_token(
        auth_server, ledger.add_password(login_password(auth_server.url, key)), ledger
    )
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"bearer-user/{repo_name}", layers=1)
    with httpx.Client(base_url=auth_server.url, headers=bearer(token), timeout=30) as c:
        push_image(c, repo_name, image, tag="by-user")
    assert v2.get("/v2/", headers=bearer(token)).status_code == 200

    dockyard_cli(data_dir, "iam", "update-access-key", key[0], "--status", "Inactive")
    waited = wait_until(lambda: v2.get("/v2/", headers=bearer(token)).status_code == 401, 5)
    assert waited is not None, "a token outlived the key it was issued for"
    assert_unauthorized(auth_server, v2.get("/v2/", headers=bearer(token)), secret=token)


def test_expired_bearer_token(auth_server: DockyardProcess, v2: httpx.Client) -> None:
    data_dir = auth_server.data_dir
    # Control: minted the same way with a future expiry, it is accepted.
    fresh = mint_token(data_dir, ROOT_KEY[0], time.time() + 600, purpose="bearer")
    assert v2.get("/v2/", headers=bearer(fresh)).status_code == 200
    expired = mint_token(data_dir, ROOT_KEY[0], time.time() - 1, purpose="bearer")
    assert_unauthorized(auth_server, v2.get("/v2/", headers=bearer(expired)), secret=expired)


def test_token_never_outlives_its_password(
    auth_server: DockyardProcess, ledger: SecretLedger
) -> None:
    password = ledger.add_password(mint_token(auth_server.data_dir, ROOT_KEY[0], time.time() + 90))
    r = httpx.get(auth_server.url + "/", params=SERVICE, headers=basic(password), timeout=30)
    assert r.status_code == 200, r.text
    ledger.add(r.json()["token"])
    assert r.json()["expires_in"] <= 90


@pytest.mark.parametrize("purpose", ["login", "download"])
def test_other_tokens_are_not_bearer_tokens(
    auth_server: DockyardProcess, v2: httpx.Client, purpose: str
) -> None:
    token = mint_token(auth_server.data_dir, ROOT_KEY[0], time.time() + 600, purpose=purpose)
    assert_unauthorized(auth_server, v2.get("/v2/", headers=bearer(token)), secret=token)


def test_bearer_token_is_not_a_password(
    auth_server: DockyardProcess, v2: httpx.Client, root_password: str, ledger: SecretLedger
) -> None:
    token = fetch_token(auth_server, root_password, ledger)
    assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(token)), secret=token)
