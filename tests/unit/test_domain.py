"""Pure rules: names, digests, references, manifests."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.errors import DigestInvalid, ManifestInvalid, NameInvalid, ReferenceInvalid
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.manifests import parse_manifest
from dockyard.domain.names import RepositoryName, Tag, parse_reference

EMPTY = Digest.of(b"{}")


@pytest.mark.parametrize(
    "name", ["ab", "a/b", "library/ubuntu", "a-b/c__d/e.f", "a--b", "x" * 256, "0/1"]
)
def test_valid_repository_names(name: str) -> None:
    assert RepositoryName.parse(name).value == name


@pytest.mark.parametrize(
    "name", ["a", "", "A/b", "a//b", "-a", "a-", "a/", "/a", "a_-b", "x" * 257, "a:b", "a___b"]
)
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(NameInvalid):
        RepositoryName.parse(name)


def test_tags_follow_the_oci_grammar() -> None:
    assert Tag.parse("v1.0_rc-1").value == "v1.0_rc-1"
    assert Tag.parse("x" * 128).value == "x" * 128
    for bad in ["", ".a", "-a", "x" * 129, "a/b", "a:b"]:
        with pytest.raises(ReferenceInvalid):
            Tag.parse(bad)


def test_reference_is_a_digest_when_it_has_an_algorithm() -> None:
    assert parse_reference(str(EMPTY)) == EMPTY
    assert parse_reference("latest") == Tag("latest")
    with pytest.raises(DigestInvalid):
        parse_reference("sha256:abc")
    with pytest.raises(DigestInvalid):
        parse_reference("md5:" + "0" * 32)


@given(st.binary(max_size=256), st.sampled_from(["sha256", "sha512"]))
def test_digest_round_trips(data: bytes, algorithm: str) -> None:
    digest = Digest.of(data, algorithm)
    assert Digest.parse(str(digest)) == digest


def _image(**extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": str(EMPTY),
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": str(Digest.of(b"l")),
                "size": 1,
            }
        ],
        **extra,
    }
    return json.dumps(doc).encode()


def test_image_manifest_names_its_blobs() -> None:
    manifest = parse_manifest(_image(), None)
    assert manifest.media_type == mt.OCI_MANIFEST
    assert manifest.required_blobs() == [EMPTY, Digest.of(b"l")]
    assert manifest.referrer_artifact_type() == "application/vnd.oci.image.config.v1+json"


def test_artifact_type_wins_over_config_media_type() -> None:
    subject = {"mediaType": mt.OCI_MANIFEST, "digest": str(Digest.of(b"s")), "size": 1}
    manifest = parse_manifest(_image(artifactType="application/x.sbom", subject=subject), None)
    assert manifest.referrer_artifact_type() == "application/x.sbom"
    assert manifest.subject is not None and manifest.subject.digest == Digest.of(b"s")


def test_index_names_its_children() -> None:
    child = {"mediaType": mt.OCI_MANIFEST, "digest": str(Digest.of(b"c")), "size": 1}
    doc = {"schemaVersion": 2, "manifests": [child]}
    manifest = parse_manifest(json.dumps(doc).encode(), None)
    assert manifest.media_type == mt.OCI_INDEX  # inferred from the shape
    assert manifest.child_manifests() == [Digest.of(b"c")]
    assert manifest.required_blobs() == []


def test_foreign_layers_with_urls_need_not_be_held() -> None:
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": str(Digest.of(b"f")),
        "size": 1,
        "urls": ["https://example.invalid/layer"],
    }
    doc = json.loads(_image())
    doc["mediaType"] = mt.DOCKER_MANIFEST
    doc["layers"].append(foreign)
    manifest = parse_manifest(json.dumps(doc).encode(), mt.DOCKER_MANIFEST)
    assert Digest.of(b"f") not in manifest.required_blobs()


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"{not json", None),
        (b"[]", None),
        (b'{"schemaVersion": 1}', None),
        (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST}).encode(), None),
        (_image(), mt.DOCKER_MANIFEST),  # body and header disagree
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), None),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "manifests": [{"mediaType": "x", "digest": "sha256:00", "size": 1}],
                }
            ).encode(),
            None,
        ),
    ],
)
def test_invalid_manifests(payload: bytes, content_type: str | None) -> None:
    with pytest.raises(ManifestInvalid):
        parse_manifest(payload, content_type)


@pytest.mark.parametrize(
    ("mutability", "filters", "tag", "immutable"),
    [
        ("MUTABLE", (), "v1", False),
        ("IMMUTABLE", (), "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*"), "latest", False),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*"), "dev-42", False),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*"), "v1.0", True),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest",), "latest2", True),  # whole-tag match
        ("MUTABLE_WITH_EXCLUSION", ("release-*",), "release-1", True),
        ("MUTABLE_WITH_EXCLUSION", ("release-*",), "pre-release-1", False),
        ("MUTABLE_WITH_EXCLUSION", ("*",), "anything", True),
        ("MUTABLE_WITH_EXCLUSION", ("v*.*",), "v1.2", True),
        ("MUTABLE_WITH_EXCLUSION", ("v*.*",), "v12", False),
    ],
)
def test_tag_immutability(
    mutability: str, filters: tuple[str, ...], tag: str, immutable: bool
) -> None:
    rule = MutabilityRule(TagMutability(mutability), filters)
    assert rule.problems() == []
    assert rule.is_immutable(tag) is immutable


def test_mutability_rules_are_checked() -> None:
    assert MutabilityRule(TagMutability.IMMUTABLE_WITH_EXCLUSION).problems()
    assert MutabilityRule(TagMutability.IMMUTABLE, ("x",)).problems()
    assert MutabilityRule(TagMutability.MUTABLE_WITH_EXCLUSION, ("a",) * 6).problems()
    assert MutabilityRule(TagMutability.MUTABLE_WITH_EXCLUSION, ("bad/tag",)).problems()
