"""IAM and STS through the real ``aws`` CLI, with nothing but ``AWS_ENDPOINT_URL`` pointing it
at Dockyard: IAM commands, and a profile with ``role_arn`` + ``source_profile`` whose ECR
calls (and registry login) run as the assumed role."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ecr import ACCOUNT, REGION
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


class Aws:
    """``aws ...`` in a private home whose config and credentials files the test writes."""

    def __init__(self, home: Path, endpoint: str) -> None:
        self.home = home
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(HOME=str(home), AWS_ENDPOINT_URL=endpoint)

    def write(self, name: str, text: str) -> None:
        (self.home / ".aws" / name).write_text(text)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["aws", "--output", "json", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def __call__(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fails(self, code: str, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode in (254, 255), done  # v1 exits 255 on a service error, v2 254
        assert f"An error occurred ({code})" in done.stderr, done.stderr
        return done.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("iam-cli-data"),
        log_dir=tmp_path_factory.mktemp("iam-cli-log"),
        open_access=False,
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


@pytest.fixture(scope="module")
def aws(server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> Aws:
    cli = Aws(tmp_path_factory.mktemp("home"), server.url)
    cli.write(
        "credentials",
        "[default]\n"
        f"aws_access_key_id = {ROOT_ACCESS_KEY_ID}\n"
        f"aws_secret_access_key = {ROOT_SECRET_ACCESS_KEY}\n",
    )
    cli.write("config", f"[default]\nregion = {REGION}\n")
    return cli


@pytest.fixture
def name() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


def test_iam_commands(aws: Aws, name: str) -> None:
    user = aws("iam", "create-user", "--user-name", name)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert name in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
    }
    aws(
        "iam",
        "put-user-policy",
        "--user-name",
        name,
        "--policy-name",
        "ecr",
        "--policy-document",
        json.dumps(document),
    )
    got = aws("iam", "get-user-policy", "--user-name", name, "--policy-name", "ecr")
    assert got["PolicyDocument"] == document  # URL-encoded on the wire, decoded by the CLI
    key = aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    assert key["Status"] == "Active" and key["SecretAccessKey"]
    aws(
        "iam",
        "update-access-key",
        "--user-name",
        name,
        "--access-key-id",
        key["AccessKeyId"],
        "--status",
        "Inactive",
    )
    keys = aws("iam", "list-access-keys", "--user-name", name)["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Inactive"]
    aws.fails("EntityAlreadyExists", "iam", "create-user", "--user-name", name)
    aws.fails("DeleteConflict", "iam", "delete-user", "--user-name", name)
    aws.fails("NoSuchEntity", "iam", "get-user", "--user-name", f"{name}-nobody")


def test_sts_get_caller_identity(aws: Aws) -> None:
    assert aws("sts", "get-caller-identity") == {
        "UserId": ACCOUNT,
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:root",
    }


def test_a_role_profile_calls_ecr_as_the_assumed_role(
    aws: Aws, server: DockyardProcess, name: str
) -> None:
    role = aws(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        json.dumps(TRUST),
    )["Role"]
    aws("iam", "attach-role-policy", "--role-name", name, "--policy-arn", READ_ONLY)
    aws.write(
        "config",
        f"[default]\nregion = {REGION}\n\n"
        f"[profile {name}]\nrole_arn = {role['Arn']}\nsource_profile = default\n"
        f"role_session_name = ci\nregion = {REGION}\n",
    )
    identity = aws("--profile", name, "sts", "get-caller-identity")
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/ci"
    assert identity["UserId"] == f"{role['RoleId']}:ci"
    assert "repositories" in aws("--profile", name, "ecr", "describe-repositories")
    # The session's registry password logs in to /v2 like any other.
    done = aws.run("--profile", name, "ecr", "get-login-password")
    assert done.returncode == 0, done.stderr
    password = done.stdout.strip()
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    r = httpx.get(server.url + "/v2/", headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 200, r.text


def test_a_profile_for_a_role_that_does_not_trust_the_caller_fails(aws: Aws, name: str) -> None:
    other = {
        **TRUST,
        "Statement": [
            {
                **TRUST["Statement"][0],  # type: ignore[dict-item]
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            }
        ],
    }
    role = aws(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        json.dumps(other),
    )["Role"]
    aws.write(
        "config",
        f"[default]\nregion = {REGION}\n\n"
        f"[profile {name}]\nrole_arn = {role['Arn']}\nsource_profile = default\n"
        f"region = {REGION}\n",
    )
    aws.fails("AccessDenied", "--profile", name, "ecr", "describe-repositories")


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section() -> str:
    text = README.read_text()
    start = text.index("## Accounts, IAM and STS")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_the_readme_role_profile_works_as_written(aws: Aws, server: DockyardProcess) -> None:
    section = readme_section()
    commands = re.search(r"```sh\n(.*?)```", section, re.S)
    profile = re.search(r"<!-- role-profile\b.*?-->\s*```ini\n(.*?)```", section, re.S)
    assert commands and profile, "the README's IAM section lost its commands or its profile"
    script = commands.group(1).replace("http://127.0.0.1:5000", server.url)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=aws.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    aws.write("config", f"[default]\nregion = {REGION}\n\n{profile.group(1)}")
    identity = aws("--profile", "deploy", "sts", "get-caller-identity")
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/")
    assert "repositories" in aws("--profile", "deploy", "ecr", "describe-repositories")
