"""``dockyard gc`` beside a running server: deleted images' content goes, shared content stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.gc.helpers import blob_files, run_gc, usage
from tests.support.ecr import push_v2
from tests.support.images import Image, make_layer
from tests.support.lifecycle import (
    ago,
    image_digests,
    pull_and_verify,
    set_link_time,
    small_image,
)


def sizes(*images: Image) -> dict[str, int]:
    return {blob.digest: blob.size for image in images for blob in image.blobs}


def test_deleting_every_image_then_gc_frees_the_repository(
    ecr: Any, v2: httpx.Client, data_dir: Path
) -> None:
    ecr.create_repository(repositoryName="gc/doomed")
    ecr.create_repository(repositoryName="gc/kept")
    shared = make_layer("gc/shared", files=2)
    doomed = [small_image(f"doomed/{n}", shared, unique_layers=2) for n in range(3)]
    kept = small_image("kept", shared)
    for n, image in enumerate(doomed):
        push_v2(v2, "gc/doomed", image, f"v{n}")
    push_v2(v2, "gc/doomed", doomed[0], "latest")
    push_v2(v2, "gc/kept", kept, "v1")

    unique = sizes(*doomed).keys() - sizes(kept).keys()
    assert shared.digest not in unique and len(unique) == 3 * 3  # config + 2 layers each
    on_disk = blob_files(data_dir)
    assert sizes(*doomed, kept) == {d: on_disk[d] for d in sizes(*doomed, kept)}
    held = usage(data_dir)
    assert held["gc/doomed"] == sum(sizes(*doomed).values())
    assert held["gc/kept"] == sum(sizes(kept).values())

    # Nothing is garbage while the images exist.
    assert run_gc(data_dir, "--grace-period", "0", "--dry-run").blobs == 0

    ids = [{"imageDigest": image.digest} for image in doomed]
    deleted = ecr.batch_delete_image(repositoryName="gc/doomed", imageIds=ids)
    assert deleted["failures"] == []
    assert image_digests(ecr, "gc/doomed", status="ANY") == set()

    dry = run_gc(data_dir, "--grace-period", "0", "--dry-run")
    assert dry.dry_run
    assert blob_files(data_dir) == on_disk, "a dry run changed the blob store"
    real = run_gc(data_dir, "--grace-period", "0")
    assert not real.dry_run
    assert real.digests == dry.digests, "the dry run did not list what the real run freed"
    assert (real.blobs, real.bytes, real.links) == (dry.blobs, dry.bytes, dry.links)
    assert real.digests == unique
    assert real.bytes == sum(sizes(*doomed)[d] for d in unique)
    assert real.links == len(sizes(*doomed))  # the shared layer's link in gc/doomed too

    left = blob_files(data_dir)
    assert not unique & left.keys(), "freed blobs are still on disk"
    assert left.keys() == sizes(kept).keys()
    pull_and_verify(v2, "gc/kept", "v1", kept)
    assert usage(data_dir) == {"gc/doomed": 0, "gc/kept": sum(sizes(kept).values())}

    # A second pass finds nothing more.
    again = run_gc(data_dir, "--grace-period", "0")
    assert (again.blobs, again.links, again.orphans) == (0, 0, 0)
    pull_and_verify(v2, "gc/kept", "v1", kept)


def test_a_moved_tag_leaves_an_untagged_image_until_it_is_deleted(
    ecr: Any, v2: httpx.Client, data_dir: Path
) -> None:
    ecr.create_repository(repositoryName="gc/moving")
    shared = make_layer("gc/moving-base", files=2)
    old, new = small_image("old", shared, unique_layers=2), small_image("new", shared)
    push_v2(v2, "gc/moving", old, "latest")
    push_v2(v2, "gc/moving", new, "latest")

    # ECR keeps the untagged image: it is not garbage.
    assert image_digests(ecr, "gc/moving", tagStatus="UNTAGGED") == {old.digest}
    assert image_digests(ecr, "gc/moving", tagStatus="TAGGED") == {new.digest}
    assert run_gc(data_dir, "--grace-period", "0").blobs == 0
    pull_and_verify(v2, "gc/moving", old.digest, old)
    pull_and_verify(v2, "gc/moving", "latest", new)

    ecr.batch_delete_image(repositoryName="gc/moving", imageIds=[{"imageDigest": old.digest}])
    freed = run_gc(data_dir, "--grace-period", "0")
    assert freed.digests == sizes(old).keys() - sizes(new).keys()
    assert blob_files(data_dir).keys() == sizes(new).keys()
    pull_and_verify(v2, "gc/moving", "latest", new)
    assert usage(data_dir) == {"gc/moving": sum(sizes(new).values())}


def test_dry_run_matches_the_real_run_within_the_grace_period(
    ecr: Any, v2: httpx.Client, data_dir: Path
) -> None:
    """A pass that has just marked blobs: they are not freed yet, so a dry run must not say so."""
    ecr.create_repository(repositoryName="gc/marked")
    image = small_image("marked", unique_layers=2)
    push_v2(v2, "gc/marked", image, "v1")
    ecr.batch_delete_image(repositoryName="gc/marked", imageIds=[{"imageTag": "v1"}])
    # The image was pushed two hours ago: link times can't be set through the API, so move
    # them back in the server's database.
    for blob in image.blobs:
        set_link_time(data_dir, "gc/marked", blob.digest, ago(hours=2))

    first = run_gc(data_dir)  # default grace, 1 h: drops the stale links, marks the blobs
    assert first.links == len(image.blobs)
    assert first.blobs == 0  # marked just now: swept only once the grace period has passed
    dry = run_gc(data_dir, "--dry-run")
    real = run_gc(data_dir)
    assert real.digests == set(), "GC swept blobs marked less than the grace period ago"
    assert dry.digests == real.digests, (
        f"the dry run says it would free {sorted(dry.digests)}; the real run freed "
        f"{sorted(real.digests)}"
    )
    assert sizes(image).keys() <= blob_files(data_dir).keys()
    # With no grace period they go at once, and the dry run agrees.
    dry = run_gc(data_dir, "--grace-period", "0", "--dry-run")
    real = run_gc(data_dir, "--grace-period", "0")
    assert dry.digests == real.digests == sizes(image).keys()
    assert not sizes(image).keys() & blob_files(data_dir).keys()
