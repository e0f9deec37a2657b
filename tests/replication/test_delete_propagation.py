"""Delete propagation (Dockyard's extension, ``propagateDeletes`` on a rule): an image
deleted at the source by BatchDeleteImage, a /v2 manifest DELETE or lifecycle expiry is
deleted at the destinations (another region, a docker-registry) where replication created
it; never where it was before replication came, and not at all without the flag."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import (
    external_settled,
    manifest_digest,
    rule,
    settled,
    v2,
    wait_for,
)
from tests.replication.test_external import external_rule, register
from tests.support.images import (
    COSIGN_SIGNATURE,
    MANIFEST_ACCEPT,
    make_config,
    make_image,
    make_layer,
    make_manifest,
    push_blob,
    push_image,
    push_manifest,
)
from tests.support.lifecycle import dockyard
from tests.support.servers import DistributionProcess, DockyardProcess


def _gone(client: httpx.Client, name: str, digest: str) -> bool | None:
    return True if manifest_digest(client, name, digest) is None else None


def test_deletes_at_the_source_delete_what_replication_created_in_another_region(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    config = {"rules": [{**rule(prefix, (ACCOUNT_A, IRELAND)), "propagateDeletes": True}]}
    put = virginia.put_replication_configuration(replicationConfiguration=config)
    assert put["replicationConfiguration"] == config
    virginia.create_repository(repositoryName=name)
    ireland.create_repository(repositoryName=name)
    by_api, by_v2, theirs = (make_image(f"{name}-{n}", layers=1) for n in ("a", "b", "c"))
    # eu-west-1 holds ``theirs`` before replication brings it: replication did not create it.
    with v2(server, ireland, IRELAND) as client:
        push_image(client, name, theirs, "theirs")
    with v2(server, virginia, VIRGINIA) as client:
        for image, tag in ((by_api, "a"), (by_v2, "b"), (theirs, "c")):
            push_image(client, name, image, tag)
    for image in (by_api, by_v2, theirs):
        assert settled(virginia, name, image.digest)[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"

    deleted = virginia.batch_delete_image(
        repositoryName=name,
        imageIds=[{"imageDigest": by_api.digest}, {"imageDigest": theirs.digest}],
    )
    assert deleted["failures"] == []
    with v2(server, virginia, VIRGINIA) as client:
        assert client.delete(f"/v2/{name}/manifests/{by_v2.digest}").status_code == 202
    with v2(server, ireland, IRELAND) as client:
        wait_for(
            "the replica deleted by BatchDeleteImage", lambda: _gone(client, name, by_api.digest)
        )
        wait_for("the replica deleted by /v2", lambda: _gone(client, name, by_v2.digest))
        # The image eu-west-1 had before is still there, tags and all.
        assert manifest_digest(client, name, theirs.digest) == theirs.digest
        assert manifest_digest(client, name, "theirs") == theirs.digest
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def test_lifecycle_expiry_propagates_and_without_the_flag_nothing_does(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str
) -> None:
    on, off = f"{prefix}on", f"{prefix}off"
    config = {
        "rules": [
            {
                **rule(on, (ACCOUNT_A, IRELAND)),
                "propagateDeletes": True,
            },
            rule(off, (ACCOUNT_A, IRELAND)),
        ]
    }
    virginia.put_replication_configuration(replicationConfiguration=config)
    keep_one = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    images: dict[str, list[Any]] = {}
    for repo in (on, off):
        virginia.create_repository(repositoryName=repo)
        images[repo] = [make_image(f"{repo}-{i}", layers=1) for i in range(2)]
        with v2(server, virginia, VIRGINIA) as client:
            for number, image in enumerate(images[repo]):
                push_image(client, repo, image, f"v{number}")
                time.sleep(1.1)  # pushed at distinct seconds: the older one is the first
        for image in images[repo]:
            assert (
                settled(virginia, repo, image.digest)[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
            )
        virginia.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=json.dumps(keep_one))
        dockyard(server.data_dir, "lifecycle", "run", "--repository", repo)
        with v2(server, virginia, VIRGINIA) as client:
            assert manifest_digest(client, repo, images[repo][0].digest) is None  # expired

    with v2(server, ireland, IRELAND) as client:
        older = images[on][0].digest
        wait_for("the expired image's replica deleted", lambda: _gone(client, on, older))
        assert manifest_digest(client, on, images[on][1].digest) == images[on][1].digest
        # Without propagateDeletes the replica stays: no job was even queued for it.
        assert manifest_digest(client, off, images[off][0].digest) == images[off][0].digest
    listed = json.loads(dockyard(server.data_dir, "jobs", "--json", "--limit", "1000").stdout)
    deletes = [j for j in listed if j["kind"] == "replication-delete" and j["result"]]
    assert {j["result"]["repository"] for j in deletes} >= {on}
    assert off not in {j["result"]["repository"] for j in deletes}
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def _propagating_to(
    virginia: Any, distribution: DistributionProcess, prefix: str, name: str
) -> str:
    """Register the docker-registry, replicate ``prefix`` there with deletes propagated,
    and create the source repository ``name``; the registry's name."""
    mirror = register(virginia, distribution.url)
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [external_rule(prefix, mirror, propagateDeletes=True)]}
    )
    virginia.create_repository(repositoryName=name)
    return mirror


