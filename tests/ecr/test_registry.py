"""GetAuthorizationToken and /v2 login, credentials, DescribeRegistry, account settings,
and resource tags (TagResource, UntagResource, ListTagsForResource)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.auth import grant_policy
from tests.support.ecr import ACCOUNT, expect_error, login_password, make_client, upload_layer
from tests.support.servers import ROOT_ACCESS_KEY_ID, DockyardProcess

# --------------------------------------------------------------------------- login


def test_get_authorization_token(ecr: Any, endpoint: str) -> None:
    before = time.time()
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    entry = data[0]
    user, _, password = base64.b64decode(entry["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    assert password
    assert entry["proxyEndpoint"] == endpoint
    expires = entry["expiresAt"].timestamp()
    assert before + 12 * 3600 - 60 <= expires <= time.time() + 12 * 3600 + 60


def test_get_authorization_token_for_registry_ids(ecr: Any) -> None:
    data = ecr.get_authorization_token(registryIds=[ACCOUNT])["authorizationData"]
    assert len(data) == 1
    data = ecr.get_authorization_token(registryIds=[ACCOUNT, ACCOUNT])["authorizationData"]
    assert len(data) == 2  # one entry per registry id asked for
    expect_error("AccessDeniedException", ecr.get_authorization_token, registryIds=["123456789012"])


def test_v2_requires_the_login_password(ecr: Any, endpoint: str) -> None:
    r = httpx.get(f"{endpoint}/v2/")
    assert r.status_code == 401
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"
    assert r.headers["www-authenticate"] == (
        f'Basic realm="{endpoint}",service="ecr.amazonaws.com"'
    )
    for auth in (("AWS", "not-a-token"), ("AWS", login_password(ecr) + "x")):
        assert httpx.get(f"{endpoint}/v2/", auth=auth).status_code == 401
    r = httpx.get(f"{endpoint}/v2/", auth=("AWS", login_password(ecr)))
    assert r.status_code == 200


def test_v2_push_to_missing_repository(ecr: Any, endpoint: str, repo_name: str) -> None:
    with httpx.Client(base_url=endpoint, auth=("AWS", login_password(ecr))) as v2:
        r = v2.post(f"/v2/{repo_name}/blobs/uploads/")
    assert r.status_code == 404
    error = r.json()["errors"][0]
    assert error["code"] == "NAME_UNKNOWN"
    assert error["message"] == (
        f"The repository with name '{repo_name}' does not exist in the registry with id '{ACCOUNT}'"
    )


def _iam(server: DockyardProcess, *args: str) -> str:
    database = {"DOCKYARD_DATABASE_URL": server.database_url} if server.database_url else {}
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "iam", *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **database},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_user_keys(ecr_server: DockyardProcess, endpoint: str, repo: str) -> None:
    user = f"u{int(time.time() * 1000)}"
    _iam(ecr_server, "create-user", user)
    grant_policy(ecr_server.data_dir, user)  # a user with no policy may do nothing
    printed = _iam(ecr_server, "create-access-key", "--user", user)
    key_id = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", printed)
    secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", printed)
    assert key_id and secret, printed
    client = make_client(endpoint, access_key_id=key_id.group(1), secret_access_key=secret.group(1))
    assert repo in {r["repositoryName"] for r in client.describe_repositories()["repositories"]}
    password = login_password(client)
    assert httpx.get(f"{endpoint}/v2/", auth=("AWS", password)).status_code == 200

    _iam(ecr_server, "update-access-key", key_id.group(1), "--status", "Inactive")
    time.sleep(1.3)  # the server caches keys for a second
    expect_error("UnrecognizedClientException", client.describe_repositories)
    # The login token dies with the key that asked for it.
    assert httpx.get(f"{endpoint}/v2/", auth=("AWS", password)).status_code == 401

    _iam(ecr_server, "update-access-key", key_id.group(1), "--status", "Active")
    time.sleep(1.3)
    client.describe_repositories(maxResults=1)
    assert httpx.get(f"{endpoint}/v2/", auth=("AWS", password)).status_code == 200

    _iam(ecr_server, "delete-access-key", key_id.group(1))
    time.sleep(1.3)
    expect_error("UnrecognizedClientException", client.describe_repositories)


def test_bad_credentials(endpoint: str) -> None:
    unknown = make_client(
        endpoint, access_key_id="AKIAUNKNOWNUNKNOWN00", secret_access_key="whatever"
    )
    err = expect_error("UnrecognizedClientException", unknown.describe_registry)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    wrong = make_client(endpoint, access_key_id=ROOT_ACCESS_KEY_ID, secret_access_key="wrong")
    err = expect_error("InvalidSignatureException", wrong.describe_registry)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# --------------------------------------------------------------------------- registry


def test_describe_registry(ecr: Any) -> None:
    result = ecr.describe_registry()
    assert result["registryId"] == ACCOUNT
    assert result["replicationConfiguration"] == {"rules": []}


# --------------------------------------------------------------------------- account settings


@pytest.fixture
def blob_mounting(ecr: Any) -> Iterator[str]:
    """The BLOB_MOUNTING setting as it was; restored afterwards."""
    before: str = ecr.get_account_setting(name="BLOB_MOUNTING")["value"]
    yield before
    ecr.put_account_setting(name="BLOB_MOUNTING", value=before)


def test_account_setting_round_trip(ecr: Any, blob_mounting: str) -> None:
    assert blob_mounting in ("ENABLED", "DISABLED")
    for value in ("DISABLED", "ENABLED", "DISABLED"):
        put = ecr.put_account_setting(name="BLOB_MOUNTING", value=value)
        assert put == {"name": "BLOB_MOUNTING", "value": value, **_meta(put)}
        got = ecr.get_account_setting(name="BLOB_MOUNTING")
        assert (got["name"], got["value"]) == ("BLOB_MOUNTING", value)


def _meta(result: dict[str, Any]) -> dict[str, Any]:
    return {"ResponseMetadata": result["ResponseMetadata"]}


def test_account_setting_errors(ecr: Any, blob_mounting: str) -> None:
    expect_error("InvalidParameterException", ecr.get_account_setting, name="NO_SUCH_SETTING")
    expect_error(
        "InvalidParameterException",
        ecr.put_account_setting,
        name="NO_SUCH_SETTING",
        value="ENABLED",
    )
    expect_error(
        "InvalidParameterException", ecr.put_account_setting, name="BLOB_MOUNTING", value="MAYBE"
    )
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == blob_mounting


def test_blob_mounting_setting_governs_v2_mounts(
    ecr: Any, blob_mounting: str, repo: str, v2: httpx.Client
) -> None:
    target = f"{repo}-target"
    ecr.create_repository(repositoryName=target)
    digest = upload_layer(ecr, repo, b"a layer to mount " + repo.encode())
    url = f"/v2/{target}/blobs/uploads/"
    params = {"mount": digest, "from": repo}

    ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
    r = v2.post(url, params=params)
    assert r.status_code == 202, r.text  # an ordinary upload session instead
    assert v2.head(f"/v2/{target}/blobs/{digest}").status_code == 404

    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    r = v2.post(url, params=params)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    assert v2.head(f"/v2/{target}/blobs/{digest}").status_code == 200


# --------------------------------------------------------------------------- resource tags


def _arn(name: str) -> str:
    return f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}"


def _tags(ecr: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_resource_tags_round_trip(ecr: Any, repo: str) -> None:
    arn = _arn(repo)
    assert _tags(ecr, arn) == {}
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}])
    assert _tags(ecr, arn) == {"a": "1", "b": ""}
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "2"}, {"Key": "c", "Value": "3"}])
    assert _tags(ecr, arn) == {"a": "2", "b": "", "c": "3"}
    ecr.untag_resource(resourceArn=arn, tagKeys=["b", "not-there"])
    assert _tags(ecr, arn) == {"a": "2", "c": "3"}
    ecr.untag_resource(resourceArn=arn, tagKeys=["a", "c"])
    assert _tags(ecr, arn) == {}


def test_resource_tags_limits(ecr: Any, repo: str) -> None:
    arn = _arn(repo)
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    expect_error(
        "TooManyTagsException",
        ecr.tag_resource,
        resourceArn=arn,
        tags=[{"Key": "one-more", "Value": "v"}],
    )
    assert len(_tags(ecr, arn)) == 50
    ecr.untag_resource(resourceArn=arn, tagKeys=[f"k{i}" for i in range(50)])
    # ECR: "Tag keys can have a maximum character length of 128 characters, and tag values
    # can have a maximum length of 256 characters" (InvalidTagParameterException).
    for tag in ({"Key": "k" * 129, "Value": "v"}, {"Key": "k", "Value": "v" * 257}):
        expect_error("InvalidTagParameterException", ecr.tag_resource, resourceArn=arn, tags=[tag])
        expect_error(
            "InvalidTagParameterException",
            ecr.create_repository,
            repositoryName=f"{repo}-tagged",
            tags=[tag],
        )
    assert _tags(ecr, arn) == {}
    # Exactly at the limits is fine.
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "k" * 128, "Value": "v" * 256}])


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/Not_Valid",
        f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/some-repo",  # another region
    ],
)
def test_resource_tags_bad_arn(ecr: Any, arn: str) -> None:
    expect_error("InvalidParameterException", ecr.list_tags_for_resource, resourceArn=arn)
    expect_error(
        "InvalidParameterException",
        ecr.tag_resource,
        resourceArn=arn,
        tags=[{"Key": "a", "Value": "b"}],
    )
    expect_error("InvalidParameterException", ecr.untag_resource, resourceArn=arn, tagKeys=["a"])


def test_resource_tags_missing_repository(ecr: Any, repo_name: str) -> None:
    arn = _arn(repo_name)
    expect_error("RepositoryNotFoundException", ecr.list_tags_for_resource, resourceArn=arn)
    expect_error(
        "RepositoryNotFoundException",
        ecr.tag_resource,
        resourceArn=arn,
        tags=[{"Key": "a", "Value": "b"}],
    )
    expect_error("RepositoryNotFoundException", ecr.untag_resource, resourceArn=arn, tagKeys=["a"])


def test_resource_tags_of_another_account(ecr: Any, repo: str) -> None:
    arn = f"arn:aws:ecr:us-east-1:123456789012:repository/{repo}"
    expect_error("AccessDeniedException", ecr.list_tags_for_resource, resourceArn=arn)
