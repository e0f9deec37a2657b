"""The grace period: content a push has uploaded but not yet referenced is not garbage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.gc.helpers import blob_files, run_gc
from tests.support.ecr import push_v2
from tests.support.images import OCI_MANIFEST, make_layer, push_blob, push_manifest
from tests.support.lifecycle import ago, oci_error, pull_and_verify, set_link_time, small_image


def test_uploaded_blobs_wait_for_their_manifest(ecr: Any, v2: httpx.Client, data_dir: Path) -> None:
    ecr.create_repository(repositoryName="gc/slow-push")
    first, second = small_image("first", unique_layers=2), small_image("second", unique_layers=2)
    for blob in first.blobs + second.blobs:
        push_blob(v2, "gc/slow-push", blob)  # POST ?digest=, no manifest yet
    digests = {b.digest for b in first.blobs + second.blobs}
    assert digests <= blob_files(data_dir).keys()

    # The default grace period (1 h) covers them, dry run or not.
    assert run_gc(data_dir, "--dry-run").blobs == 0
    report = run_gc(data_dir)
    assert (report.blobs, report.links) == (0, 0)
    assert digests <= blob_files(data_dir).keys()
    push_manifest(v2, "gc/slow-push", "first", first.manifest)
    pull_and_verify(v2, "gc/slow-push", "first", first)

    # A grace period of 0 frees what nothing references yet (only for a quiet registry).
    unreferenced = {b.digest for b in second.blobs}
    report = run_gc(data_dir, "--grace-period", "0")
    assert report.digests == unreferenced
    assert report.links == len(unreferenced)
    assert not unreferenced & blob_files(data_dir).keys()
    r = v2.put(
        "/v2/gc/slow-push/manifests/second",
        content=second.manifest.data,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert r.status_code == 400 and oci_error(r) == "MANIFEST_BLOB_UNKNOWN", r.text
    pull_and_verify(v2, "gc/slow-push", "first", first)


def test_re_uploading_an_old_blob_renews_its_grace(
    ecr: Any, v2: httpx.Client, data_dir: Path
) -> None:
    """A repository pushes a layer it held long ago (its old image deleted) again.

    The re-upload is as fresh as a first upload: the default grace period must cover it
    until the manifest arrives, as it covers any blob a push has uploaded.
    """
    ecr.create_repository(repositoryName="gc/again")
    base = make_layer("gc/again-base", files=2)
    old, new = small_image("old", base), small_image("new", base)
    push_v2(v2, "gc/again", old, "v1")
    ecr.batch_delete_image(repositoryName="gc/again", imageIds=[{"imageTag": "v1"}])
    # The old image was pushed two hours ago: link times can't be set through the API,
    # so move them back in the server's database.
    for blob in old.blobs:
        set_link_time(data_dir, "gc/again", blob.digest, ago(hours=2))

    # Now a client pushes the new image: every blob, then (after a GC pass) the manifest.
    for blob in new.blobs:
        push_blob(v2, "gc/again", blob)
    report = run_gc(data_dir)  # the default grace period: 1 hour
    assert base.digest not in report.digests, "GC freed a layer a push had just uploaded"
    assert base.digest in blob_files(data_dir)
    push_manifest(v2, "gc/again", "v2", new.manifest)
    pull_and_verify(v2, "gc/again", "v2", new)


def test_a_blob_a_client_was_told_exists_keeps_its_link(
    ecr: Any, v2: httpx.Client, data_dir: Path
) -> None:
    """A client HEADs a layer, hears 200 and skips uploading it: GC must not then drop it.

    The repository's link is old and (its image deleted) unreferenced, so only the HEAD
    says a manifest is coming; it restarts the link's grace period.
    """
    ecr.create_repository(repositoryName="gc/probed")
    base = make_layer("gc/probed-base", files=2)
    old, new = small_image("old", base), small_image("new", base)
    push_v2(v2, "gc/probed", old, "v1")
    ecr.batch_delete_image(repositoryName="gc/probed", imageIds=[{"imageTag": "v1"}])
    for blob in old.blobs:  # as if pushed two hours ago (see the test above)
        set_link_time(data_dir, "gc/probed", blob.digest, ago(hours=2))

    head = v2.head(f"/v2/gc/probed/blobs/{base.digest}")
    assert head.status_code == 200  # so the client skips this layer
    for blob in new.blobs:
        if blob.digest != base.digest:
            push_blob(v2, "gc/probed", blob)
    report = run_gc(data_dir)
    assert base.digest not in report.digests, "GC freed a layer a client was told exists"
    push_manifest(v2, "gc/probed", "v2", new.manifest)
    pull_and_verify(v2, "gc/probed", "v2", new)
