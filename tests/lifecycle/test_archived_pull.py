"""A pull of an archived image says that it is archived, and how to restore it.

The answer stays what an OCI client expects of an image it cannot have (404
``MANIFEST_UNKNOWN``); the message names the image and gives the ``aws`` command that
restores it, and that command, run as written, does.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import httpx

from dockyard.domain.errors import ManifestArchived
from tests.support.ecr import AwsCli, push_v2
from tests.support.images import MANIFEST_ACCEPT
from tests.support.lifecycle import pull_and_verify, small_image, wait_for

RESTORE_COMMAND = re.compile(r"aws ecr update-image-storage-class [^;,]*?STANDARD")


def refused(v2: httpx.Client, repo: str, reference: str) -> dict[str, Any]:
    r = v2.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 404, r.text
    (error,) = r.json()["errors"]
    assert error["code"] == "MANIFEST_UNKNOWN"
    return dict(error)


def test_pull_of_an_archived_image_says_how_to_restore_it(
    ecr: Any, v2: httpx.Client, aws: AwsCli, repo: str
) -> None:
    image = small_image(f"{repo}/archived-pull")
    push_v2(v2, repo, image, "cold")
    ecr.update_image_storage_class(
        repositoryName=repo, imageId={"imageTag": "cold"}, targetStorageClass="ARCHIVE"
    )

    messages = []
    for reference in ("cold", image.digest):
        message = refused(v2, repo, reference)["message"]
        assert f"image {image.digest} in repository {repo} is archived" in message
        messages.append(message)
    head = v2.head(f"/v2/{repo}/manifests/cold", headers={"Accept": MANIFEST_ACCEPT})
    assert head.status_code == 404
    # A missing tag beside it is still plainly unknown.
    assert "archived" not in refused(v2, repo, "no-such-tag")["message"]

    found = RESTORE_COMMAND.search(messages[0])
    assert found, messages[0]
    words = shlex.split(found.group(0))
    assert words[:3] == ["aws", "ecr", "update-image-storage-class"]
    restored = aws(*words[2:])
    assert restored["imageStatus"] in ("ACTIVATING", "ACTIVE")

    def pullable() -> bool:
        r = v2.get(f"/v2/{repo}/manifests/cold", headers={"Accept": MANIFEST_ACCEPT})
        if r.status_code == 404:
            # While the restore runs the message says so.
            assert "is being restored" in r.json()["errors"][0]["message"], r.text
        return r.status_code == 200

    wait_for("the restored image to be pullable", pullable)
    pull_and_verify(v2, repo, "cold", image)


def test_message_while_restoring() -> None:
    digest = "sha256:" + "ab" * 32
    error = ManifestArchived("v1", "team/app", digest, "ACTIVATING")
    assert error.describe() == (
        f"image {digest} in repository team/app is being restored from the archive; "
        "pull it again when its imageStatus is ACTIVE"
    )
