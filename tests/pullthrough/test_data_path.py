"""The pull-through cache's data path against real registries: a CNCF ``docker-registry``
upstream (open, and behind htpasswd Basic authentication), pulls through Dockyard's ``/v2``
with skopeo, and the cached image as the ECR API sees it.

The acceptance flow: ``aws ecr create-pull-through-cache-rule --ecr-repository-prefix hub
--upstream-registry-url <docker-registry>``, then ``skopeo copy docker://<dockyard>/hub/
library/alpine:3`` gives the upstream's digest, still does with the upstream stopped, an
uncached image then fails with a clear error, and ``describe-images`` lists the cached one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pullthrough.conftest import UPSTREAM_PASSWORD, UPSTREAM_USER
from tests.remote.peers import BearerFront, ThreadedServer
from tests.support.auth import dockyard_cli
from tests.support.authz import (
    READ_ONLY,
    allow,
    document,
    dumps,
    ecr_as,
    make_user,
    password_of,
    skopeo_pull,
    v2_client,
)
from tests.support.ecr import AwsCli, login_password, make_client
from tests.support.images import (
    MANIFEST_ACCEPT,
    Image,
    ImageIndex,
    make_image,
    make_multiarch_index,
    push_image,
)
from tests.support.podman import Podman
from tests.support.secrets import HtpasswdDistribution
from tests.support.servers import DistributionProcess, DockyardProcess
from tests.support.tools import skopeo
from tests.templates.helpers import LIFECYCLE, full_template, same_json

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def own_upstream(tmp_path: Path) -> Iterator[DistributionProcess]:
    """An upstream of the test's own, which the test may stop."""
    proc = DistributionProcess(tmp_path / "upstream", log_dir=tmp_path / "upstream-log")
    proc.start_ready()
    yield proc
    if proc.running:
        proc.stop()


def push_upstream(
    upstream: DistributionProcess, repository: str, image: Image | ImageIndex, tag: str
) -> str:
    auth = None
    if isinstance(upstream, HtpasswdDistribution):
        auth = (UPSTREAM_USER, UPSTREAM_PASSWORD)
    with httpx.Client(base_url=upstream.url, auth=auth, timeout=60) as client:
        return push_image(client, repository, image, tag)


def pull(server: DockyardProcess, ecr: Any, reference: str, dest: Path) -> Any:
    """``skopeo copy`` of ``<dockyard>/<reference>`` into an OCI layout; the result."""
    return skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        f"AWS:{login_password(ecr)}",
        f"docker://{server.host}/{reference}",
        f"oci:{dest}:latest",
        check=False,
    )


def literal_urls(aws: AwsCli) -> None:
    """aws-cli v1 fetches a parameter that looks like a URL and sends what it got; an
    upstream registry's URL must go as written (v2 never fetches)."""
    config = Path(aws.env["AWS_CONFIG_FILE"])
    text = config.read_text() if config.exists() else ""
    if "cli_follow_urlparam" not in text:
        config.write_text(
            "[default]\ncli_follow_urlparam = false\n" + text.replace("[default]\n", "")
        )


def layout_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text())
    return str(index["manifests"][0]["digest"])


