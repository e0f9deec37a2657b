"""End-to-end tests with oras-py: artifacts with a ``subject`` and the referrers API.

oras-py 0.2.x can attach a ``subject`` (``Registry.push(subject=oras.oci.Subject(...))``)
but has no way to set a manifest-level ``artifactType``; its artifacts carry their type in
``config.mediaType``. So two artifacts are attached to the same image:

* ``sbom``: pushed entirely by ``oras.provider.Registry.push`` with a custom config media
  type; the referrers API must report that config media type as its ``artifactType``.
* ``signature``: its blobs are uploaded with oras-py (``upload_blob``) but its manifest,
  which has an explicit ``artifactType`` and the OCI empty config, is built here and
  uploaded by digest with oras-py's ``upload_manifest``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oras.defaults
import oras.oci
import oras.provider
import pytest

from tests.support.images import (
    EMPTY_JSON,
    MANIFEST_ACCEPT,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    make_image,
    push_image,
    sha256_digest,
)
from tests.support.servers import Registry

pytestmark = [pytest.mark.clients, pytest.mark.timeout(120)]

SBOM_CONFIG_TYPE = "application/vnd.dockyard.test.sbom.config.v1+json"
SBOM_LAYER_TYPE = "application/vnd.dockyard.test.sbom.v1+json"
SIG_ARTIFACT_TYPE = "application/vnd.dockyard.test.signature.v1"
SIG_LAYER_TYPE = "application/vnd.dockyard.test.signature.v1+octet-stream"
TITLE = oras.defaults.annotation_title


@dataclass(frozen=True)
class Pushed:
    subject: Image
    sbom_digest: str
    sbom_size: int
    sbom_bytes: bytes
    sbom_put_headers: httpx.Headers
    sig_digest: str
    sig_size: int
    sig_bytes: bytes
    sig_put_headers: httpx.Headers


def oras_client(registry: Registry) -> oras.provider.Registry:
    return oras.provider.Registry(hostname=registry.host, insecure=True)


def push_artifacts(registry: Registry, repo: str, work: Path) -> Pushed:
    # 1. The subject: an ordinary image, pushed over raw HTTP.
    subject = make_image(f"oras-subject-{repo}", layers=2)
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        push_image(http, repo, subject, tag="app")
    subject_desc = oras.oci.Subject(
        mediaType=OCI_MANIFEST, digest=subject.digest, size=subject.manifest.size
    )
    client = oras_client(registry)

    # 2. The "sbom" artifact, entirely via oras-py's push().
    sbom_dir = work / "sbom"
    sbom_dir.mkdir(parents=True)
    sbom_bytes = json.dumps({"packages": [{"name": "dockyard", "repo": repo}]}).encode()
    (sbom_dir / "sbom.json").write_bytes(sbom_bytes)
    (sbom_dir / "config.json").write_bytes(b'{"tool":"dockyard-tests"}')
    resp = client.push(
        target=f"{registry.host}/{repo}:sbom",
        files=[f"{sbom_dir / 'sbom.json'}:{SBOM_LAYER_TYPE}"],
        manifest_config=f"{sbom_dir / 'config.json'}:{SBOM_CONFIG_TYPE}",
        manifest_annotations={"org.dockyard.test.kind": "sbom"},
        subject=subject_desc,  # annotated as str in oras-py, but a Subject is what it wants
        disable_path_validation=True,
        quiet=True,
    )
    assert resp.status_code == 201, resp.text
    sbom_digest = resp.headers["Docker-Content-Digest"]

    # 3. The "signature" artifact: blobs via oras-py, hand-built manifest with artifactType.
    sig_dir = work / "sig"
    sig_dir.mkdir(parents=True)
    sig_bytes = hashlib.sha512(repo.encode()).digest() * 4
    sig_path = sig_dir / "signature.bin"
    sig_path.write_bytes(sig_bytes)
    empty_path = sig_dir / "empty.json"
    empty_path.write_bytes(EMPTY_JSON)
    container = client.get_container(f"{registry.host}/{repo}:unused")
    layer = oras.oci.NewLayer(str(sig_path), media_type=SIG_LAYER_TYPE)
    layer["annotations"] = {TITLE: sig_path.name}
    config = {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": 2}
    for path, desc in ((sig_path, layer), (empty_path, config)):
        r = client.upload_blob(str(path), container, desc)
        assert r.status_code in (200, 201), r.text
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIG_ARTIFACT_TYPE,
        "config": config,
        "layers": [layer],
        "subject": {
            "mediaType": OCI_MANIFEST,
            "digest": subject.digest,
            "size": subject.manifest.size,
        },
        "annotations": {"org.dockyard.test.kind": "signature"},
    }
    # upload_manifest() sends requests' json= encoding, i.e. json.dumps() defaults.
    sig_manifest_bytes = json.dumps(manifest).encode()
    sig_digest = sha256_digest(sig_manifest_bytes)
    r = client.upload_manifest(
        manifest, client.get_container(f"{registry.host}/{repo}@{sig_digest}")
    )
    assert r.status_code == 201, r.text
    assert r.headers["Docker-Content-Digest"] == sig_digest

    with httpx.Client(base_url=registry.url, timeout=30) as http:
        got = http.get(f"/v2/{repo}/manifests/sbom", headers={"Accept": MANIFEST_ACCEPT})
        assert got.status_code == 200
        sbom_size = len(got.content)
    return Pushed(
        subject=subject,
        sbom_digest=sbom_digest,
        sbom_size=sbom_size,
        sbom_bytes=sbom_bytes,
        sbom_put_headers=httpx.Headers(dict(resp.headers)),
        sig_digest=sig_digest,
        sig_size=len(sig_manifest_bytes),
        sig_bytes=sig_bytes,
        sig_put_headers=httpx.Headers(dict(r.headers)),
    )


def test_oras_artifact_with_subject_push_pull(
    registry: Registry, repo_name: str, http: httpx.Client, tmp_path: Path
) -> None:
    pushed = push_artifacts(registry, repo_name, tmp_path / "push")

    # The registry stores the manifests byte for byte, subject included.
    r = http.get(f"/v2/{repo_name}/manifests/sbom", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 200
    assert r.headers["Docker-Content-Digest"] == pushed.sbom_digest
    assert sha256_digest(r.content) == pushed.sbom_digest
    sbom_manifest = r.json()
    assert sbom_manifest["config"]["mediaType"] == SBOM_CONFIG_TYPE
    assert sbom_manifest["subject"]["digest"] == pushed.subject.digest
    r = http.get(
        f"/v2/{repo_name}/manifests/{pushed.sig_digest}", headers={"Accept": MANIFEST_ACCEPT}
    )
    assert r.status_code == 200
    assert r.json()["artifactType"] == SIG_ARTIFACT_TYPE
    assert r.json()["subject"]["digest"] == pushed.subject.digest

    # Pull both artifacts back with oras-py and compare the payload bytes.
    client = oras_client(registry)
    out = tmp_path / "pull-sbom"
    files = client.pull(target=f"{registry.host}/{repo_name}:sbom", outdir=str(out))
    assert [Path(f).name for f in files] == ["sbom.json"]
    assert Path(files[0]).read_bytes() == pushed.sbom_bytes
    out = tmp_path / "pull-sig"
    files = client.pull(target=f"{registry.host}/{repo_name}@{pushed.sig_digest}", outdir=str(out))
    assert [Path(f).name for f in files] == ["signature.bin"]
    assert Path(files[0]).read_bytes() == pushed.sig_bytes


def test_oras_chunked_upload(registry: Registry, repo_name: str, tmp_path: Path) -> None:
    """oras-py's chunked upload: POST, several PATCHes with Content-Range, then PUT."""
    payload = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(80_000))  # 2.5 MB
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_bytes(payload)
    client = oras_client(registry)
    resp = client.push(
        target=f"{registry.host}/{repo_name}:chunked",
        files=[f"{src / 'data.bin'}:application/vnd.dockyard.test.data"],
        do_chunked=True,
        chunk_size=1 << 20,
        disable_path_validation=True,
        quiet=True,
    )
    assert resp.status_code == 201, resp.text

    r = httpx.get(f"{registry.url}/v2/{repo_name}/blobs/{sha256_digest(payload)}", timeout=30)
    assert r.status_code == 200
    assert r.content == payload
    files = client.pull(target=f"{registry.host}/{repo_name}:chunked", outdir=str(tmp_path / "out"))
    assert [Path(f).read_bytes() for f in files] == [payload]


