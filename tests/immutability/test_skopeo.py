"""What a real client sees when it pushes over an immutable tag (skopeo)."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from tests.immutability.helpers import Target, immutable_message, tag_digest
from tests.support.images import make_image, write_oci_layout
from tests.support.tools import skopeo

pytestmark = [pytest.mark.clients, pytest.mark.timeout(120)]


def _authfile(path: Path, target: Target) -> Path:
    auth = base64.b64encode(f"AWS:{target.password}".encode()).decode()
    path.write_text(json.dumps({"auths": {target.server.host: {"auth": auth}}}))
    return path


@pytest.mark.parametrize("target_name", ["strict", "repush"])
def test_skopeo_copy_twice_to_an_immutable_tag(
    request: pytest.FixtureRequest, target_name: str, tmp_path: Path
) -> None:
    target: Target = request.getfixturevalue(target_name)
    repo = f"skopeo/{target_name}-{uuid.uuid4().hex[:6]}"
    target.create_repository(repo, "IMMUTABLE")
    first, second = make_image(f"skopeo-a/{repo}", layers=1), make_image(f"skopeo-b/{repo}", 1)
    layout = write_oci_layout(tmp_path / "layout", {"a": first, "b": second})
    authfile = _authfile(tmp_path / "auth.json", target)
    dest = f"docker://{target.server.host}/{repo}:v1"

    def copy(source: str, check: bool) -> str:
        done = skopeo(
            "copy", "--authfile", authfile, "--dest-tls-verify=false",
            f"oci:{layout}:{source}", dest, check=check,
        )  # fmt: skip
        assert (done.returncode == 0) == check, done.stderr
        return done.stderr

    copy("a", check=True)
    # The same image again: ECR's answer is an error; the idempotent setting accepts it.
    if target_name == "repush":
        copy("a", check=True)
    else:
        err = copy("a", check=False)
        assert "tag invalid" in err.lower() and immutable_message("v1", repo) in err, err
    # Another image: refused either way, and skopeo shows the registry's message.
    err = copy("b", check=False)
    assert "tag invalid" in err.lower() and immutable_message("v1", repo) in err, err
    with target.v2() as c:
        assert tag_digest(c, repo, "v1") == first.digest
