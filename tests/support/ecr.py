"""Helpers for the ECR tests: error codes, the aws CLI, pushing images two ways."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.images import Image, ImageIndex, push_image, sha256_digest
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

MiB = 1 << 20
ACCOUNT = "000000000000"
REGION = "us-east-1"


def error_code(exc: pytest.ExceptionInfo[ClientError] | ClientError) -> str:
    err = exc.value if isinstance(exc, pytest.ExceptionInfo) else exc
    return str(err.response["Error"]["Code"])


def expect_error(code: str, call: Callable[..., Any], /, **params: Any) -> ClientError:
    """Call ``call(**params)``, assert it fails with ECR error ``code``, return the error."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    got = error_code(caught)
    assert got == code, f"expected {code}, got {got}: {caught.value.response['Error']}"
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-requestid"), headers
    return caught.value


def make_client(
    endpoint: str, *, validate: bool = True, verify: str | None = None, **keys: str
) -> Any:
    """A boto3 ECR client on ``endpoint`` (root keys unless ``keys`` says otherwise;
    ``verify``: the CA file an HTTPS endpoint's certificate is checked against)."""
    session = boto3.session.Session(
        aws_access_key_id=keys.get("access_key_id", ROOT_ACCESS_KEY_ID),
        aws_secret_access_key=keys.get("secret_access_key", ROOT_SECRET_ACCESS_KEY),
        region_name=REGION,
    )
    # No retries: an error must show up as the error, not as a slow pass.
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        read_timeout=60,
        parameter_validation=validate,
    )
    return session.client("ecr", endpoint_url=endpoint, config=config, verify=verify)


# --------------------------------------------------------------------------- the aws CLI


class AwsCliError(AssertionError):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr
        found = re.search(r"An error occurred \(([A-Za-z]+)\)", stderr)
        self.code = found.group(1) if found else None
        super().__init__(f"aws {' '.join(args)} exited {returncode}: {stderr.strip()}")


class AwsCli:
    """``aws --endpoint-url URL ecr ... --output json`` with the root keys in the env
    (``service``: another service's commands, e.g. ``secretsmanager``)."""

    def __init__(self, endpoint: str, env: dict[str, str], service: str = "ecr") -> None:
        self.endpoint = endpoint
        self.env = env
        self.service = service

    def raw(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            "aws", "--endpoint-url", self.endpoint, "--output", "json", self.service, *args
        ]  # fmt: skip
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def __call__(self, *args: str) -> Any:
        done = self.raw(*args)
        if done.returncode != 0:
            raise AwsCliError(list(args), done.returncode, done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else None

    def error(self, code: str, *args: str) -> AwsCliError:
        """Run ``args``, assert it fails with ECR error ``code``."""
        with pytest.raises(AwsCliError) as caught:
            self(*args)
        assert caught.value.code == code, str(caught.value)
        # aws-cli v1 exits 255 on a service error (v2 uses 254).
        assert caught.value.returncode in (254, 255), str(caught.value)
        return caught.value


# --------------------------------------------------------------------------- /v2 login


def login_password(ecr: Any) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password


def login_client(ecr: Any, endpoint: str) -> httpx.Client:
    """An httpx client on the registry, authenticated as ``docker login`` would be."""
    return httpx.Client(base_url=endpoint, auth=("AWS", login_password(ecr)), timeout=60)


def push_v2(client: httpx.Client, repo: str, image: Image | ImageIndex, tag: str | None) -> str:
    return push_image(client, repo, image, tag)


# --------------------------------------------------------------------------- the layer API


def upload_layer(ecr: Any, repo: str, data: bytes, part_size: int | None = None) -> str:
    """InitiateLayerUpload, UploadLayerPart (in parts of ``part_size``), CompleteLayerUpload."""
    digest = sha256_digest(data)
    started = ecr.initiate_layer_upload(repositoryName=repo)
    upload_id = started["uploadId"]
    size = part_size or max(len(data), 1)
    first = 0
    while first < len(data):
        part = data[first : first + size]
        last = first + len(part) - 1
        done = ecr.upload_layer_part(
            repositoryName=repo,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=last,
            layerPartBlob=part,
        )
        assert done["lastByteReceived"] == last
        assert done["uploadId"] == upload_id
        first = last + 1
    completed = ecr.complete_layer_upload(
        repositoryName=repo, uploadId=upload_id, layerDigests=[digest]
    )
    assert completed["layerDigest"] == digest
    assert completed["repositoryName"] == repo
    assert completed["registryId"] == ACCOUNT
    return digest


def push_layer_api(
    ecr: Any, repo: str, image: Image, tag: str | None = None, media_type: str | None = None
) -> dict[str, Any]:
    """Push ``image``'s blobs through the layer API and its manifest with PutImage."""
    for blob in image.blobs:
        available = ecr.batch_check_layer_availability(
            repositoryName=repo, layerDigests=[blob.digest]
        )
        if not available["layers"]:
            upload_layer(ecr, repo, blob.data)
    params: dict[str, Any] = {
        "repositoryName": repo,
        "imageManifest": image.manifest.data.decode(),
        "imageManifestMediaType": media_type or image.manifest.media_type,
    }
    if tag is not None:
        params["imageTag"] = tag
    result: dict[str, Any] = ecr.put_image(**params)["image"]
    return result


def regional_client(endpoint: str, region: str, service: str = "ecr", **keys: str) -> Any:
    """A boto3 client of ``service`` on ``endpoint`` that signs for ``region``."""
    session = boto3.session.Session(
        aws_access_key_id=keys.get("access_key_id", ROOT_ACCESS_KEY_ID),
        aws_secret_access_key=keys.get("secret_access_key", ROOT_SECRET_ACCESS_KEY),
        region_name=region,
    )
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
    return session.client(service, endpoint_url=endpoint, config=config)


# --------------------------------------------------------------------------- Dockyard's own


def extensions_data_path() -> str:
    """A directory holding ECR's model with Dockyard's own operations (``AWS_DATA_PATH``
    for the aws CLI, ``data_path`` for boto3): written once per process."""
    global _DATA_PATH
    if _DATA_PATH is None:
        import tempfile
        from pathlib import Path

        from dockyard.api.ecr.extensions import write_model
        from dockyard.api.ecr.shapes import botocore_raw_model

        folder = Path(tempfile.mkdtemp(prefix="dockyard-models-"))
        write_model(botocore_raw_model(), folder)
        _DATA_PATH = str(folder)
    return _DATA_PATH


_DATA_PATH: str | None = None


def extended_client(
    endpoint: str, region: str = REGION, *, validate: bool = True, **keys: str
) -> Any:
    """A boto3 ECR client that also knows Dockyard's own operations (the backfills)."""
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("data_path", extensions_data_path())
    session = boto3.session.Session(
        aws_access_key_id=keys.get("access_key_id", ROOT_ACCESS_KEY_ID),
        aws_secret_access_key=keys.get("secret_access_key", ROOT_SECRET_ACCESS_KEY),
        region_name=region,
        botocore_session=core,
    )
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        read_timeout=60,
        parameter_validation=validate,
    )
    return session.client("ecr", endpoint_url=endpoint, config=config)
