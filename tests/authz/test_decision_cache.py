"""The Authorizer's decision cache, with the stores replaced by counting fakes: one
evaluation per key per second however many requests ask at once, a fresh one after the
second or ``forget``, and a failed evaluation leaves waiting requests to decide themselves."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dockyard.domain.errors import AccessDenied
from dockyard.domain.identity import Caller, Principal, PrincipalKind
from dockyard.domain.names import RepositoryName
from dockyard.domain.records import RepositoryKey, Scope
from dockyard.services import authorization
from dockyard.services.authorization import Authorizer, repository_target

A = "111111111111"
KEY = RepositoryKey(Scope(A, "us-east-1"), RepositoryName.parse("team/app"))
USER = Caller(Principal(A, "ci", PrincipalKind.USER), "AKIAEXAMPLE")
PULL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}],
    }
)


class FakeStore:
    def __init__(self) -> None:
        self.reads = 0

    def repository_facts(self, key: RepositoryKey) -> None:
        self.reads += 1
        return None

    def registry_policy(self, scope: Scope) -> None:
        return None


class FakeSettings:
    async def get(self, scope: Scope, name: str) -> str:
        return "V2"


class Policies:
    def __init__(self) -> None:
        self.documents: list[tuple[str, str]] = [("pull", PULL)]
        self.calls = 0
        self.fail = False

    async def __call__(self, principal: Principal) -> list[tuple[str, str]]:
        self.calls += 1
        failing = self.fail
        await asyncio.sleep(0.01)
        if failing:
            raise RuntimeError("store down")
        return list(self.documents)


def _authorizer() -> tuple[Authorizer, Policies]:
    policies = Policies()
    return Authorizer(FakeStore(), FakeSettings(), policies, "us-east-1"), policies  # type: ignore[arg-type]


def test_one_evaluation_for_concurrent_requests_and_a_second_of_reuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authz, policies = _authorizer()
    target = repository_target("ecr:BatchGetImage", KEY)

    async def run() -> None:
        await asyncio.gather(*(authz.authorize(USER, target) for _ in range(32)))
        assert policies.calls == 1
        await authz.authorize(USER, target)
        assert policies.calls == 1
        # Revoked: still allowed until the entry lapses, refused after.
        policies.documents = []
        monkeypatch.setattr(authorization, "CACHE_SECONDS", 0.05)
        authz.forget()
        with pytest.raises(AccessDenied):
            await authz.authorize(USER, target)
        assert policies.calls == 2
        policies.documents = [("pull", PULL)]
        await asyncio.sleep(0.06)
        await authz.authorize(USER, target)
        assert policies.calls == 3

    asyncio.run(run())


def test_waiters_decide_themselves_when_the_first_evaluation_fails() -> None:
    authz, policies = _authorizer()
    target = repository_target("ecr:BatchGetImage", KEY)

    async def run() -> list[Any]:
        policies.fail = True
        first = asyncio.create_task(authz.authorize(USER, target))
        await asyncio.sleep(0)  # the first is evaluating now
        policies.fail = False
        others = [asyncio.create_task(authz.authorize(USER, target)) for _ in range(3)]
        return await asyncio.gather(first, *others, return_exceptions=True)

    results = asyncio.run(run())
    assert isinstance(results[0], RuntimeError)
    assert results[1:] == [None, None, None]
