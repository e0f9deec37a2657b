"""Issue 14's acceptance, end to end with the real tools: ``aws ecr
put-replication-configuration`` with the ECR user guide's JSON (one rule, a destination
in another region and one in another account), a skopeo push, the same digest pulled
with skopeo from both destinations, ``aws ecr describe-image-replication-status``
COMPLETE for both; a backfill of an image pushed before the rule; and the same image
reaching a docker-registry destination (Dockyard's extensions, through the same CLI with
``AWS_DATA_PATH``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA, Account
from tests.replication.helpers import wait_for
from tests.replication.test_accounts import _policy
from tests.replication.test_external import skopeo_digest
from tests.replication.test_regions import aws
from tests.support.authz import skopeo_pull, skopeo_push
from tests.support.ecr import AwsCli, extensions_data_path, login_password
from tests.support.images import make_image
from tests.support.servers import DistributionProcess, DockyardProcess


def _pulled_digest(server: DockyardProcess, ecr: Any, name: str, tag: str, tmp: Path) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    pulled = skopeo_pull(server.host, login_password(ecr), name, tag, tmp)
    assert pulled.returncode == 0, pulled.stderr
    index = json.loads((tmp / f"pulled-{name.replace('/', '_')}-{tag}" / "index.json").read_text())
    return str(index["manifests"][0]["digest"])


def _statuses(cli: AwsCli, name: str, tag: str) -> dict[str, str]:
    got = cli(
        "describe-image-replication-status",
        "--repository-name",
        name,
        "--image-id",
        f"imageTag={tag}",
    )
    return {
        s.get("externalRegistry") or f"{s['registryId']}/{s['region']}": s["status"]
        for s in got["replicationStatuses"]
    }


def test_the_user_guide_flow_then_a_backfill_and_a_docker_registry(
    server: DockyardProcess,
    virginia: Any,
    ireland: Any,
    account_b: Account,
    distribution: DistributionProcess,
    name: str,
    tmp_path: Path,
) -> None:
    cli = aws(server, tmp_path)
    config_file = tmp_path / "aws-config"
    config_file.write_text("[default]\ncli_follow_urlparam = false\n")
    extended = AwsCli(
        server.url,
        {**cli.env, "AWS_DATA_PATH": extensions_data_path(), "AWS_CONFIG_FILE": str(config_file)},
    )
    b_virginia = account_b.ecr(server, VIRGINIA)
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
    virginia.create_repository(repositoryName=name)
    earlier, image = make_image(f"{name}-0", layers=1), make_image(f"{name}-1", layers=2)
    password = login_password(virginia)
    pushed = skopeo_push(server.host, password, earlier, name, "v0", tmp_path)
    assert pushed.returncode == 0, pushed.stderr

    # Account B lets A replicate into it (the user guide's registry policy).
    b_virginia.put_registry_policy(policyText=_policy())
    # The user guide's JSON: one rule, another Region and another account.
    guide = {
        "rules": [
            {
                "destinations": [
                    {"region": IRELAND, "registryId": ACCOUNT_A},
                    {"region": VIRGINIA, "registryId": account_b.id},
                ]
            }
        ]
    }
    (tmp_path / "replication.json").write_text(json.dumps(guide))
    try:
        put = cli(
            "put-replication-configuration",
            "--replication-configuration",
            f"file://{tmp_path / 'replication.json'}",
        )
        assert put["replicationConfiguration"] == guide

        pushed = skopeo_push(server.host, password, image, name, "v1", tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        both = {f"{ACCOUNT_A}/{IRELAND}": "COMPLETE", f"{account_b.id}/{VIRGINIA}": "COMPLETE"}

        def complete(tag: str, expected: dict[str, str]) -> dict[str, str] | None:
            found = _statuses(cli, name, tag)
            return found if found == expected else None

        wait_for("COMPLETE at both destinations", lambda: complete("v1", both))
        # Same digest from both destinations, with skopeo logged in to each.
        assert _pulled_digest(server, ireland, name, "v1", tmp_path / "ie") == image.digest
        assert _pulled_digest(server, b_virginia, name, "v1", tmp_path / "b") == image.digest

        # The image pushed before the rule: not replicated until a backfill.
        assert _statuses(cli, name, "v0") == {}
        started = extended("start-replication-backfill", "--repository-name", name)["backfill"]

        def finished(backfill_id: str) -> dict[str, Any] | None:
            got = extended("describe-replication-backfill-results", "--backfill-id", backfill_id)
            return got if got["backfill"]["status"] == "COMPLETE" else None

        done = wait_for("the backfill", lambda: finished(started["backfillId"]))
        assert done["backfill"]["replicationsCompleted"] == 4  # 2 images x 2 destinations
        assert _statuses(cli, name, "v0") == both
        assert _pulled_digest(server, ireland, name, "v0", tmp_path / "ie0") == earlier.digest
        assert _pulled_digest(server, b_virginia, name, "v0", tmp_path / "b0") == earlier.digest

        # The same image to a docker-registry: registered, named in the rule, backfilled.
        mirror = f"mirror-{name.split('/')[0]}"
        extended(
            "create-external-registry",
            "--name",
            mirror,
            "--url",
            distribution.url,
            "--insecure",
        )
        with_mirror = {
            "rules": [
                {"destinations": [*guide["rules"][0]["destinations"], {"externalRegistry": mirror}]}
            ]
        }
        (tmp_path / "with-mirror.json").write_text(json.dumps(with_mirror))
        put = extended(
            "put-replication-configuration",
            "--replication-configuration",
            f"file://{tmp_path / 'with-mirror.json'}",
        )
        assert put["replicationConfiguration"] == with_mirror
        again = extended("start-replication-backfill", "--repository-name", name)["backfill"]
        wait_for("the second backfill", lambda: finished(again["backfillId"]))
        assert _statuses(extended, name, "v1") == {**both, mirror: "COMPLETE"}
        assert skopeo_digest(distribution.host, name, "v1", None) == image.digest
        assert skopeo_digest(distribution.host, name, "v0", None) == earlier.digest
    finally:
        virginia.put_replication_configuration(replicationConfiguration={"rules": []})
        b_virginia.delete_registry_policy()
