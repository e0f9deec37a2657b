"""Accounts, roles and sessions against a real server, set up with the ``dockyard`` CLI:
a second account's root key works with boto3; AssumeRole credentials (boto3 with
``aws_session_token``) call ECR and log in to ``/v2`` with ``get-login-password``; both stop
when the session ends or its role is deleted.

Sessions last at least 900 s (STS's minimum); to see one end, the test moves its expiry into
the past in the metadata database, which is what the server reads on each use.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.auth import (
    ACCOUNT_ID,
    basic,
    dockyard_cli,
    ecr_client,
    ecr_error,
)
from tests.support.servers import DockyardProcess
from tests.support.tools import run

OTHER = "111122223333"
CACHE_SECONDS = 1.2  # the server caches keys and sessions for 1 s
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
_LINE = re.compile(r"^(AWS_[A-Z_]+)=(\S+)$", re.MULTILINE)
ECR_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("iam-data"),
        open_access=False,
        log_dir=tmp_path_factory.mktemp("iam-log"),
    )
    with proc.serving():
        yield proc


def cli(server: DockyardProcess, *args: str) -> str:
    return dockyard_cli(server.data_dir, *args)


def cli_fails(server: DockyardProcess, *args: str) -> str:
    done = run(["python", "-m", "dockyard", *args, "--data-dir", str(server.data_dir)], check=False)
    assert done.returncode == 1, done.stdout
    return done.stderr


@pytest.fixture(scope="module")
def other_account(server: DockyardProcess) -> tuple[str, str]:
    """Account OTHER, made with the CLI; its root key."""
    values = dict(_LINE.findall(cli(server, "accounts", "create", "--id", OTHER)))
    assert values["AWS_ACCOUNT_ID"] == OTHER
    return values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]


def _session(server: DockyardProcess, role: str, name: str) -> dict[str, str]:
    """Credentials for OTHER's `role`, assumed by the default account's root."""
    printed = cli(
        server,
        "iam",
        "assume-role",
        f"arn:aws:iam::{OTHER}:role/{role}",
        "--session-name",
        name,
        "--duration-seconds",
        "900",
    )
    return dict(_LINE.findall(printed))


@pytest.fixture(scope="module")
def role(server: DockyardProcess, other_account: tuple[str, str]) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = cli(
        server,
        "iam",
        "create-role",
        "deployer",
        "--trust-policy",
        json.dumps(trust),
        "--account",
        OTHER,
    ).strip()
    cli(server, "iam", "put-policy", "ecr", "--role", "deployer", "--document", ECR_ALL,
        "--account", OTHER)  # fmt: skip
    return arn


def _expire(server: DockyardProcess, access_key_id: str) -> None:
    """Move a session's end into the past, as if 15 minutes had gone by."""
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(server.data_dir / "metadata.db") as db:
        changed = db.execute(
            "UPDATE sts_sessions SET expires_at = ? WHERE access_key_id = ?",
            (past, access_key_id),
        ).rowcount
    assert changed == 1
    time.sleep(CACHE_SECONDS)


def _password(server: DockyardProcess, credentials: dict[str, str]) -> tuple[str, datetime]:
    client = ecr_client(
        server.url,
        (credentials["AWS_ACCESS_KEY_ID"], credentials["AWS_SECRET_ACCESS_KEY"]),
        session_token=credentials["AWS_SESSION_TOKEN"],
    )
    data = client.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return password, data["expiresAt"]


def test_accounts_are_listed_and_a_new_roots_key_works(
    server: DockyardProcess, other_account: tuple[str, str]
) -> None:
    listed = cli(server, "accounts", "list")
    assert ACCOUNT_ID in listed and OTHER in listed
    assert "exists" in cli_fails(server, "accounts", "create", "--id", OTHER)
    client = ecr_client(server.url, other_account)
    made = client.create_repository(repositoryName="other/app")["repository"]
    assert made["registryId"] == OTHER
    assert made["repositoryArn"] == f"arn:aws:ecr:us-east-1:{OTHER}:repository/other/app"
    # The default account does not see another account's repositories.
    default = ecr_client(server.url)
    names = [r["repositoryName"] for r in default.describe_repositories()["repositories"]]
    assert "other/app" not in names


