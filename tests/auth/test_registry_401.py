"""``/v2`` refuses every request without a valid registry password, the way ECR does.

ECR's registry endpoint takes HTTP Basic with user ``AWS`` and the password that
GetAuthorizationToken hands out; anything else is 401 with a Basic challenge naming the
registry URL and ``service="ecr.amazonaws.com"`` (ECR has no bearer-token service; the
bearer tokens Dockyard also takes are tested in ``test_bearer_tokens.py``).
"""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.support.auth import (
    ROOT_KEY,
    SecretLedger,
    StartDockyard,
    assert_unauthorized,
    basic,
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


# --- no credentials ------------------------------------------------------------------------

ANONYMOUS_REQUESTS = [
    ("GET", "/v2/"),
    ("HEAD", "/v2/"),
    ("GET", "/v2/_catalog"),
    ("GET", "/v2/some/repo/tags/list"),
    ("GET", "/v2/some/repo/manifests/latest"),
    ("HEAD", "/v2/some/repo/manifests/latest"),
    ("GET", "/v2/some/repo/blobs/sha256:" + "0" * 64),
    ("POST", "/v2/some/repo/blobs/uploads/"),
    ("PUT", "/v2/some/repo/manifests/latest"),
    ("DELETE", "/v2/some/repo/manifests/sha256:" + "0" * 64),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_REQUESTS)
def test_no_credentials(
    auth_server: DockyardProcess, v2: httpx.Client, method: str, path: str
) -> None:
    assert_unauthorized(auth_server, v2.request(method, path))


def test_no_credentials_on_an_existing_image(
    auth_server: DockyardProcess, v2: httpx.Client, root_password: str, repo_name: str
) -> None:
    """Refused even where the content exists: the answer reveals nothing about it."""
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"auth-401/{repo_name}", layers=1)
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        push_image(c, repo_name, image, tag="v1")
        assert c.get(f"/v2/{repo_name}/manifests/v1").status_code == 200
    for method, path in [
        ("GET", f"/v2/{repo_name}/manifests/v1"),
        ("HEAD", f"/v2/{repo_name}/manifests/{image.digest}"),
        ("GET", f"/v2/{repo_name}/blobs/{image.layers[0].digest}"),
        ("GET", f"/v2/{repo_name}/tags/list"),
        ("DELETE", f"/v2/{repo_name}/manifests/{image.digest}"),
    ]:
        assert_unauthorized(auth_server, v2.request(method, path))
    # The refused DELETE did nothing.
    with httpx.Client(base_url=auth_server.url, headers=basic(root_password), timeout=30) as c:
        r = c.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200
        assert r.headers["Docker-Content-Digest"] == image.digest


# --- bad credentials -----------------------------------------------------------------------


def test_right_password_is_accepted(v2: httpx.Client, root_password: str) -> None:
    r = v2.get("/v2/", headers=basic(root_password))
    assert r.status_code == 200, r.text
    assert r.headers.get("Docker-Distribution-Api-Version") == "registry/2.0"
    assert "WWW-Authenticate" not in r.headers


def _tamper(text: str, index: int) -> str:
    swapped = "A" if text[index] != "A" else "B"
    return text[:index] + swapped + text[index + 1 :]


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "empty",
        "payload-altered",
        "signature-altered",
        "signature-dropped",
        "secret-key-as-password",
    ],
)
def test_wrong_password(
    auth_server: DockyardProcess, v2: httpx.Client, root_password: str, case: str
) -> None:
    payload, _, signature = root_password.partition(".")
    password = {
        "garbage": "not-a-registry-password",
        "empty": "",
        "payload-altered": _tamper(payload, 5) + "." + signature,
        "signature-altered": payload + "." + _tamper(signature, 3),
        "signature-dropped": payload,
        "secret-key-as-password": ROOT_KEY[1],
    }[case]
    assert password != root_password
    r = v2.get("/v2/", headers=basic(password))
    assert_unauthorized(auth_server, r, secret=password or None)


@pytest.mark.parametrize(
    "value",
    [
        "Basic !!!not-base64!!!",
        "Basic QVdTOnBhc3N3b3Jk=====",  # bad padding
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"AWS-no-colon").decode(),
        "Basic",
    ],
    ids=["not-base64", "bad-padding", "not-utf8", "no-colon", "no-value"],
)
def test_malformed_basic_credentials(
    auth_server: DockyardProcess, v2: httpx.Client, value: str
) -> None:
    assert_unauthorized(auth_server, v2.get("/v2/", headers={"Authorization": value}))


@pytest.mark.parametrize("user", ["aws", "root", "AKIADOCKYARDTESTROOT", "", "AWS "])
def test_user_other_than_aws(
    auth_server: DockyardProcess, v2: httpx.Client, root_password: str, user: str
) -> None:
    r = v2.get("/v2/", headers=basic(root_password, user=user))
    assert_unauthorized(auth_server, r, secret=root_password)


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "AWS4-HMAC-SHA256"])
def test_password_under_another_scheme(
    auth_server: DockyardProcess, v2: httpx.Client, root_password: str, scheme: str
) -> None:
    """The password is only good inside Basic (a bearer token is another kind of token)."""
    r = v2.get("/v2/", headers={"Authorization": f"{scheme} {root_password}"})
    assert_unauthorized(auth_server, r, secret=root_password)


