"""Twenty pushes of twenty different manifests race for one immutable tag: one wins.

All threads wait on a barrier and then push at once, each over its own connection.
Afterwards the tag names the winner, and more attempts (in sequence and at once) change
nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.immutability.helpers import (
    Target,
    assert_tag_invalid,
    immutable_message,
    push_blobs,
    put_image,
    put_manifest,
    tag_digest,
    variants,
)
from tests.support.auth import basic, ecr_client, ecr_error, oci_error
from tests.support.images import Blob

pytestmark = pytest.mark.timeout(90)

RACERS = 20
TAG = "release"
T = TypeVar("T")
R = TypeVar("R")


def all_at_once(items: list[T], work: Callable[[T], R]) -> list[R]:
    """Run `work` on every item in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(items))

    def go(item: T) -> R:
        barrier.wait(timeout=30)
        return work(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(go, items))


def race_v2(target: Target, repo: str, manifests: list[Blob]) -> list[httpx.Response]:
    clients = [
        httpx.Client(base_url=target.url, headers=basic(target.password), timeout=60)
        for _ in manifests
    ]
    try:
        for c in clients:  # connect before the race, so that the PUTs really overlap
            assert c.get("/v2/").status_code == 200
        return all_at_once(
            list(zip(clients, manifests, strict=True)),
            lambda cm: put_manifest(cm[0], repo, TAG, cm[1]),
        )
    finally:
        for c in clients:
            c.close()


def _repo(target: Target, mode: str, seed: str) -> tuple[str, list[Blob]]:
    repo = f"race/{seed}-{uuid.uuid4().hex[:6]}"
    target.create_repository(repo, mode)
    blobs, manifests = variants(f"race/{seed}", RACERS)
    assert len({m.digest for m in manifests}) == RACERS
    with target.v2() as c:
        push_blobs(c, repo, blobs)
    return repo, manifests


def test_race_over_v2(strict: Target) -> None:
    repo, manifests = _repo(strict, "IMMUTABLE", "v2")
    responses = race_v2(strict, repo, manifests)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * (RACERS - 1), [
        (r.status_code, r.text[:200]) for r in responses
    ]
    (winner,) = [m for m, r in zip(manifests, responses, strict=True) if r.status_code == 201]
    for manifest, r in zip(manifests, responses, strict=True):
        if r.status_code == 201:
            assert r.headers["Docker-Content-Digest"] == manifest.digest
        else:
            assert_tag_invalid(r, TAG, repo)

    with strict.v2() as c:
        assert tag_digest(c, repo, TAG) == winner.digest
        # More attempts, one by one and all at once, change nothing.
        losers = [m for m in manifests if m is not winner]
        for m in losers[:5]:
            assert_tag_invalid(put_manifest(c, repo, TAG, m), TAG, repo)
        for r in race_v2(strict, repo, losers):
            assert_tag_invalid(r, TAG, repo)
        assert tag_digest(c, repo, TAG) == winner.digest
        served = c.get(f"/v2/{repo}/manifests/{TAG}", headers={"Accept": winner.media_type})
        assert served.content == winner.data
        assert c.get(f"/v2/{repo}/tags/list").json()["tags"] == [TAG]


def test_race_through_put_image(strict: Target) -> None:
    repo, manifests = _repo(strict, "IMMUTABLE", "api")
    clients = [ecr_client(strict.url) for _ in manifests]  # one boto3 client per thread

    def attempt(item: tuple[BaseClient, Blob]) -> str:
        client, manifest = item
        try:
            put_image(client, repo, TAG, manifest)
        except ClientError as exc:
            code, message = ecr_error(exc)
            if code == "ImageTagAlreadyExistsException":
                assert message == immutable_message(TAG, repo)
            return code
        return "ok"

    outcomes = all_at_once(list(zip(clients, manifests, strict=True)), attempt)
    assert sorted(outcomes) == ["ImageTagAlreadyExistsException"] * (RACERS - 1) + ["ok"], outcomes
    winner = manifests[outcomes.index("ok")]

    def tagged() -> str:
        found = strict.ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": TAG}])
        assert found["failures"] == []
        (image,) = found["images"]
        assert image["imageManifest"] == winner.data.decode()
        return str(image["imageId"]["imageDigest"])

    assert tagged() == winner.digest
    losers = [m for m in manifests if m is not winner]
    again = all_at_once(list(zip(clients[1:], losers, strict=True)), attempt)
    assert again == ["ImageTagAlreadyExistsException"] * (RACERS - 1)
    assert tagged() == winner.digest
    with strict.v2() as c:
        assert tag_digest(c, repo, TAG) == winner.digest


def test_race_on_a_mutable_tag(strict: Target) -> None:
    """Control: in a mutable repository every push of the race succeeds, and the tag ends
    on one of them (the check above is about immutability, not about losing requests)."""
    repo, manifests = _repo(strict, "MUTABLE", "mutable")
    responses = race_v2(strict, repo, manifests)
    assert [r.status_code for r in responses] == [201] * RACERS, [
        oci_error(r) for r in responses if r.status_code != 201
    ]
    with strict.v2() as c:
        assert tag_digest(c, repo, TAG) in {m.digest for m in manifests}


@pytest.mark.parametrize("target_name", ["strict", "repush"])
def test_race_of_identical_pushes(request: pytest.FixtureRequest, target_name: str) -> None:
    """Twenty parallel pushes of the same manifest (parallel CI jobs): ECR's rule lets one
    through; with --idempotent-immutable-repush all of them succeed."""
    target: Target = request.getfixturevalue(target_name)
    repo, manifests = _repo(target, "IMMUTABLE", f"identical-{target_name}")
    same = [manifests[0]] * RACERS
    responses = race_v2(target, repo, same)
    created = [r for r in responses if r.status_code == 201]
    if target_name == "repush":
        assert len(created) == RACERS, [r.text for r in responses if r.status_code != 201]
    else:
        assert len(created) == 1
        for r in responses:
            if r.status_code != 201:
                assert_tag_invalid(r, TAG, repo)
    assert {r.headers["Docker-Content-Digest"] for r in created} == {manifests[0].digest}
    with target.v2() as c:
        assert tag_digest(c, repo, TAG) == manifests[0].digest
