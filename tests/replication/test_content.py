"""What a replication carries: a multi-arch index whole (children, a signature referrer,
the tag), only the repositories a prefix filter covers, and ECR's tag immutability at the
destination."""

from __future__ import annotations

from typing import Any

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import manifest_digest, rule, settled, statuses, v2
from tests.support.ecr import expect_error, push_layer_api
from tests.support.images import (
    COSIGN_SIGNATURE,
    make_config,
    make_image,
    make_layer,
    make_manifest,
    make_multiarch_index,
    push_blob,
    push_image,
    push_manifest,
)
from tests.support.servers import DockyardProcess


def test_a_multi_arch_index_and_its_signature_arrive_whole(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (ACCOUNT_A, IRELAND))]}
    )
    virginia.create_repository(repositoryName=name)
    index = make_multiarch_index(f"{name}-idx", [("linux", "amd64"), ("linux", "arm64")])
    payload = make_layer(f"{name}-sig", files=1)
    config = make_config([payload])
    signature = make_manifest(
        config, [payload], subject=index.index, artifact_type=COSIGN_SIGNATURE
    )
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, index, "v1")
        for blob in (config, payload):
            push_blob(client, name, blob)
        push_manifest(client, name, signature.digest, signature)
    found = settled(virginia, name, index.digest)
    assert found[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
    settled(virginia, name, signature.digest)

    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "v1") == index.digest
        for child in index.images:
            assert manifest_digest(client, name, child.digest) == child.digest
            for blob in child.blobs:
                assert client.head(f"/v2/{name}/blobs/{blob.digest}").status_code == 200
        referrers = client.get(f"/v2/{name}/referrers/{index.digest}").json()["manifests"]
        assert [(r["digest"], r["artifactType"]) for r in referrers] == [
            (signature.digest, COSIGN_SIGNATURE)
        ]
        assert client.get(f"/v2/{name}/tags/list").json()["tags"] == ["v1"]
    # Exactly the source's images, once each.
    details = ireland.describe_images(repositoryName=name)["imageDetails"]
    expected = {index.digest, signature.digest, *(i.digest for i in index.images)}
    assert sorted(d["imageDigest"] for d in details) == sorted(expected)


def test_a_prefix_filter_leaves_other_repositories_alone(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str
) -> None:
    kept, skipped = f"{prefix}kept/app", f"{prefix[:-1]}-other/app"
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(f"{prefix}kept", (ACCOUNT_A, IRELAND))]}
    )
    images = {}
    for repo in (kept, skipped):  # through ECR's layer API and PutImage this time
        virginia.create_repository(repositoryName=repo)
        images[repo] = make_image(f"{repo}-image", layers=1)
        push_layer_api(virginia, repo, images[repo], tag="v1")
    assert (
        settled(virginia, kept, images[kept].digest)[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
    )
    assert statuses(virginia, skipped, images[skipped].digest) == {}
    expect_error(
        "RepositoryNotFoundException", ireland.describe_repositories, repositoryNames=[skipped]
    )
    ireland.describe_repositories(repositoryNames=[kept])


def test_an_immutable_tag_at_the_destination_fails_the_replication(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    """As in ECR, tags are immutable or not per registry: a destination repository with
    immutable tags keeps its tag, and the replication of another image under it fails."""
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [rule(prefix, (ACCOUNT_A, IRELAND))]}
    )
    virginia.create_repository(repositoryName=name)
    ireland.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    theirs, ours = make_image(f"{name}-theirs", layers=1), make_image(f"{name}-ours", layers=1)
    with v2(server, ireland, IRELAND) as client:
        push_image(client, name, theirs, "v1")
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, ours, "v1")
    failed = settled(virginia, name, ours.digest)[(ACCOUNT_A, IRELAND)]
    assert failed == {
        "region": IRELAND,
        "registryId": ACCOUNT_A,
        "status": "FAILED",
        "failureCode": "IMAGE_TAG_IMMUTABLE",
    }
    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "v1") == theirs.digest
        # The image itself did arrive, untagged.
        assert manifest_digest(client, name, ours.digest) == ours.digest