# The referrers API (`GET /v2/<name>/referrers/<digest>`, distribution-spec v1.1) does not
# exist in CNCF distribution 2.8 (it answers 404), so this runs against Dockyard only.
@pytest.mark.parametrize("registry", ["dockyard"], indirect=True)
def test_oras_referrers_api(registry: Registry, repo_name: str, tmp_path: Path) -> None:
    pushed = push_artifacts(registry, repo_name, tmp_path / "push")
    subject = pushed.subject.digest

    # A registry that supports `subject` says so on the manifest PUT response.
    assert pushed.sbom_put_headers.get("OCI-Subject") == subject
    assert pushed.sig_put_headers.get("OCI-Subject") == subject

    with httpx.Client(base_url=registry.url, timeout=30) as http:
        r = http.get(f"/v2/{repo_name}/referrers/{subject}")
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].split(";")[0] == OCI_INDEX
        index = r.json()
        assert index["schemaVersion"] == 2
        assert index["mediaType"] == OCI_INDEX
        by_digest = {d["digest"]: d for d in index["manifests"]}
        assert set(by_digest) == {pushed.sbom_digest, pushed.sig_digest}

        sbom = by_digest[pushed.sbom_digest]
        assert sbom["mediaType"] == OCI_MANIFEST
        assert sbom["size"] == pushed.sbom_size
        # No manifest-level artifactType: the config media type stands in for it.
        assert sbom["artifactType"] == SBOM_CONFIG_TYPE
        assert sbom["annotations"]["org.dockyard.test.kind"] == "sbom"

        sig = by_digest[pushed.sig_digest]
        assert sig["mediaType"] == OCI_MANIFEST
        assert sig["size"] == pushed.sig_size
        assert sig["artifactType"] == SIG_ARTIFACT_TYPE
        assert sig["annotations"] == {"org.dockyard.test.kind": "signature"}

        # Filtering by artifactType.
        r = http.get(
            f"/v2/{repo_name}/referrers/{subject}", params={"artifactType": SIG_ARTIFACT_TYPE}
        )
        assert r.status_code == 200, r.text
        assert [d["digest"] for d in r.json()["manifests"]] == [pushed.sig_digest]
        assert "artifactType" in r.headers.get("OCI-Filters-Applied", "")
        r = http.get(
            f"/v2/{repo_name}/referrers/{subject}", params={"artifactType": SBOM_CONFIG_TYPE}
        )
        assert r.status_code == 200, r.text
        assert [d["digest"] for d in r.json()["manifests"]] == [pushed.sbom_digest]
        r = http.get(
            f"/v2/{repo_name}/referrers/{subject}",
            params={"artifactType": "application/vnd.dockyard.test.none"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["manifests"] == []

        # An image nobody refers to has an empty (not 404) referrers list.
        r = http.get(f"/v2/{repo_name}/referrers/{sha256_digest(b'no such manifest')}")
        assert r.status_code == 200, r.text
        assert r.json()["manifests"] == []

    # Follow the referrers result back to the payload with oras-py.
    client = oras_client(registry)
    files = client.pull(
        target=f"{registry.host}/{repo_name}@{sig['digest']}", outdir=str(tmp_path / "pull")
    )
    assert len(files) == 1
    assert Path(files[0]).read_bytes() == pushed.sig_bytes
