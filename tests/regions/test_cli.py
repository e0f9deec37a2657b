"""Operator commands see every region, or the one --region names, without any variable."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.ecr import ACCOUNT, push_layer_api, regional_client
from tests.support.images import make_image
from tests.support.lifecycle import dockyard, table_rows
from tests.support.servers import DockyardProcess

FRANKFURT, VIRGINIA = "eu-central-1", "us-east-1"


def _expire_untagged() -> str:
    rule = {
        "rulePriority": 1,
        "description": "keep one untagged image",
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


def _two_regions(server: DockyardProcess) -> tuple[str, dict[str, Any]]:
    """One repository name in both regions, each with two untagged images and a policy
    that keeps one."""
    name = f"cli/{uuid.uuid4().hex[:10]}"
    clients = {region: regional_client(server.url, region) for region in (FRANKFURT, VIRGINIA)}
    for region, ecr in clients.items():
        ecr.create_repository(repositoryName=name)
        for n in range(2):
            push_layer_api(ecr, name, make_image(f"{name}-{region}-{n}", layers=1))
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=_expire_untagged())
    return name, clients


def test_usage_covers_every_region_or_one(plain_server: DockyardProcess) -> None:
    name, _ = _two_regions(plain_server)
    data_dir = plain_server.data_dir
    rows = [r for r in table_rows(dockyard(data_dir, "usage").stdout) if r[0] == name]
    assert sorted((r[2], r[3]) for r in rows) == [(ACCOUNT, FRANKFURT), (ACCOUNT, VIRGINIA)]
    assert all(int(r[1].replace(",", "")) > 0 for r in rows)
    only = table_rows(dockyard(data_dir, "usage", "--region", FRANKFURT).stdout)
    assert {r[3] for r in only} == {FRANKFURT}
    assert name in {r[0] for r in only}
    other = table_rows(dockyard(data_dir, "usage", "--account-id", "111122223333").stdout)
    assert other == []


def test_lifecycle_runs_in_the_region_named(plain_server: DockyardProcess) -> None:
    name, clients = _two_regions(plain_server)
    data_dir = plain_server.data_dir
    done = dockyard(
        data_dir, "lifecycle", "run", "--repository", name, "--region", FRANKFURT
    ).stdout
    (row,) = [r for r in table_rows(done) if name in r[0]]
    assert row[0] == f"{ACCOUNT}/{FRANKFURT}/{name}" and row[1] == "expire"
    assert len(clients[FRANKFURT].describe_images(repositoryName=name)["imageDetails"]) == 1
    assert len(clients[VIRGINIA].describe_images(repositoryName=name)["imageDetails"]) == 2

    actions = table_rows(dockyard(data_dir, "lifecycle", "actions", "--region", FRANKFURT).stdout)
    assert f"{ACCOUNT}/{FRANKFURT}/{name}" in {r[1] for r in actions}
    assert all(f"/{FRANKFURT}/" in r[1] for r in actions)
    assert not [
        r
        for r in table_rows(dockyard(data_dir, "lifecycle", "actions", "--region", VIRGINIA).stdout)
        if r[1].endswith(f"/{name}")
    ]

    # The run was a job like the scheduler's, of that registry.
    jobs = json.loads(dockyard(data_dir, "jobs", "--json", "--region", FRANKFURT).stdout)
    assert {(job["account_id"], job["region"]) for job in jobs} == {(ACCOUNT, FRANKFURT)}
    assert "lifecycle" in {job["kind"] for job in jobs}


def test_simulate_names_the_region_of_registry_wide_resources(
    plain_server: DockyardProcess,
) -> None:
    iam = regional_client(plain_server.url, VIRGINIA, "iam")
    user = f"sim-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    repository = f"arn:aws:ecr:{FRANKFURT}:{ACCOUNT}:repository/app"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "ecr:DescribeImages"}
        ],
    }
    ecr = regional_client(plain_server.url, FRANKFURT)
    ecr.put_registry_policy(policyText=json.dumps(policy))
    try:
        args = ["iam", "simulate", "--principal", arn, "--action", "ecr:DescribeImages"]
        # The registry policy of eu-central-1 governs its repositories, not us-east-1's.
        assert dockyard(plain_server.data_dir, *args, "--resource", repository).returncode == 0
        elsewhere = repository.replace(FRANKFURT, VIRGINIA)
        refused = dockyard(plain_server.data_dir, *args, "--resource", elsewhere, check=False)
        assert refused.returncode == 1
        wide = [*args, "--resource", "*"]
        assert dockyard(plain_server.data_dir, *wide, "--region", FRANKFURT).returncode == 0
        assert dockyard(plain_server.data_dir, *wide, check=False).returncode == 1
    finally:
        ecr.delete_registry_policy()
