"""Account A to account B: refused (FAILED, DESTINATION_REGISTRY_ACCESS_DENIED) until B's
registry policy allows A to create repositories and replicate, then COMPLETE after a
backfill; the decision is the registry's one policy decision, so a Deny in B wins."""

from __future__ import annotations

import json
from typing import Any

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA, Account
from tests.replication.helpers import manifest_digest, rule, settled, v2, wait_for
from tests.support.ecr import expect_error, login_password
from tests.support.images import make_image, push_image
from tests.support.servers import DockyardProcess


def _policy(effect: str = "Allow") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReplicationFromA",
                    "Effect": effect,
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"},
                    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                    "Resource": "*",
                }
            ],
        }
    )


def test_another_account_needs_its_registry_policy(
    server: DockyardProcess, virginia: Any, account_b: Account, prefix: str, name: str
) -> None:
    b_ireland = account_b.ecr(server, IRELAND)
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (account_b.id, IRELAND))]}
    )
    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-x", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, image, "v1")

    refused = settled(virginia, name, image.digest)[(account_b.id, IRELAND)]
    assert refused["status"] == "FAILED"
    assert refused["failureCode"] == "DESTINATION_REGISTRY_ACCESS_DENIED"
    expect_error(
        "RepositoryNotFoundException", b_ireland.describe_repositories, repositoryNames=[name]
    )

    # B allows A (ECR's documented registry policy for cross-account replication).
    b_ireland.put_registry_policy(policyText=_policy())
    started = virginia.start_replication_backfill(repositoryName=name)["backfill"]
    assert started["status"] == "IN_PROGRESS" and started["repositoryName"] == name

    def finished() -> dict[str, Any] | None:
        got = virginia.describe_replication_backfill_results(backfillId=started["backfillId"])
        return got if got["backfill"]["status"] == "COMPLETE" else None

    results = wait_for("the backfill", finished)
    assert results["results"] == [
        {
            "repositoryName": name,
            "imageDigest": image.digest,
            "region": IRELAND,
            "registryId": account_b.id,
            "status": "COMPLETE",
        }
    ]
    assert results["backfill"]["replicationsCompleted"] == 1
    now = settled(virginia, name, image.digest)[(account_b.id, IRELAND)]
    assert now == {"region": IRELAND, "registryId": account_b.id, "status": "COMPLETE"}
    with v2(server, b_ireland, IRELAND, account_b.id) as client:
        assert manifest_digest(client, name, "v1") == image.digest
    assert login_password(b_ireland)  # B's own registry, in its own account

    # An explicit Deny in B's policy wins over any Allow: the next image is refused again.
    b_ireland.put_registry_policy(policyText=_policy("Deny"))
    second = make_image(f"{name}-y", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, second, "v2")
    denied = settled(virginia, name, second.digest)[(account_b.id, IRELAND)]
    assert denied["failureCode"] == "DESTINATION_REGISTRY_ACCESS_DENIED"
    b_ireland.delete_registry_policy()


def test_the_operator_sees_a_failure_and_retries_it(
    server: DockyardProcess, virginia: Any, prefix: str, name: str
) -> None:
    """``dockyard replication status`` shows a refused replication with its error, and
    ``dockyard replication retry`` queues it again once the cause is gone."""
    from tests.replication.conftest import make_account
    from tests.support.lifecycle import dockyard

    other = make_account(server)
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (other.id, VIRGINIA))]}
    )
    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-cli", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, image, "v1")
    assert settled(virginia, name, image.digest)[(other.id, VIRGINIA)]["status"] == "FAILED"

    out = dockyard(
        server.data_dir, "replication", "status", "--repository", name, "--failed", "--json"
    )
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["digest"] == image.digest
    assert row["destination"] == f"registry:{other.id}:{VIRGINIA}"
    assert row["failure_code"] == "DESTINATION_REGISTRY_ACCESS_DENIED"
    assert "is not authorized to perform: ecr:CreateRepository" in row["last_error"]
    assert row["attempts"] == 1

    other.ecr(server, VIRGINIA).put_registry_policy(policyText=_policy())
    done = dockyard(server.data_dir, "replication", "retry", "--repository", name)
    assert "1 replication(s) queued" in done.stdout
    assert wait_for(
        "the retry",
        lambda: (
            settled(virginia, name, image.digest)[(other.id, VIRGINIA)]["status"] == "COMPLETE"
            or None
        ),
    )
    nothing = dockyard(server.data_dir, "replication", "retry", "--repository", name)
    assert "0 replication(s) queued" in nothing.stdout