def wait_for_images(ecr: Any, repository: str, count: int = 1, timeout: float = 30) -> Any:
    """The repository's images once ``count`` are stored (the cache stores in background)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            details = ecr.describe_images(repositoryName=repository)["imageDetails"]
        except ecr.exceptions.RepositoryNotFoundException:
            details = []
        if len(details) >= count or time.monotonic() > deadline:
            return details
        time.sleep(0.2)


def test_acceptance_hub_alpine_cached_served_when_the_upstream_is_gone(
    server: DockyardProcess,
    ecr: Any,
    aws: AwsCli,
    own_upstream: DistributionProcess,
    tmp_path: Path,
) -> None:
    image = make_image("acceptance-alpine", layers=2)
    digest = push_upstream(own_upstream, "library/alpine", image, "3")
    other = push_upstream(own_upstream, "library/busybox", make_image("busybox", 1), "1")
    assert other
    literal_urls(aws)
    aws(
        "create-pull-through-cache-rule",
        "--ecr-repository-prefix",
        "hub",
        "--upstream-registry-url",
        own_upstream.url,
    )
    try:
        first = pull(server, ecr, "hub/library/alpine:3", tmp_path / "first")
        assert first.returncode == 0, first.stderr
        assert layout_digest(tmp_path / "first") == digest

        details = wait_for_images(ecr, "hub/library/alpine")
        assert [d["imageDigest"] for d in details] == [digest]
        assert details[0]["imageTags"] == ["3"]
        listed = aws("describe-images", "--repository-name", "hub/library/alpine")
        assert [d["imageDigest"] for d in listed["imageDetails"]] == [digest]

        own_upstream.stop()
        again = pull(server, ecr, "hub/library/alpine:3", tmp_path / "again")
        assert again.returncode == 0, again.stderr
        assert layout_digest(tmp_path / "again") == digest

        missing = pull(server, ecr, "hub/library/busybox:1", tmp_path / "missing")
        assert missing.returncode != 0
        # containers/image shows only the status of a 5xx answer; its body says the rest.
        assert "503 Service Unavailable" in missing.stderr, missing.stderr
        answer = httpx.get(
            f"{server.url}/v2/hub/library/busybox/manifests/1",
            auth=("AWS", login_password(ecr)),
        )
        assert answer.status_code == 503
        error = answer.json()["errors"][0]
        assert error["code"] == "UNAVAILABLE"
        assert "hub/library/busybox:1 is not cached" in error["message"]
        assert f"upstream registry {own_upstream.host} is unavailable" in error["message"]
    finally:
        aws("delete-pull-through-cache-rule", "--ecr-repository-prefix", "hub")


def test_a_multi_arch_index_through_a_basic_auth_upstream(
    server: DockyardProcess,
    ecr: Any,
    basic_upstream: HtpasswdDistribution,
    prefix: str,
    secret: str,
    tmp_path: Path,
) -> None:
    index = make_multiarch_index(
        "ptc-multi", platforms=[("linux", "amd64"), ("linux", "arm64")], layers=1
    )
    digest = push_upstream(basic_upstream, "team/multi", index, "v1")
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=basic_upstream.url, credentialArn=secret
    )
    raw = skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        f"AWS:{login_password(ecr)}",
        f"docker://{server.host}/{prefix}/team/multi:v1",
    )
    assert json.loads(raw.stdout)["mediaType"] == index.manifest.json()["mediaType"]
    done = skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--src-creds",
        f"AWS:{login_password(ecr)}",
        f"docker://{server.host}/{prefix}/team/multi:v1",
        f"oci:{tmp_path / 'multi'}:latest",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert layout_digest(tmp_path / "multi") == digest
    details = wait_for_images(ecr, f"{prefix}/team/multi", count=3)
    assert {d["imageDigest"] for d in details} >= {digest, *(i.digest for i in index.images)}


def test_a_miss_needs_import_and_create_a_hit_only_pull(
    server: DockyardProcess,
    ecr: Any,
    iam: Any,
    upstream: DistributionProcess,
    prefix: str,
    tmp_path: Path,
) -> None:
    image = make_image(f"{prefix}-authz", layers=1)
    digest = push_upstream(upstream, "team/authz", image, "v1")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url)
    reader = password_of(ecr_as(server.url, make_user(iam, f"{prefix}-r", managed=(READ_ONLY,))))
    importer_policy = document(
        allow(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"]),
    )
    importer = password_of(
        ecr_as(server.url, make_user(iam, f"{prefix}-i", inline=dumps(importer_policy)))
    )
    repository = f"{prefix}/team/authz"

    refused = skopeo_pull(server.host, reader, repository, "v1", tmp_path)
    assert refused.returncode != 0
    with v2_client(server, reader) as v2:
        answer = v2.get(f"/v2/{repository}/manifests/v1")
    assert answer.status_code == 403
    assert "ecr:BatchImportUpstreamImage" in answer.json()["errors"][0]["message"]
    assert ecr.describe_repositories()["repositories"] == [
        r for r in ecr.describe_repositories()["repositories"] if r["repositoryName"] != repository
    ]

    (tmp_path / "i").mkdir()
    (tmp_path / "r").mkdir()
    allowed = skopeo_pull(server.host, importer, repository, "v1", tmp_path / "i")
    assert allowed.returncode == 0, allowed.stderr
    assert wait_for_images(ecr, repository)[0]["imageDigest"] == digest

    served = skopeo_pull(server.host, reader, repository, "v1", tmp_path / "r")
    assert served.returncode == 0, served.stderr


def test_a_tag_moved_upstream_is_seen_after_the_recheck_interval(
    tmp_path: Path, upstream: DistributionProcess, prefix: str
) -> None:
    proc = DockyardProcess(
        tmp_path / "data",
        log_dir=tmp_path / "log",
        open_access=False,
        env={"DOCKYARD_CACHE_RECHECK_INTERVAL": "2s"},
    )
    with proc.serving():
        ecr = make_client(proc.url)
        first = push_upstream(upstream, "team/moving", make_image(f"{prefix}-1", 1), "latest")
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url
        )
        repository = f"{prefix}/team/moving"
        with v2_client(proc, login_password(ecr)) as v2:

            def served() -> str:
                answer = v2.get(
                    f"/v2/{repository}/manifests/latest", headers={"Accept": MANIFEST_ACCEPT}
                )
                assert answer.status_code == 200, answer.text
                return str(answer.headers["Docker-Content-Digest"])

            assert served() == first
            wait_for_images(ecr, repository)
            second = push_upstream(upstream, "team/moving", make_image(f"{prefix}-2", 1), "latest")
            assert served() == first  # within the interval: not asked upstream
            time.sleep(2.5)
            assert served() == second
            details = wait_for_images(ecr, repository, count=2)
            tagged = {d["imageDigest"]: d.get("imageTags", []) for d in details}
            deadline = time.monotonic() + 20
            while tagged.get(second) != ["latest"] and time.monotonic() < deadline:
                time.sleep(0.2)
                details = ecr.describe_images(repositoryName=repository)["imageDetails"]
                tagged = {d["imageDigest"]: d.get("imageTags", []) for d in details}
            assert tagged == {first: [], second: ["latest"]}


def test_cache_status_counts_hits_misses_errors_and_bytes(
    server: DockyardProcess,
    ecr: Any,
    own_upstream: DistributionProcess,
    prefix: str,
    tmp_path: Path,
) -> None:
    image = make_image(f"{prefix}-status", layers=2)
    push_upstream(own_upstream, "team/counted", image, "v1")
    push_upstream(own_upstream, "team/never", make_image(f"{prefix}-never", 1), "v1")
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=own_upstream.url
    )
    assert pull(server, ecr, f"{prefix}/team/counted:v1", tmp_path / "1").returncode == 0
    wait_for_images(ecr, f"{prefix}/team/counted")
    assert pull(server, ecr, f"{prefix}/team/counted:v1", tmp_path / "2").returncode == 0
    own_upstream.stop()
    assert pull(server, ecr, f"{prefix}/team/never:v1", tmp_path / "3").returncode != 0

    deadline = time.monotonic() + 15  # each server process writes its hits every 2 s
    while True:
        rows = json.loads(dockyard_cli(server.data_dir, "cache", "status", "--json"))
        row = next(r for r in rows if r["ecrRepositoryPrefix"] == prefix)
        if row["hits"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert row["upstreamRegistryUrl"] == own_upstream.url
    assert row["misses"] == 1  # the first pull of team/counted:v1
    assert row["hits"] >= 1  # the second
    assert row["upstreamErrors"] == 1  # team/never with the upstream stopped
    assert own_upstream.host in row["lastError"]
    assert row["repositories"] == 1
    assert row["bytesStored"] == sum(b.size for b in image.blobs)  # as dockyard usage counts

    table = dockyard_cli(server.data_dir, "cache", "status")
    assert prefix in table and "upstream errors" in table


@pytest.mark.clients
def test_podman_pulls_through_the_cache_with_the_upstream_s_digest(
    server: DockyardProcess, ecr: Any, upstream: DistributionProcess, prefix: str
) -> None:
    image = make_image(f"{prefix}-podman", layers=2, max_file_size=8192)
    digest = push_upstream(upstream, "team/podman", image, "v1")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url)
    state = Path(tempfile.mkdtemp(prefix="dockyard-podman-"))  # podman wants a short runroot
    try:
        podman = Podman(state)
        remote = f"{server.host}/{prefix}/team/podman:v1"
        podman(
            "pull",
            "--tls-verify=false",
            "--signature-policy",
            podman.policy,
            "--creds",
            f"AWS:{login_password(ecr)}",
            remote,
        )
        info = json.loads(podman("image", "inspect", remote).stdout)[0]
        assert info["Digest"] == digest
        assert info["Id"] == image.config.hex
        assert info["RootFS"]["Layers"] == [layer.diff_id for layer in image.layers]
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_an_upstream_behind_token_auth(
    server: DockyardProcess, ecr: Any, sm: Any, prefix: str, tmp_path: Path
) -> None:
    """The upstream answers with a Bearer challenge (its token service is Dockyard's own
    ``GET /``, behind a front that words the challenge as token registries do): the rule's
    secret goes to the token service, the token to the registry."""
    password = login_password(ecr)
    source = f"{prefix}-src/app"
    ecr.create_repository(repositoryName=source)
    image = make_image(f"{prefix}-token", layers=1)
    with httpx.Client(base_url=server.url, auth=("AWS", password), timeout=60) as client:
        digest = push_image(client, source, image, "v1")
    value = {"username": "AWS", "accessToken": password}
    secret = sm.create_secret(
        Name=f"ecr-pullthroughcache/{prefix}", SecretString=json.dumps(value)
    )["ARN"]
    with ThreadedServer(BearerFront(server.url, f"{server.url}/")) as front:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=front.url, credentialArn=secret
        )
        done = pull(server, ecr, f"{prefix}/{source}:v1", tmp_path / "token")
        assert done.returncode == 0, done.stderr
        assert layout_digest(tmp_path / "token") == digest
        assert wait_for_images(ecr, f"{prefix}/{source}")[0]["imageDigest"] == digest


def test_a_blob_asked_for_before_any_manifest(
    server: DockyardProcess, ecr: Any, upstream: DistributionProcess, prefix: str
) -> None:
    """A client that knows a layer's digest asks for it first: the repository is created
    and the blob fetched, as a manifest miss would have done."""
    image = make_image(f"{prefix}-blob-first", layers=1)
    push_upstream(upstream, "team/blobfirst", image, "v1")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url)
    layer = image.layers[0]
    with v2_client(server, login_password(ecr)) as v2:
        head = v2.head(f"/v2/{prefix}/team/blobfirst/blobs/{layer.digest}")
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(layer.size)
        got = v2.get(f"/v2/{prefix}/team/blobfirst/blobs/{layer.digest}")
        assert got.status_code == 200
        assert got.content == layer.data
        unknown = v2.get(f"/v2/{prefix}/team/blobfirst/blobs/sha256:{'0' * 64}")
        assert unknown.status_code == 404
        assert unknown.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    named = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert f"{prefix}/team/blobfirst" in named


def test_a_cached_repository_is_made_by_its_template_scanned_and_under_its_lifecycle(
    server: DockyardProcess, ecr: Any, upstream: DistributionProcess, prefix: str, tmp_path: Path
) -> None:
    """The PULL_THROUGH_CACHE template's settings (a lifecycle policy among them) make the
    repository, and the cached image is scanned on push as a pushed one is."""
    ecr.create_repository_creation_template(**full_template(prefix, "PULL_THROUGH_CACHE"))
    before = ecr.get_registry_scanning_configuration()["scanningConfiguration"]
    rule = {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
        {"filter": f"{prefix}/*", "filterType": "WILDCARD"}
    ]}  # fmt: skip
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[rule])
    try:
        image = make_image(f"{prefix}-templated", layers=1)
        digest = push_upstream(upstream, "team/templated", image, "v1")
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url
        )
        repository = f"{prefix}/team/templated"
        assert pull(server, ecr, f"{repository}:v1", tmp_path / "t").returncode == 0
        made = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
        assert made["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        policy = ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
        assert same_json(policy, LIFECYCLE)
        assert wait_for_images(ecr, repository)[0]["imageDigest"] == digest
        deadline = time.monotonic() + 60
        while True:
            try:
                found = ecr.describe_image_scan_findings(
                    repositoryName=repository, imageId={"imageDigest": digest}
                )
                if found["imageScanStatus"]["status"] != "IN_PROGRESS":
                    break
            except ecr.exceptions.ScanNotFoundException:
                pass
            assert time.monotonic() < deadline, "the cached image was never scanned"
            time.sleep(0.5)
        assert found["imageScanStatus"]["status"] == "COMPLETE"
    finally:
        ecr.put_registry_scanning_configuration(**before)


def test_lifecycle_policies_expire_cached_images(
    tmp_path: Path, upstream: DistributionProcess, prefix: str
) -> None:
    """A cache cannot grow without bound: the template's lifecycle policy keeps one image,
    and the one a moved tag left behind is expired like any other."""
    keep_one = json.dumps({"rules": [{
        "rulePriority": 1,
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }]})  # fmt: skip
    proc = DockyardProcess(
        tmp_path / "data",
        log_dir=tmp_path / "log",
        open_access=False,
        env={"DOCKYARD_CACHE_RECHECK_INTERVAL": "1s"},
    )
    with proc.serving():
        ecr = make_client(proc.url)
        ecr.create_repository_creation_template(
            prefix=prefix, appliedFor=["PULL_THROUGH_CACHE"], lifecyclePolicy=keep_one
        )
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream.url
        )
        repository = f"{prefix}/team/expiring"
        push_upstream(upstream, "team/expiring", make_image(f"{prefix}-old", 1), "latest")
        assert pull(proc, ecr, f"{repository}:latest", tmp_path / "old").returncode == 0
        wait_for_images(ecr, repository)
        newer = push_upstream(upstream, "team/expiring", make_image(f"{prefix}-new", 1), "latest")
        time.sleep(1.2)
        assert pull(proc, ecr, f"{repository}:latest", tmp_path / "new").returncode == 0
        assert len(wait_for_images(ecr, repository, count=2)) == 2

        dockyard_cli(proc.data_dir, "lifecycle", "run", "--repository", repository)
        details = ecr.describe_images(repositoryName=repository)["imageDetails"]
        assert [d["imageDigest"] for d in details] == [newer]
        assert pull(proc, ecr, f"{repository}:latest", tmp_path / "again").returncode == 0
        assert layout_digest(tmp_path / "again") == newer
