"""Build deterministic OCI content (layers, configs, manifests, indexes, layouts) and push it.

Everything here is deterministic for a given seed: the same seed yields byte-identical
layers, configs and manifests, hence identical digests.

Typical use::

    img = make_image("my-seed", layers=3)
    push_image(http, repo_name, img, tag="v1")

    multi = make_multiarch_index("seed", platforms=[("linux", "amd64"), ("linux", "arm64")])
    write_oci_layout(tmp_path / "layout", {"v1": img, "multi": multi})
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

# --- media types --------------------------------------------------------------------------
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
# The artifactType of a cosign signature attached by the referrers API.
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])

EMPTY_JSON = b"{}"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
FIXED_MTIME = 1_700_000_000  # fixed timestamp inside tar entries
FIXED_CREATED = "2023-11-14T22:13:20Z"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON encoding used for all generated configs/manifests."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Blob:
    """A piece of content addressed by digest: a layer, a config, or a manifest."""

    media_type: str
    data: bytes
    diff_id: str | None = None  # for compressed layers: digest of the uncompressed tar
    platform: Mapping[str, str] | None = None  # for manifests listed in an index
    artifact_type: str | None = None  # copied into descriptors when set
    annotations: Mapping[str, str] | None = None  # copied into descriptors when set

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """An OCI descriptor for this blob (mediaType, digest, size + optional fields)."""
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type is not None:
            d["artifactType"] = self.artifact_type
        if self.platform is not None:
            d["platform"] = dict(self.platform)
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        d.update(extra)
        return d

    def json(self) -> Any:
        return json.loads(self.data)


# --- layers -------------------------------------------------------------------------------
def make_tar(
    seed: int | str, files: int = 3, min_size: int = 64, max_size: int = 4096, prefix: str = ""
) -> bytes:
    """A real, deterministic, uncompressed tar archive holding a directory and `files` files.

    File contents are pseudo-random bytes derived from `seed`.
    """
    rng = random.Random(f"tar:{seed}")
    top = prefix or f"data-{_slug(seed)}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dir_info = tarfile.TarInfo(top)
        dir_info.type = tarfile.DIRTYPE
        _fix_tarinfo(dir_info, 0o755)
        tar.addfile(dir_info)
        for i in range(files):
            size = rng.randint(min_size, max_size)
            content = rng.randbytes(size)
            info = tarfile.TarInfo(f"{top}/file-{i}.bin")
            info.size = size
            _fix_tarinfo(info, 0o644)
            tar.addfile(info, io.BytesIO(content))
        note = f"seed={seed}\n".encode()
        info = tarfile.TarInfo(f"{top}/README.txt")
        info.size = len(note)
        _fix_tarinfo(info, 0o644)
        tar.addfile(info, io.BytesIO(note))
    return buf.getvalue()


def make_layer(
    seed: int | str,
    files: int = 3,
    min_size: int = 64,
    max_size: int = 4096,
    media_type: str = OCI_LAYER_GZIP,
    compresslevel: int = 6,
) -> Blob:
    """A deterministic gzip-compressed tar layer (see `make_tar`) with its diff_id."""
    tar = make_tar(seed, files=files, min_size=min_size, max_size=max_size)
    data = gzip.compress(tar, compresslevel=compresslevel, mtime=0)
    return Blob(media_type=media_type, data=data, diff_id=sha256_digest(tar))


def _fix_tarinfo(info: tarfile.TarInfo, mode: int) -> None:
    info.mode = mode
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"


def _slug(seed: int | str) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()[:8]


# --- configs, manifests, indexes ------------------------------------------------------------
def make_config(
    layers: Sequence[Blob],
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    labels: Mapping[str, str] | None = None,
    media_type: str = OCI_CONFIG,
) -> Blob:
    """An OCI image config whose rootfs.diff_ids match `layers`."""
    diff_ids = [layer.diff_id or layer.digest for layer in layers]
    cfg: dict[str, Any] = {
        "architecture": architecture,
        "os": os,
        "created": FIXED_CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": dict(labels or {}),
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": FIXED_CREATED, "created_by": f"dockyard-tests layer {i}"}
            for i in range(len(layers))
        ],
    }
    if variant:
        cfg["variant"] = variant
    return Blob(media_type=media_type, data=canonical_json(cfg))


def make_manifest(
    config: Blob,
    layers: Sequence[Blob],
    *,
    subject: Blob | Mapping[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
    media_type: str = OCI_MANIFEST,
    platform: Mapping[str, str] | None = None,
) -> Blob:
    """An image (or artifact) manifest referencing `config` and `layers`.

    `subject` may be a Blob (its descriptor is used) or a ready descriptor dict.
    `platform` is not written into the manifest; it is remembered for index descriptors.
    """
    m: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": _plain_descriptor(config),
        "layers": [_plain_descriptor(layer) for layer in layers],
    }
    if artifact_type is not None:
        m["artifactType"] = artifact_type
    if subject is not None:
        m["subject"] = _plain_descriptor(subject) if isinstance(subject, Blob) else dict(subject)
    if annotations:
        m["annotations"] = dict(annotations)
    return Blob(
        media_type=media_type,
        data=canonical_json(m),
        platform=platform,
        artifact_type=artifact_type,
        annotations=annotations,
    )


def make_index(
    manifests: Sequence[Blob],
    *,
    media_type: str = OCI_INDEX,
    annotations: Mapping[str, str] | None = None,
    subject: Blob | None = None,
) -> Blob:
    """An image index listing `manifests` (their `platform` is included when set)."""
    idx: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [m.descriptor() for m in manifests],
    }
    if annotations:
        idx["annotations"] = dict(annotations)
    if subject is not None:
        idx["subject"] = _plain_descriptor(subject)
    return Blob(media_type=media_type, data=canonical_json(idx))


def _plain_descriptor(blob: Blob) -> dict[str, Any]:
    return {"mediaType": blob.media_type, "digest": blob.digest, "size": blob.size}


# --- images -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Image:
    """A single-platform image: config + layers + manifest."""

    config: Blob
    layers: tuple[Blob, ...]
    manifest: Blob

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def blobs(self) -> tuple[Blob, ...]:
        """Config and layers (not the manifest)."""
        return (self.config, *self.layers)

    @property
    def platform(self) -> Mapping[str, str] | None:
        return self.manifest.platform


@dataclass(frozen=True)
class ImageIndex:
    """A multi-platform image: an index plus one image per platform."""

    index: Blob
    images: tuple[Image, ...] = field(default_factory=tuple)

    @property
    def digest(self) -> str:
        return self.index.digest

    @property
    def manifest(self) -> Blob:
        return self.index

    @property
    def blobs(self) -> tuple[Blob, ...]:
        seen: dict[str, Blob] = {}
        for img in self.images:
            for b in img.blobs:
                seen.setdefault(b.digest, b)
        return tuple(seen.values())


def make_image(
    seed: int | str,
    layers: int = 3,
    *,
    architecture: str = "amd64",
    os: str = "linux",
    variant: str | None = None,
    files_per_layer: int = 3,
    max_file_size: int = 4096,
    docker: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Image:
    """A deterministic image with `layers` distinct tar.gz layers.

    With ``docker=True`` the Docker schema 2 media types are used instead of OCI ones.
    """
    layer_mt = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    blobs = tuple(
        make_layer(
            f"{seed}/{architecture}/{variant}/{i}",
            files=files_per_layer,
            max_size=max_file_size,
            media_type=layer_mt,
        )
        for i in range(layers)
    )
    config = make_config(
        blobs,
        architecture=architecture,
        os=os,
        variant=variant,
        labels=labels,
        media_type=DOCKER_CONFIG if docker else OCI_CONFIG,
    )
    platform = {"architecture": architecture, "os": os}
    if variant:
        platform["variant"] = variant
    manifest = make_manifest(
        config, blobs, media_type=DOCKER_MANIFEST if docker else OCI_MANIFEST, platform=platform
    )
    return Image(config=config, layers=blobs, manifest=manifest)


def image_from_layers(layers: Sequence[Blob], **config_args: Any) -> Image:
    """An OCI image made of the given layers (config built by `make_config`)."""
    config = make_config(layers, **config_args)
    return Image(config=config, layers=tuple(layers), manifest=make_manifest(config, layers))


DEFAULT_PLATFORMS: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64"))


def make_multiarch_index(
    seed: int | str,
    platforms: Iterable[tuple[str, str] | tuple[str, str, str]] = DEFAULT_PLATFORMS,
    layers: int = 2,
    *,
    docker: bool = False,
) -> ImageIndex:
    """An index with one distinct image per (os, architecture[, variant]) platform."""
    images = []
    for p in platforms:
        os_, arch = p[0], p[1]
        variant = p[2] if len(p) > 2 else None
        images.append(
            make_image(
                seed, layers=layers, architecture=arch, os=os_, variant=variant, docker=docker
            )
        )
    index = make_index(
        [i.manifest for i in images], media_type=DOCKER_MANIFEST_LIST if docker else OCI_INDEX
    )
    return ImageIndex(index=index, images=tuple(images))


# --- OCI image layout -----------------------------------------------------------------------
def write_blob(layout: Path, blob: Blob | bytes) -> Path:
    data = blob.data if isinstance(blob, Blob) else blob
    algo, hexd = sha256_digest(data).split(":", 1)
    path = layout / "blobs" / algo / hexd
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    return path


def write_oci_layout(layout: Path, tags: Mapping[str, Image | ImageIndex]) -> Path:
    """Write (or extend) an OCI image layout directory holding `tags`.

    Each tag becomes an entry of the top-level ``index.json`` annotated with
    ``org.opencontainers.image.ref.name``, the form skopeo/podman/umoci use for ``oci:DIR:TAG``.
    """
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index_path = layout / "index.json"
    if index_path.exists():
        top = json.loads(index_path.read_text())
    else:
        top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    for tag, item in tags.items():
        images = item.images if isinstance(item, ImageIndex) else (item,)
        for img in images:
            for b in img.blobs:
                write_blob(layout, b)
            write_blob(layout, img.manifest)
        write_blob(layout, item.manifest)
        top["manifests"] = [
            d for d in top["manifests"] if d.get("annotations", {}).get(REF_NAME_ANNOTATION) != tag
        ]
        desc = _plain_descriptor(item.manifest)
        desc["annotations"] = {REF_NAME_ANNOTATION: tag}
        top["manifests"].append(desc)
    index_path.write_text(json.dumps(top, indent=2))
    return layout


@dataclass(frozen=True)
class LayoutRef:
    """A tag resolved inside an OCI layout."""

    descriptor: dict[str, Any]
    manifest_bytes: bytes

    @property
    def digest(self) -> str:
        digest: str = self.descriptor["digest"]
        return digest

    @property
    def media_type(self) -> str:
        return str(json.loads(self.manifest_bytes).get("mediaType", self.descriptor["mediaType"]))


def read_layout_blob(layout: Path, digest: str) -> bytes:
    algo, hexd = digest.split(":", 1)
    return (layout / "blobs" / algo / hexd).read_bytes()


def resolve_layout_tag(layout: Path, tag: str) -> LayoutRef:
    top = json.loads((layout / "index.json").read_text())
    for d in top["manifests"]:
        if d.get("annotations", {}).get(REF_NAME_ANNOTATION) == tag:
            return LayoutRef(descriptor=d, manifest_bytes=read_layout_blob(layout, d["digest"]))
    raise KeyError(f"tag {tag!r} not in {layout}/index.json")


def layout_blob_digests(layout: Path, digest: str) -> set[str]:
    """All digests reachable from manifest/index `digest` in a layout (itself included)."""
    seen: set[str] = set()
    stack = [digest]
    while stack:
        d = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        doc = json.loads(read_layout_blob(layout, d))
        for child in doc.get("manifests", []):
            stack.append(child["digest"])
        if "config" in doc:
            seen.add(doc["config"]["digest"])
        for layer in doc.get("layers", []):
            seen.add(layer["digest"])
    return seen


# --- pushing over raw HTTP ------------------------------------------------------------------
class PushError(AssertionError):
    pass


def _check(resp: httpx.Response, expected: Iterable[int], what: str) -> None:
    if resp.status_code not in set(expected):
        raise PushError(
            f"{what}: {resp.request.method} {resp.request.url} -> {resp.status_code} "
            f"{resp.headers.get('content-type', '')}\n{resp.text[:2000]}"
        )


def add_query(url: str, **params: str) -> str:
    """Append query parameters to `url`, keeping the ones it already has.

    (httpx's ``params=`` argument *replaces* an existing query string, which would drop
    upload-session state that registries put into the ``Location`` URL.)
    """
    sep = "&" if "?" in url else "?"
    return url + sep + urlencode(params)


def push_blob(
    client: httpx.Client, repo: str, blob: Blob | bytes, *, monolithic_post: bool = True
) -> str:
    """Upload a blob and return its digest.

    By default this tries a single monolithic ``POST /v2/<repo>/blobs/uploads/?digest=``
    with the body; a registry that answers 202 instead of 201 (allowed by the spec, e.g.
    CNCF distribution 2.8) gets the body again via ``PUT <Location>?digest=``.
    With ``monolithic_post=False``: empty POST, then ``PUT <Location>?digest=`` with the body.
    """
    data = blob.data if isinstance(blob, Blob) else blob
    digest = sha256_digest(data)
    base = f"/v2/{repo}/blobs/uploads/"
    headers = {"Content-Type": "application/octet-stream"}
    if monolithic_post:
        r = client.post(
            base,
            params={"digest": digest},
            content=data,
            headers={**headers, "Content-Length": str(len(data))},
        )
        _check(r, (201, 202), f"POST blob {digest}")
        if r.status_code == 201:
            return digest
    else:
        r = client.post(base, headers={"Content-Length": "0"})
        _check(r, (202,), "POST start upload")
    location = r.headers["Location"]
    r = client.put(
        add_query(location, digest=digest),
        content=data,
        headers={**headers, "Content-Length": str(len(data))},
    )
    _check(r, (201,), f"PUT blob {digest}")
    return digest


def push_manifest(
    client: httpx.Client,
    repo: str,
    reference: str,
    manifest: Blob | bytes,
    media_type: str | None = None,
) -> httpx.Response:
    """``PUT /v2/<repo>/manifests/<reference>``; returns the (201) response."""
    if isinstance(manifest, Blob):
        data = manifest.data
        media_type = media_type or manifest.media_type
    else:
        data = manifest
        media_type = media_type or json.loads(data).get("mediaType", OCI_MANIFEST)
    r = client.put(
        f"/v2/{repo}/manifests/{quote(reference, safe=':')}",
        content=data,
        headers={"Content-Type": str(media_type)},
    )
    _check(r, (201,), f"PUT manifest {reference}")
    return r


def push_image(
    client: httpx.Client, repo: str, image: Image | ImageIndex, tag: str | None = None
) -> str:
    """Push all blobs and manifests of an image or index; tag it if `tag`; return its digest."""
    images = image.images if isinstance(image, ImageIndex) else (image,)
    for img in images:
        for b in img.blobs:
            push_blob(client, repo, b)
        if isinstance(image, ImageIndex):
            push_manifest(client, repo, img.digest, img.manifest)
    push_manifest(client, repo, tag or image.digest, image.manifest)
    return image.digest


def get_manifest(client: httpx.Client, repo: str, reference: str) -> httpx.Response:
    r = client.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    _check(r, (200,), f"GET manifest {reference}")
    return r
