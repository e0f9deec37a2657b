"""Helpers for access-control tests: IAM users with policies, policy documents, pulls and
pushes with skopeo as a given principal."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.client import BaseClient
from botocore.config import Config

from tests.support.images import Image, write_oci_layout
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess
from tests.support.tools import Completed, skopeo

REGION = "us-east-1"
ROOT_KEY = (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
MANAGED = "arn:aws:iam::aws:policy/"
READ_ONLY = MANAGED + "AmazonEC2ContainerRegistryReadOnly"

# AWS's documented push-and-pull permissions of a CI pipeline (ECR user guide).
PUSH_ACTIONS = [
    "ecr:CompleteLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:InitiateLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
]


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _session(key: tuple[str, str], session_token: str | None) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=session_token,
        region_name=REGION,
    )


_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60)


def iam_client(
    url: str, key: tuple[str, str] = ROOT_KEY, session_token: str | None = None
) -> BaseClient:
    return _session(key, session_token).client("iam", endpoint_url=url, config=_CONFIG)


def ecr_as(
    url: str, key: tuple[str, str], session_token: str | None = None, validate: bool = True
) -> BaseClient:
    config = _CONFIG.merge(Config(parameter_validation=validate))
    return _session(key, session_token).client("ecr", endpoint_url=url, config=config)


def make_user(
    iam: Any, name: str, *, inline: str | None = None, managed: tuple[str, ...] = ()
) -> tuple[str, str]:
    """An IAM user with an inline policy and attached managed policies; its access key."""
    iam.create_user(UserName=name)
    if inline is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=inline)
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    made = iam.create_access_key(UserName=name)["AccessKey"]
    return str(made["AccessKeyId"]), str(made["SecretAccessKey"])


def password_of(ecr: Any) -> str:
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return password


def v2_client(server: DockyardProcess, password: str) -> httpx.Client:
    """An httpx client on ``/v2`` logged in with a registry password."""
    return httpx.Client(base_url=server.url, auth=("AWS", password), timeout=60)


def skopeo_push(
    host: str, password: str, image: Image, repository: str, tag: str, scratch: Path
) -> Completed:
    layout = write_oci_layout(scratch / f"layout-{image.digest[7:19]}", {"src": image})
    return skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"AWS:{password}",
        f"oci:{layout}:src",
        f"docker://{host}/{repository}:{tag}",
        check=False,
    )


def skopeo_pull(host: str, password: str, repository: str, tag: str, scratch: Path) -> Completed:
    target = scratch / f"pulled-{repository.replace('/', '_')}-{tag}"
    return skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        f"AWS:{password}",
        f"docker://{host}/{repository}:{tag}",
        f"oci:{target}:{tag}",
        check=False,
    )


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc)
