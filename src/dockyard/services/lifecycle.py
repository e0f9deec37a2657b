"""Lifecycle policies: store, preview, run; archive and restore images.

Evaluation is the pure ``domain.lifecycle.evaluate``; this module loads its
inputs, applies its decisions through the one delete door, and records every
action. A preview and a run call the same function on the same inputs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    ContentReferenced,
    ExclusionExists,
    ExclusionNotFound,
    LifecyclePolicyNotFound,
    LifecyclePreviewNotFound,
    ManifestUnknown,
)
from dockyard.domain.lifecycle import ActionType, Decision, LifecycleImage, evaluate, parse_policy
from dockyard.domain.records import ImageId, RepositoryKey, Scope
from dockyard.metadata import ImageFacts, LifecycleStore, StoredPolicy, StoredPreview
from dockyard.services.deletion import Deleter, ManifestTarget
from dockyard.services.images import Images
from dockyard.services.job_payloads import ActivatePayload
from dockyard.services.jobs import Jobs
from dockyard.services.threads import blocking


@dataclass(frozen=True, slots=True)
class Applied:
    digest: str
    tags: tuple[str, ...]
    action: str
    rule_priority: int


def _image(facts: ImageFacts) -> LifecycleImage:
    return LifecycleImage(
        digest=facts.digest,
        tags=facts.tags,
        pushed_at=facts.pushed_at,
        last_pulled_at=facts.last_pulled_at,
        storage_class="archive" if facts.status == "ARCHIVED" else "standard",
        archived_at=facts.archived_at,
        restored_at=facts.activated_at,
        parents=facts.parents,
        subject=facts.subject,
    )


def _preview_result(decision: Decision, facts: ImageFacts) -> dict[str, Any]:
    action: dict[str, Any] = {"type": decision.action.value.upper()}
    if decision.target_storage_class is not None:
        action["targetStorageClass"] = decision.target_storage_class.value.upper()
    return {
        "imageTags": list(facts.tags),
        "imageDigest": facts.digest,
        "imagePushedAt": facts.pushed_at.timestamp(),
        "action": action,
        "appliedRulePriority": decision.rule_priority,
        "storageClass": "ARCHIVE" if facts.status == "ARCHIVED" else "STANDARD",
    }


class Lifecycle:
    def __init__(self, store: LifecycleStore, images: Images, deleter: Deleter, jobs: Jobs) -> None:
        self._store = store
        self._images = images
        self._deleter = deleter
        self._jobs = jobs

    # Policies --------------------------------------------------------------

    async def put_policy(self, key: RepositoryKey, text: str) -> None:
        parse_policy(text)
        await blocking(self._store.put_policy, key, text, datetime.now(UTC))

    async def get_policy(self, key: RepositoryKey) -> StoredPolicy:
        found = await blocking(self._store.get_policy, key)
        if found is None:
            raise LifecyclePolicyNotFound(key.name.value, key.scope.account_id)
        return found

    async def delete_policy(self, key: RepositoryKey) -> StoredPolicy:
        found = await blocking(self._store.delete_policy, key)
        if found is None:
            raise LifecyclePolicyNotFound(key.name.value, key.scope.account_id)
        return found

    # Evaluation -----------------------------------------------------------

    async def decide(
        self, key: RepositoryKey, text: str, now: datetime
    ) -> list[tuple[Decision, ImageFacts]]:
        policy = parse_policy(text)
        facts = await blocking(self._store.images, key)
        by_digest = {f.digest: f for f in facts}
        decisions = evaluate(policy, [_image(f) for f in facts], now)
        return [(d, by_digest[d.digest]) for d in decisions]

    async def preview(self, key: RepositoryKey, text: str | None) -> StoredPreview:
        if text is None:
            text = (await self.get_policy(key)).text
        now = datetime.now(UTC)
        decided = await self.decide(key, text, now)
        preview = StoredPreview("COMPLETE", text, [_preview_result(d, f) for d, f in decided])
        await blocking(self._store.save_preview, key, preview, now)
        return preview

    async def get_preview(self, key: RepositoryKey) -> StoredPreview:
        found = await blocking(self._store.get_preview, key)
        if found is None:
            raise LifecyclePreviewNotFound(key.name.value, key.scope.account_id)
        return found

    # Runs -------------------------------------------------------------------

    async def run(self, key: RepositoryKey, dry_run: bool = False) -> list[Applied]:
        policy = await self.get_policy(key)
        now = datetime.now(UTC)
        decided = await self.decide(key, policy.text, now)
        applied = [Applied(f.digest, f.tags, d.action.value, d.rule_priority) for d, f in decided]
        if dry_run:
            return applied
        await self._apply(key, decided, now)
        run_id = uuid.uuid4().hex
        records = [
            {
                "rule_priority": a.rule_priority,
                "action": a.action,
                "digest": a.digest,
                "tags": list(a.tags),
            }
            for a in applied
        ]
        await blocking(self._store.record_actions, run_id, key, records, now)
        await blocking(self._store.mark_evaluated, key, now)
        return applied

    async def _apply(
        self, key: RepositoryKey, decided: list[tuple[Decision, ImageFacts]], now: datetime
    ) -> None:
        pending = [d for d, _ in decided if d.action is ActionType.EXPIRE]
        for decision, _ in decided:
            if decision.action is ActionType.TRANSITION:
                await blocking(
                    self._store.set_status, key, Digest.parse(decision.digest), "ARCHIVED", now
                )
        # An index expired with its children must go before them: retry what a
        # still-present parent blocked until a pass makes no progress.
        while pending:
            blocked = []
            for decision in pending:
                try:
                    await self._deleter.delete(ManifestTarget(key, Digest.parse(decision.digest)))
                except ContentReferenced:
                    blocked.append(decision)
                except ManifestUnknown:
                    pass  # deleted meanwhile
            if len(blocked) == len(pending):
                break
            pending = blocked

    async def repositories(self) -> list[RepositoryKey]:
        return await blocking(self._store.repositories_with_policies)

    async def actions(
        self, limit: int = 100, account_id: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        """What lifecycle did, newest first: in every registry, or one account's or region's."""
        return await blocking(self._store.actions, limit, account_id, region)

    # Storage classes --------------------------------------------------------

    async def set_storage_class(self, key: RepositoryKey, image_id: ImageId, target: str) -> str:
        digest = await self._images.resolve(key, image_id)
        current = (await self._images.summary(key, digest)).status
        now = datetime.now(UTC)
        if target == "ARCHIVE":
            if current != "ARCHIVED":
                await blocking(self._store.set_status, key, digest, "ARCHIVED", now)
            return "ARCHIVED"
        if current == "ACTIVE":
            return "ACTIVE"
        await blocking(self._store.set_status, key, digest, "ACTIVATING", now)
        await self._jobs.enqueue(ActivatePayload.of(key, digest))
        return "ACTIVATING"

    async def finish_activation(self, key: RepositoryKey, digest: Digest) -> None:
        summary = await self._images.summary(key, digest)
        if summary.status == "ACTIVATING":
            await blocking(self._store.set_status, key, digest, "ACTIVE", datetime.now(UTC))

    # Pull-time update exclusions ---------------------------------------------

    async def exclusions(self, scope: Scope) -> list[tuple[str, datetime]]:
        return await blocking(self._store.exclusions, scope)

    async def exclude(self, scope: Scope, principal_arn: str) -> datetime:
        now = datetime.now(UTC)
        if not await blocking(self._store.add_exclusion, scope, principal_arn, now):
            raise ExclusionExists(principal_arn)
        return now

    async def include(self, scope: Scope, principal_arn: str) -> None:
        if not await blocking(self._store.remove_exclusion, scope, principal_arn):
            raise ExclusionNotFound(principal_arn)