def test_expired_token(auth_server: DockyardProcess, v2: httpx.Client) -> None:
    data_dir = auth_server.data_dir
    # Control: a token minted here with a future expiry is accepted, so the minting is right.
    fresh = mint_token(data_dir, ROOT_KEY[0], time.time() + 600)
    assert v2.get("/v2/", headers=basic(fresh)).status_code == 200
    for expired_at in (time.time() - 1, time.time() - 13 * 3600):
        expired = mint_token(data_dir, ROOT_KEY[0], expired_at)
        assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(expired)), secret=expired)


def test_download_token_is_not_a_password(auth_server: DockyardProcess, v2: httpx.Client) -> None:
    """Tokens signed for another purpose (download URLs) must not open /v2."""
    token = mint_token(auth_server.data_dir, ROOT_KEY[0], time.time() + 600, purpose="download")
    assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(token)), secret=token)


def test_token_for_unknown_key(auth_server: DockyardProcess, v2: httpx.Client) -> None:
    token = mint_token(auth_server.data_dir, "AKIANOSUCHKEY0000000", time.time() + 600)
    assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(token)), secret=token)


def test_token_from_another_server(
    auth_server: DockyardProcess,
    v2: httpx.Client,
    start_dockyard: StartDockyard,
    ledger: SecretLedger,
) -> None:
    """Same root key id and secret, but another server's signing key: refused."""
    other = start_dockyard()
    foreign = ledger.add_password(login_password(other.url))
    with httpx.Client(base_url=other.url, timeout=30) as c:
        assert c.get("/v2/", headers=basic(foreign)).status_code == 200
    assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(foreign)), secret=foreign)


# --- user keys: a token lives only as long as its key ---------------------------------------

REVOCATION_BOUND = 1.5  # seconds: the server caches keys for 1 s


def _user_session(auth_server: DockyardProcess, ledger: SecretLedger, user: str) -> tuple[str, str]:
    key = new_user_key(auth_server.data_dir, user, ledger)
    password = ledger.add_password(login_password(auth_server.url, key))
    return key[0], password


def test_user_key_token_works(
    auth_server: DockyardProcess, v2: httpx.Client, ledger: SecretLedger, repo_name: str
) -> None:
    key_id, password = _user_session(auth_server, ledger, "pusher")
    assert v2.get("/v2/", headers=basic(password)).status_code == 200
    ecr_client(auth_server.url).create_repository(repositoryName=repo_name)
    image = make_image(f"user-key/{repo_name}", layers=1)
    with httpx.Client(base_url=auth_server.url, headers=basic(password), timeout=30) as c:
        push_image(c, repo_name, image, tag="v1")
        r = c.get(f"/v2/{repo_name}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200
    assert r.headers["Docker-Content-Digest"] == image.digest
    assert key_id != ROOT_KEY[0]


def _assert_revoked_within_bound(
    auth_server: DockyardProcess, v2: httpx.Client, password: str, cli_args: list[str]
) -> None:
    # Use the token right before revoking so the server's key cache is warm.
    assert v2.get("/v2/", headers=basic(password)).status_code == 200
    dockyard_cli(auth_server.data_dir, "iam", *cli_args)
    took = wait_until(
        lambda: v2.get("/v2/", headers=basic(password)).status_code == 401,
        timeout=REVOCATION_BOUND,
    )
    assert took is not None, f"token still accepted {REVOCATION_BOUND}s after `iam {cli_args}`"
    # ... and it stays refused, with the usual 401 shape.
    for _ in range(3):
        assert_unauthorized(auth_server, v2.get("/v2/", headers=basic(password)), secret=password)
        time.sleep(0.2)


def test_token_of_deleted_key_is_refused(
    auth_server: DockyardProcess, v2: httpx.Client, ledger: SecretLedger
) -> None:
    key_id, password = _user_session(auth_server, ledger, "deleted-key-user")
    _assert_revoked_within_bound(auth_server, v2, password, ["delete-access-key", key_id])


def test_token_of_disabled_key_is_refused(
    auth_server: DockyardProcess, v2: httpx.Client, ledger: SecretLedger
) -> None:
    key_id, password = _user_session(auth_server, ledger, "disabled-key-user")
    _assert_revoked_within_bound(
        auth_server, v2, password, ["update-access-key", key_id, "--status", "Inactive"]
    )


def test_other_keys_unaffected_by_revocation(
    auth_server: DockyardProcess, v2: httpx.Client, ledger: SecretLedger, root_password: str
) -> None:
    """Deleting one user key leaves the user's other key and root's token working."""
    first_id, first = _user_session(auth_server, ledger, "two-keys-user")
    _, second = _user_session(auth_server, ledger, "two-keys-user")
    _assert_revoked_within_bound(auth_server, v2, first, ["delete-access-key", first_id])
    assert v2.get("/v2/", headers=basic(second)).status_code == 200
    assert v2.get("/v2/", headers=basic(root_password)).status_code == 200
