"""IAM and STS are global in AWS: an SDK signs them for us-east-1 whatever region it is in
(and with none configured), so a deployment restricted to other regions accepts that scope
for them, and only for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess

REGISTRY_REGION = "eu-west-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("iam-region-data"),
        log_dir=tmp_path_factory.mktemp("iam-region-log"),
        open_access=False,
        extra_args=["--region", REGISTRY_REGION, "--regions", REGISTRY_REGION],
    )
    proc.start_ready()
    yield proc
    proc.stop_cleanly()


def client(server: DockyardProcess, service: str, region: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=ROOT_ACCESS_KEY_ID,
        aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
        region_name=region,
    ).client(
        service,
        endpoint_url=server.url,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.mark.parametrize("service", ["iam", "sts"])
@pytest.mark.parametrize("region", [REGISTRY_REGION, "us-east-1"])
def test_global_services_take_the_registry_region_or_us_east_1(
    server: DockyardProcess, service: str, region: str
) -> None:
    found = client(server, service, region)
    if service == "iam":
        assert "Users" in found.list_users()
    else:
        assert found.get_caller_identity()["Account"] == "000000000000"


def test_other_regions_are_refused(server: DockyardProcess) -> None:
    with pytest.raises(ClientError) as caught:
        client(server, "iam", "ap-south-1").list_users()
    assert "ap-south-1" in str(caught.value)
    # ECR is regional: us-east-1 is no wildcard for it.
    with pytest.raises(ClientError) as caught:
        client(server, "ecr", "us-east-1").describe_repositories()
    assert "us-east-1" in str(caught.value)
    assert client(server, "ecr", REGISTRY_REGION).describe_repositories()["repositories"] == []
