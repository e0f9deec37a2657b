"""Authenticating as each registry's challenge asks: Basic (docker-registry's htpasswd) and
the Bearer token flow (Dockyard's token endpoint), with tokens cached per scope."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest
from tests.remote.conftest import BASIC_PASSWORD, BASIC_USER, BearerDockyard, run
from tests.remote.peers import HtpasswdDistribution, Recorder, push_with_skopeo
from tests.support.auth import dockyard_cli, ecr_client, login_password, new_user_key
from tests.support.images import make_image
from tests.support.servers import Registry

from dockyard.remote import (
    Credentials,
    RegistryClient,
    RemoteSink,
    RemoteSource,
    RemoteUnauthorized,
    copy_image,
)

pytestmark = pytest.mark.timeout(180)


def _repo(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def test_basic_auth(
    basic_distribution: HtpasswdDistribution, distribution_registry: Registry, work_dir: Path
) -> None:
    image = make_image(f"remote-basic-{uuid.uuid4()}", layers=2)
    source, target = _repo("basic"), _repo("basic")
    push_with_skopeo(distribution_registry.host, source, "v1", image, work_dir)
    right = Credentials(BASIC_USER, BASIC_PASSWORD)

    async def go() -> None:
        async with (
            RegistryClient(distribution_registry.url) as plain,
            RegistryClient(basic_distribution.url, right) as guarded,
        ):
            await guarded.ping()
            result = await copy_image(
                RemoteSource(plain, source), RemoteSink(guarded, target), "v1"
            )
            assert str(result.digest) == image.digest
            assert guarded.token_requests == 0  # Basic: no token service involved
            back = await guarded.get_manifest(target, "v1")
            assert back.payload == image.manifest.data

        wrong = Credentials(BASIC_USER, BASIC_PASSWORD + "x")
        for credentials in (wrong, Credentials("nobody", BASIC_PASSWORD), None):
            async with RegistryClient(basic_distribution.url, credentials) as refused:
                with pytest.raises(RemoteUnauthorized) as caught:
                    await refused.get_manifest(target, "v1")
                assert BASIC_PASSWORD not in str(caught.value)
                with pytest.raises(RemoteUnauthorized):
                    await refused.ping()

    run(go())


def _create(bearer: BearerDockyard, *names: str) -> None:
    ecr = ecr_client(bearer.process.url)
    for name in names:
        ecr.create_repository(repositoryName=name)


def test_bearer_tokens_cached_per_scope(
    bearer_dockyard: BearerDockyard,
    distribution_registry: Registry,
    work_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One token per scope however many requests (and concurrent blobs) use it; a new one
    when it expires; never a credential or token in a log line or an error."""
    caplog.set_level(logging.DEBUG)
    image = make_image(f"remote-bearer-{uuid.uuid4()}", layers=5)
    source, target, other = _repo("src"), _repo("bearer"), _repo("bearer")
    _create(bearer_dockyard, target, other)
    push_with_skopeo(distribution_registry.host, source, "v1", image, work_dir)
    credentials = Credentials("AWS", bearer_dockyard.password)
    now = [1000.0]
    wire = Recorder()
    before = bearer_dockyard.token_requests()

    async def go() -> None:
        async with (
            RegistryClient(distribution_registry.url) as plain,
            RegistryClient(
                bearer_dockyard.url, credentials, clock=lambda: now[0], transport=wire
            ) as dock,
        ):
            result = await copy_image(
                RemoteSource(plain, source), RemoteSink(dock, target), "v1", concurrency=4
            )
            assert result.blobs_copied == 6
            # Pull and push of one repository share one scope: one token did all of it.
            assert dock.token_requests == 1
            again = await copy_image(RemoteSource(plain, source), RemoteSink(dock, target), "v1")
            assert again.blobs_skipped == 6
            assert dock.token_requests == 1
            # Another repository is another scope: its own token, then reused.
            await copy_image(RemoteSource(plain, source), RemoteSink(dock, other), "v1")
            assert dock.token_requests == 2
            # Past expires_in (Dockyard's bearer tokens last an hour), a new one is fetched.
            now[0] += 3600
            await copy_image(RemoteSource(plain, source), RemoteSink(dock, target), "v1")
            assert dock.token_requests == 3
            # A reader's scope is pull only: a token of its own.
            fetched = await dock.get_manifest(target, "v1")
            assert fetched.payload == image.manifest.data
            assert dock.token_requests == 4

    run(go())
    assert bearer_dockyard.token_requests() - before == 4  # as counted by Dockyard
    sent = {s.authorization.split(" ", 1)[1] for s in wire.seen if s.authorization}
    assert len(sent) == 4 + 1  # the four tokens, and the Basic credentials that got them
    assert "HTTP Request: PUT" in caplog.text  # the requests were logged, without these:
    for secret in (bearer_dockyard.password, *sent):
        assert secret not in caplog.text


def test_bearer_wrong_password(bearer_dockyard: BearerDockyard) -> None:
    async def go() -> None:
        wrong = Credentials("AWS", bearer_dockyard.password[:-4] + "AAAA")
        async with RegistryClient(bearer_dockyard.url, wrong) as client:
            with pytest.raises(RemoteUnauthorized, match="token service refused"):
                await client.get_manifest("any/repository", "v1")
            assert client.token_requests == 1
        async with RegistryClient(bearer_dockyard.url) as anonymous:
            with pytest.raises(RemoteUnauthorized):
                await anonymous.ping()

    run(go())


def test_refused_token_is_challenged_again_once(bearer_dockyard: BearerDockyard) -> None:
    """A cached token the registry stops accepting (here: its access key disabled) makes the
    client fetch a new one once; the token service's refusal then ends it as unauthorized."""
    data_dir = bearer_dockyard.process.data_dir
    user = f"remote-{uuid.uuid4().hex[:8]}"
    key = new_user_key(data_dir, user)
    credentials = Credentials("AWS", login_password(bearer_dockyard.process.url, key))

    async def go() -> None:
        async with RegistryClient(bearer_dockyard.url, credentials) as client:
            await client.ping()
            assert client.token_requests == 1
            dockyard_cli(data_dir, "iam", "update-access-key", key[0], "--status", "Inactive")
            refused = False
            for _ in range(50):  # the server sees the key's new status within a second
                try:
                    await client.ping()
                except RemoteUnauthorized as exc:
                    assert "token service refused" in str(exc)
                    refused = True
                    break
                assert client.token_requests == 1
                await asyncio.sleep(0.1)
            assert refused
            assert client.token_requests == 2

    run(go())