def test_session_credentials_call_ecr(server: DockyardProcess, role: str) -> None:
    credentials = _session(server, "deployer", "boto3-call")
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", credentials["AWS_ACCESS_KEY_ID"])
    key = (credentials["AWS_ACCESS_KEY_ID"], credentials["AWS_SECRET_ACCESS_KEY"])
    client = ecr_client(server.url, key, session_token=credentials["AWS_SESSION_TOKEN"])
    made = client.create_repository(repositoryName="session/app")["repository"]
    assert made["registryId"] == OTHER  # the role's account
    listed = client.describe_repositories(repositoryNames=["session/app"])["repositories"]
    assert [r["repositoryName"] for r in listed] == ["session/app"]
    # The key without its token, or with another, is no credential.
    for token in (None, credentials["AWS_SESSION_TOKEN"][:-4] + "AAAA"):
        with pytest.raises(ClientError) as caught:
            ecr_client(server.url, key, session_token=token).describe_repositories()
        assert ecr_error(caught.value)[0] == "UnrecognizedClientException"

    _expire(server, credentials["AWS_ACCESS_KEY_ID"])
    with pytest.raises(ClientError) as caught:
        client.describe_repositories()
    code, message = ecr_error(caught.value)
    assert code == "ExpiredTokenException"
    assert message == "The security token included in the request is expired"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_get_login_password_with_a_session(server: DockyardProcess, role: str) -> None:
    credentials = _session(server, "deployer", "docker-login")
    password, expires_at = _password(server, credentials)
    # The password ends with the session (900 s here), not 12 hours later.
    assert expires_at <= datetime.now(UTC) + timedelta(seconds=901)
    with httpx.Client(base_url=server.url, timeout=30) as v2:
        assert v2.get("/v2/", headers=basic(password)).status_code == 200
        _expire(server, credentials["AWS_ACCESS_KEY_ID"])
        refused = v2.get("/v2/", headers=basic(password))
        assert refused.status_code == 401
        assert "expired" in refused.json()["errors"][0]["message"]


def test_deleting_the_role_ends_its_sessions(
    server: DockyardProcess, other_account: tuple[str, str]
) -> None:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": ACCOUNT_ID},
                "Action": "sts:AssumeRole",
            },
        }
    )
    cli(server, "iam", "create-role", "short-lived", "--trust-policy", trust, "--account", OTHER)
    cli(server, "iam", "attach-policy", READ_ONLY, "--role", "short-lived", "--account", OTHER)
    credentials = _session(server, "short-lived", "until-deleted")
    password, _ = _password(server, credentials)
    with httpx.Client(base_url=server.url, timeout=30) as v2:
        assert v2.get("/v2/", headers=basic(password)).status_code == 200
        cli(server, "iam", "detach-policy", READ_ONLY, "--role", "short-lived", "--account", OTHER)
        cli(server, "iam", "delete-role", "short-lived", "--account", OTHER)
        time.sleep(CACHE_SECONDS)
        assert v2.get("/v2/", headers=basic(password)).status_code == 401


def test_a_role_that_does_not_trust_the_caller(
    server: DockyardProcess, other_account: tuple[str, str]
) -> None:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": "444455556666"},
                "Action": "sts:AssumeRole",
            },
        }
    )
    cli(server, "iam", "create-role", "not-yours", "--trust-policy", trust, "--account", OTHER)
    error = cli_fails(
        server,
        "iam",
        "assume-role",
        f"arn:aws:iam::{OTHER}:role/not-yours",
        "--session-name",
        "nope",
    )
    assert f"User: arn:aws:iam::{ACCOUNT_ID}:root is not authorized to perform" in error


def test_iam_commands_cover_groups_and_policies(server: DockyardProcess) -> None:
    assert cli(server, "iam", "create-user", "ci", "--path", "/build/").strip() == (
        f"arn:aws:iam::{ACCOUNT_ID}:user/build/ci"
    )
    assert cli(server, "iam", "create-group", "pushers").strip().endswith(":group/pushers")
    cli(server, "iam", "add-user-to-group", "--group", "pushers", "--user", "ci")
    cli(server, "iam", "put-policy", "push", "--group", "pushers", "--document", ECR_ALL)
    arn = cli(server, "iam", "create-policy", "pull-only", "--document", ECR_ALL).strip()
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:policy/pull-only"
    cli(server, "iam", "attach-policy", arn, "--user", "ci")
    cli(
        server,
        "iam",
        "attach-policy",
        READ_ONLY,
        "--group",
        "pushers",
    )
    printed = cli(server, "iam", "policies-of", "--user", "ci")
    assert "# group/pushers/push" in printed
    assert f"# {arn}" in printed
    assert "# arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" in printed
    assert cli(server, "iam", "get-policy", "push", "--group", "pushers").strip() == ECR_ALL
    assert "Cannot delete a policy attached" in cli_fails(server, "iam", "delete-policy", arn)
    assert "must remove users from group" in cli_fails(server, "iam", "delete-group", "pushers")
    assert "must detach all policies" in cli_fails(server, "iam", "delete-user", "ci")
    cli(server, "iam", "delete-user", "ci", "--force")
    assert "cannot be found" in cli_fails(server, "iam", "get-user", "ci")
    malformed = cli_fails(server, "iam", "put-policy", "x", "--group", "pushers", "--document", "{")
    assert "Syntax errors in policy" in malformed


def test_a_policy_document_from_a_file(server: DockyardProcess, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(ECR_ALL)
    cli(server, "iam", "create-group", "from-file")
    cli(server, "iam", "put-policy", "p", "--group", "from-file", "--document", f"file://{path}")
    assert cli(server, "iam", "get-policy", "p", "--group", "from-file").strip() == ECR_ALL
