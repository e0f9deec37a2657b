"""The acceptance path across regions: ``aws ecr put-replication-configuration`` with the
user guide's JSON, a skopeo push in us-east-1, then the same digest pulled from eu-west-1
by its ECR-shaped host name and with skopeo on a login for that region; the status says
COMPLETE, the replica counts in eu-west-1's storage, and a rerun changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import manifest_digest, rule, settled, v2
from tests.support.authz import skopeo_pull, skopeo_push
from tests.support.ecr import AwsCli, login_password
from tests.support.images import make_image
from tests.support.lifecycle import dockyard, table_rows
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess


def aws(server: DockyardProcess, tmp_path: Path) -> AwsCli:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ROOT_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": ROOT_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": VIRGINIA,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    return AwsCli(server.url, env)


def test_a_push_in_one_region_is_pulled_from_the_other(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str, tmp_path: Path
) -> None:
    cli = aws(server, tmp_path)
    # The user guide's cross-Region example with a repository filter, as a file.
    config = tmp_path / "replication.json"
    config.write_text(json.dumps({"rules": [rule(prefix, (ACCOUNT_A, IRELAND))]}))
    put = cli("put-replication-configuration", "--replication-configuration", f"file://{config}")
    assert put["replicationConfiguration"] == json.loads(config.read_text())
    described = cli("describe-registry")
    assert described == {"registryId": ACCOUNT_A, **put}

    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-one", layers=2)
    pushed = skopeo_push(server.host, login_password(virginia), image, name, "v1", tmp_path)
    assert pushed.returncode == 0, pushed.stderr

    found = settled(virginia, name, image.digest)
    assert found == {
        (ACCOUNT_A, IRELAND): {"region": IRELAND, "registryId": ACCOUNT_A, "status": "COMPLETE"}
    }
    status = cli(
        "describe-image-replication-status",
        "--repository-name",
        name,
        "--image-id",
        "imageTag=v1",
    )
    assert status["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert status["replicationStatuses"][0]["status"] == "COMPLETE"

    # The same digest from eu-west-1: by its host name, and with skopeo on a login there.
    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "v1") == image.digest
        r = client.get(f"/v2/{name}/blobs/{image.layers[1].digest}")
        assert r.status_code == 200 and r.content == image.layers[1].data
    pulled = skopeo_pull(server.host, login_password(ireland), name, "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    index = json.loads(
        (tmp_path / f"pulled-{name.replace('/', '_')}-v1" / "index.json").read_text()
    )
    assert index["manifests"][0]["digest"] == image.digest

    # The replica is eu-west-1's: created with ECR's defaults, listed, counted in its usage.
    (repository,) = ireland.describe_repositories(repositoryNames=[name])["repositories"]
    assert repository["imageTagMutability"] == "MUTABLE"
    (detail,) = ireland.describe_images(repositoryName=name)["imageDetails"]
    assert detail["imageDigest"] == image.digest and detail["imageTags"] == ["v1"]
    rows = table_rows(dockyard(server.data_dir, "usage", "--region", IRELAND).stdout)
    (row,) = [r for r in rows if r[0] == name]
    assert int(row[1].replace(",", "")) == sum(b.size for b in image.blobs)


def test_a_moved_tag_follows_and_a_replica_goes_no_further(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    """Both regions replicate to each other; a tag moved at the source moves at the
    destination, and nothing comes back (replicas are not replicated again)."""
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (ACCOUNT_A, IRELAND))]}
    )
    ireland.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (ACCOUNT_A, VIRGINIA))]}
    )
    try:
        virginia.create_repository(repositoryName=name)
        first, second = make_image(f"{name}-1", layers=1), make_image(f"{name}-2", layers=1)
        with v2(server, virginia, VIRGINIA) as client:
            from tests.support.images import push_image

            push_image(client, name, first, "latest")
            settled(virginia, name, first.digest)
            push_image(client, name, second, "latest")
            settled(virginia, name, second.digest)
        with v2(server, ireland, IRELAND) as client:
            assert manifest_digest(client, name, "latest") == second.digest
            assert manifest_digest(client, name, first.digest) == first.digest
        # The replicas in eu-west-1 have no replication of their own.
        for image in (first, second):
            got = ireland.describe_image_replication_status(
                repositoryName=name, imageId={"imageDigest": image.digest}
            )
            assert got["replicationStatuses"] == []
    finally:
        ireland.put_replication_configuration(replicationConfiguration={"rules": []})