def test_a_docker_registry_loses_only_what_replication_put_there(
    server: DockyardProcess,
    virginia: Any,
    distribution: DistributionProcess,
    prefix: str,
    name: str,
) -> None:
    mirror = _propagating_to(virginia, distribution, prefix, name)
    ours, theirs = make_image(f"{name}-ours", layers=1), make_image(f"{name}-theirs", layers=1)
    with httpx.Client(base_url=distribution.url, timeout=30) as plain:
        push_image(plain, name, theirs, "theirs")  # at the destination before replication
        with v2(server, virginia, VIRGINIA) as client:
            push_image(client, name, ours, "ours")
            push_image(client, name, theirs, "also-theirs")
        for image in (ours, theirs):
            status = external_settled(virginia, name, image.digest, mirror)["status"]
            assert status == "COMPLETE"
        virginia.batch_delete_image(
            repositoryName=name,
            imageIds=[{"imageDigest": ours.digest}, {"imageDigest": theirs.digest}],
        )

        def absent() -> bool | None:
            r = plain.get(
                f"/v2/{name}/manifests/{ours.digest}", headers={"Accept": MANIFEST_ACCEPT}
            )
            return True if r.status_code == 404 else None

        wait_for("the replica deleted at the docker-registry", absent)
        # Deletion jobs ran (the one above did); the image replication found there stays.
        time.sleep(1)
        r = plain.get(f"/v2/{name}/manifests/theirs", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == theirs.digest
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def test_a_deleted_signature_leaves_its_subject_s_fallback_index_at_a_docker_registry(
    server: DockyardProcess,
    virginia: Any,
    distribution: DistributionProcess,
    prefix: str,
    name: str,
) -> None:
    """docker-registry 2.8 has no referrers API: replication lists a signature under its
    subject's fallback tag; deleting the signature at the source takes it off that list."""
    mirror = _propagating_to(virginia, distribution, prefix, name)
    image = make_image(f"{name}-signed", layers=1)
    signatures = []
    for n in range(2):
        payload = make_layer(f"{name}-sig-{n}", files=1)
        config = make_config([payload])
        signatures.append(
            (
                make_manifest(
                    config, [payload], subject=image.manifest, artifact_type=COSIGN_SIGNATURE
                ),
                (config, payload),
            )
        )
    fallback = f"/v2/{name}/manifests/sha256-{image.digest.split(':', 1)[1]}"
    with httpx.Client(base_url=distribution.url, timeout=30) as plain:
        with v2(server, virginia, VIRGINIA) as client:
            push_image(client, name, image, "v1")
            for signature, blobs in signatures:
                for blob in blobs:
                    push_blob(client, name, blob)
                push_manifest(client, name, signature.digest, signature)
        for manifest in (image.manifest, *(sig for sig, _ in signatures)):
            status = external_settled(virginia, name, manifest.digest, mirror)["status"]
            assert status == "COMPLETE"

        def listed() -> list[str]:
            r = plain.get(fallback, headers={"Accept": MANIFEST_ACCEPT})
            assert r.status_code == 200, r.text
            return [d["digest"] for d in r.json()["manifests"]]

        gone, kept = signatures[0][0].digest, signatures[1][0].digest
        assert sorted(listed()) == sorted([gone, kept])
        virginia.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": gone}])
        wait_for(
            "the signature off its subject's fallback index",
            lambda: True if listed() == [kept] else None,
        )
        r = plain.get(f"/v2/{name}/manifests/{gone}", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 404
        r = plain.get(f"/v2/{name}/manifests/{kept}", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
