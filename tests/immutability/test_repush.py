"""Pushing the same manifest to the same tag again.

ECR refuses it on an immutable tag (TAG_INVALID on /v2); Dockyard does the same unless
started with ``--idempotent-immutable-repush``, which accepts the unchanged re-push and
nothing more. PutImage of an unchanged manifest and tag is ImageAlreadyExistsException in
any repository.
"""

from __future__ import annotations

import uuid

import pytest
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
from tests.support.auth import ecr_error
from tests.support.images import Blob

pytestmark = pytest.mark.timeout(60)

IMMUTABLE_SETUPS = [
    pytest.param("IMMUTABLE", (), "v1", id="IMMUTABLE"),
    pytest.param("IMMUTABLE_WITH_EXCLUSION", ("dev-*",), "v1", id="IMMUTABLE_WITH_EXCLUSION"),
    pytest.param("MUTABLE_WITH_EXCLUSION", ("rel-*",), "rel-1", id="MUTABLE_WITH_EXCLUSION"),
]


def _repo(target: Target, mode: str, filters: tuple[str, ...], seed: str) -> tuple[str, list[Blob]]:
    repo = f"repush/{seed}-{uuid.uuid4().hex[:6]}"
    target.create_repository(repo, mode, filters)
    blobs, manifests = variants(seed, 2)
    with target.v2() as c:
        push_blobs(c, repo, blobs)
    return repo, manifests


@pytest.mark.parametrize(("mode", "filters", "tag"), IMMUTABLE_SETUPS)
def test_repush_refused_by_default(
    strict: Target, mode: str, filters: tuple[str, ...], tag: str
) -> None:
    repo, (m0, _) = _repo(strict, mode, filters, "strict")
    with strict.v2() as c:
        assert put_manifest(c, repo, tag, m0).status_code == 201
        for _ in range(2):
            assert_tag_invalid(put_manifest(c, repo, tag, m0), tag, repo)
        assert tag_digest(c, repo, tag) == m0.digest
    with pytest.raises(ClientError) as info:
        put_image(strict.ecr, repo, tag, m0)
    assert ecr_error(info.value)[0] == "ImageAlreadyExistsException"


@pytest.mark.parametrize(("mode", "filters", "tag"), IMMUTABLE_SETUPS)
def test_repush_accepted_when_idempotent(
    repush: Target, mode: str, filters: tuple[str, ...], tag: str
) -> None:
    repo, (m0, m1) = _repo(repush, mode, filters, "idempotent")
    with repush.v2() as c:
        assert put_manifest(c, repo, tag, m0).status_code == 201
        for _ in range(2):
            again = put_manifest(c, repo, tag, m0)
            assert again.status_code == 201, again.text
            assert again.headers["Docker-Content-Digest"] == m0.digest
        # Only the identical manifest: a different one is still refused.
        assert_tag_invalid(put_manifest(c, repo, tag, m1), tag, repo)
        assert tag_digest(c, repo, tag) == m0.digest
    # PutImage: unchanged is still ImageAlreadyExists, a change still ImageTagAlreadyExists.
    with pytest.raises(ClientError) as info:
        put_image(repush.ecr, repo, tag, m0)
    assert ecr_error(info.value)[0] == "ImageAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        put_image(repush.ecr, repo, tag, m1)
    assert ecr_error(info.value) == ("ImageTagAlreadyExistsException", immutable_message(tag, repo))
    images = repush.ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [(i["imageDigest"], i.get("imageTags")) for i in images] == [(m0.digest, [tag])]


@pytest.mark.parametrize("target_name", ["strict", "repush"])
def test_put_image_unchanged_in_mutable_repository(
    request: pytest.FixtureRequest, target_name: str
) -> None:
    target: Target = request.getfixturevalue(target_name)
    repo, (m0, m1) = _repo(target, "MUTABLE", (), f"mutable-{target_name}")
    put_image(target.ecr, repo, "v1", m0)
    with pytest.raises(ClientError) as info:
        put_image(target.ecr, repo, "v1", m0)
    assert ecr_error(info.value)[0] == "ImageAlreadyExistsException"
    # Changing either the tag or the manifest is a real change and succeeds.
    assert put_image(target.ecr, repo, "v2", m0)["image"]["imageId"]["imageTag"] == "v2"
    assert put_image(target.ecr, repo, "v1", m1)["image"]["imageId"]["imageDigest"] == m1.digest
    # Over /v2 an unchanged re-push to a mutable tag is an ordinary 201.
    with target.v2() as c:
        assert put_manifest(c, repo, "v1", m1).status_code == 201
        assert tag_digest(c, repo, "v1") == m1.digest
        assert tag_digest(c, repo, "v2") == m0.digest
