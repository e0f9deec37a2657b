"""Several worker processes over one metadata database (SQLite, PostgreSQL): races between
processes are decided by the database, never by a lock inside one of them.

Every request goes on a connection of its own, so the kernel hands each to any worker.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.auth import ROOT_KEY, basic, login_password
from tests.support.authz import ecr_as
from tests.support.images import make_image, sha256_digest
from tests.support.postgres import new_database
from tests.support.servers import DockyardProcess, fresh_request

pytestmark = pytest.mark.timeout(180)
WORKERS = 3
CLIENTS = 12


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, database_engine: str
) -> Iterator[DockyardProcess]:
    """One server per engine for the module: each test works in repositories of its own."""
    proc = DockyardProcess(
        tmp_path_factory.mktemp("workers-data"),
        extra_args=["--workers", str(WORKERS)],
        open_access=False,
        database_url=new_database(request, database_engine).url,
    )
    proc.start_ready(timeout=60)
    yield proc
    if proc.running:
        proc.stop_cleanly()


def at_once(call: Any, arguments: list[Any]) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(call, arguments))


def test_one_blob_pushed_at_once_through_every_worker(server: DockyardProcess) -> None:
    """Monolithic and chunked pushes of one blob, to one repository and to several."""
    ecr = ecr_as(server.url, ROOT_KEY)
    repositories = ["same/a", "same/b", "same/c"]
    for name in repositories:
        ecr.create_repository(repositoryName=name)
    auth = basic(login_password(server.url))
    data = os.urandom(600_000)
    digest = sha256_digest(data)

    def push(n: int) -> int:
        repo = repositories[n % len(repositories)]
        if n % 2:  # monolithic
            return fresh_request(
                "POST",
                f"{server.url}/v2/{repo}/blobs/uploads/?digest={digest}",
                content=data,
                headers={**auth, "Content-Type": "application/octet-stream"},
            ).status_code
        started = fresh_request("POST", f"{server.url}/v2/{repo}/blobs/uploads/", headers=auth)
        location = server.url + started.headers["Location"]
        half = len(data) // 2
        for start, piece in ((0, data[:half]), (half, data[half:])):
            r = fresh_request(
                "PATCH",
                location,
                content=piece,
                headers={
                    **auth,
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + len(piece) - 1}",
                },
            )
            assert r.status_code == 202, r.text
            location = server.url + r.headers["Location"]
        sep = "&" if "?" in location else "?"
        return fresh_request("PUT", f"{location}{sep}digest={digest}", headers=auth).status_code

    assert at_once(push, list(range(CLIENTS))) == [201] * CLIENTS
    for repo in repositories:
        pulled = fresh_request("GET", f"{server.url}/v2/{repo}/blobs/{digest}", headers=auth)
        assert pulled.status_code == 200 and pulled.content == data


def test_pushes_of_one_tag_through_every_worker(server: DockyardProcess) -> None:
    """To an immutable tag exactly one push wins; the same image pushed by every client is
    stored once; a mutable tag ends on one of the images pushed to it."""
    ecr = ecr_as(server.url, ROOT_KEY)
    ecr.create_repository(repositoryName="tags/frozen", imageTagMutability="IMMUTABLE")
    ecr.create_repository(repositoryName="tags/moving")
    auth = basic(login_password(server.url))
    images = [make_image(f"tag-race-{i}", layers=1) for i in range(CLIENTS)]
    with httpx.Client(base_url=server.url, headers=auth, timeout=60) as client:
        for repo in ("tags/frozen", "tags/moving"):
            for image in images:
                for blob in [image.config, *image.layers]:
                    r = client.post(
                        f"/v2/{repo}/blobs/uploads/?digest={blob.digest}",
                        content=blob.data,
                        headers={"Content-Type": "application/octet-stream"},
                    )
                    assert r.status_code == 201, r.text

    def put(repo: str, tag: str, image: Any) -> int:
        return fresh_request(
            "PUT",
            f"{server.url}/v2/{repo}/manifests/{tag}",
            content=image.manifest.data,
            headers={**auth, "Content-Type": image.manifest.media_type},
        ).status_code

    frozen = at_once(lambda image: put("tags/frozen", "v1", image), images)
    assert frozen.count(201) == 1 and set(frozen) <= {201, 400}, frozen
    same = at_once(lambda _: put("tags/moving", "same", images[0]), list(range(CLIENTS)))
    assert same == [201] * CLIENTS
    moving = at_once(lambda image: put("tags/moving", "latest", image), images)
    assert moving == [201] * CLIENTS

    details = ecr.describe_images(repositoryName="tags/frozen")["imageDetails"]
    assert [d["imageTags"] for d in details if d.get("imageTags")] == [["v1"]]
    details = ecr.describe_images(repositoryName="tags/moving")["imageDetails"]
    assert len(details) == CLIENTS  # the image pushed by every client is one image
    tagged = {t: d["imageDigest"] for d in details for t in d.get("imageTags", [])}
    assert tagged["same"] == images[0].digest
    assert tagged["latest"] in {image.digest for image in images}


def test_one_repository_created_at_once_through_every_worker(server: DockyardProcess) -> None:
    def create(_: int) -> str:
        client = ecr_as(server.url, ROOT_KEY)
        try:
            client.create_repository(repositoryName="created/once")
        except client.exceptions.RepositoryAlreadyExistsException:
            return "exists"
        return "created"

    outcomes = at_once(create, list(range(CLIENTS)))
    assert sorted(outcomes) == ["created"] + ["exists"] * (CLIENTS - 1), outcomes
