"""Parsing manifests into what the registry needs to know about them.

Only structure is checked here (the references a registry must hold and the
fields the referrers API reports); image-config semantics are the clients'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.domain import mediatypes as mt
from dockyard.domain.digests import Digest
from dockyard.domain.errors import DigestInvalid, JsonInvalid, ManifestInvalid
from dockyard.domain.jsontext import parse_json


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    has_urls: bool = False


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    def required_blobs(self) -> list[Digest]:
        """Blobs the repository must hold for this manifest to be pullable."""
        blobs = [self.config] if self.config else []
        blobs += [d for d in self.layers if not self._foreign(d)]
        return [d.digest for d in blobs]

    def child_manifests(self) -> list[Digest]:
        return [d.digest for d in self.manifests]

    def referrer_artifact_type(self) -> str | None:
        """The artifactType the referrers API reports: the manifest's own, else its config's."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and not self.is_index:
            return self.config.media_type
        return None

    @staticmethod
    def _foreign(descriptor: Descriptor) -> bool:
        return descriptor.media_type in mt.NON_DISTRIBUTABLE and descriptor.has_urls


def parse_manifest(payload: bytes, content_type: str | None) -> Manifest:
    try:
        document = parse_json(payload)
    except JsonInvalid as exc:
        raise ManifestInvalid(exc.describe()) from None
    if not isinstance(document, dict):
        raise ManifestInvalid("not a JSON object")
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2 (schema 1 manifests are not supported)")
    media_type = _media_type(document, content_type)
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    if media_type in mt.INDEXES:
        manifests = tuple(_descriptor(d, "manifests[]") for d in _list(document, "manifests"))
    else:
        if "config" not in document:
            raise ManifestInvalid("an image manifest needs a config descriptor")
        config = _descriptor(document["config"], "config")
        layers = tuple(_descriptor(d, "layers[]") for d in _list(document, "layers"))
    subject = _descriptor(document["subject"], "subject") if "subject" in document else None
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    return Manifest(
        media_type=media_type,
        config=config,
        layers=layers,
        manifests=manifests,
        subject=subject,
        artifact_type=artifact_type,
        annotations=_annotations(document, "manifest"),
    )


def _media_type(document: dict[str, Any], content_type: str | None) -> str:
    declared = document.get("mediaType")
    header = (content_type or "").split(";")[0].strip() or None
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if declared and header and header in mt.MANIFESTS and declared != header:
        raise ManifestInvalid(f"mediaType {declared!r} does not match Content-Type {header!r}")
    media_type = declared or (header if header in mt.MANIFESTS else None)
    if media_type is None:
        # OCI manifests may omit mediaType; the shape tells which one it is.
        media_type = mt.OCI_INDEX if "manifests" in document else mt.OCI_MANIFEST
    if media_type in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED):
        raise ManifestInvalid("Docker schema 1 manifests are not supported")
    if media_type not in mt.MANIFESTS:
        raise ManifestInvalid(f"unknown manifest media type {media_type!r}")
    return media_type


def _list(document: dict[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ManifestInvalid(f"{key} must be a list")
    return value


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where} needs a mediaType")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where} needs a digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where} needs a non-negative integer size")
    try:
        parsed = Digest.parse(digest)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}: {exc.describe()}") from None
    artifact_type = value.get("artifactType")
    urls = value.get("urls")
    return Descriptor(
        media_type=media_type,
        digest=parsed,
        size=size,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        annotations=_annotations(value, where),
        has_urls=isinstance(urls, list) and bool(urls),
    )


def _annotations(value: dict[str, Any], where: str) -> dict[str, str]:
    annotations = value.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise ManifestInvalid(f"{where}: annotations must map strings to strings")
    return annotations
