"""`python -m bench.lifecycle_eval`: how long one lifecycle evaluation of a big repository takes.

Builds 100,000 synthetic images (release, branch and commit tags, untagged builds,
multi-platform indexes with untagged children, cosign-style signatures, archived images)
and a five-rule policy of the kind the ECR guide shows, then times
``dockyard.domain.lifecycle.evaluate`` (best of 3) against the 2 s target.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from dockyard.domain.lifecycle import LifecycleImage, Policy, evaluate, parse_policy

TARGET_SECONDS = 2.0
NOW = datetime(2026, 6, 1, tzinfo=UTC)

POLICY = """{"rules": [
  {"rulePriority": 1, "description": "keep the last 50 production releases",
   "selection": {"tagStatus": "tagged", "tagPatternList": ["prod-*"],
                 "countType": "imageCountMoreThan", "countNumber": 50},
   "action": {"type": "expire"}},
  {"rulePriority": 2, "description": "archive release candidates nobody pulled for 90 days",
   "selection": {"tagStatus": "tagged", "tagPrefixList": ["rc-"],
                 "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 90},
   "action": {"type": "transition", "targetStorageClass": "archive"}},
  {"rulePriority": 3, "description": "untagged images go after 14 days",
   "selection": {"tagStatus": "untagged",
                 "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
   "action": {"type": "expire"}},
  {"rulePriority": 4, "description": "anything else goes after a year",
   "selection": {"tagStatus": "any",
                 "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 365},
   "action": {"type": "expire"}},
  {"rulePriority": 5, "description": "archived images go 180 days after archiving",
   "selection": {"tagStatus": "any", "storageClass": "archive",
                 "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 180},
   "action": {"type": "expire"}}
]}"""


def _digest(rng: random.Random) -> str:
    return f"sha256:{rng.getrandbits(256):064x}"


def build_images(count: int, seed: int = 7) -> list[LifecycleImage]:
    """``count`` images, pushed over two years, of every kind the evaluator treats apart."""
    rng = random.Random(seed)
    images: list[LifecycleImage] = []
    span = timedelta(days=730).total_seconds()
    while len(images) < count:
        pushed = NOW - timedelta(seconds=rng.random() * span)
        pulled = pushed + timedelta(days=rng.random() * 60) if rng.random() < 0.6 else None
        if pulled is not None and pulled > NOW:
            pulled = NOW
        digest = _digest(rng)
        kind = rng.random()
        n = len(images)
        if kind < 0.10:  # a multi-platform index and two untagged children
            children = [_digest(rng), _digest(rng)]
            images.append(LifecycleImage(digest, (f"prod-{n}", "latest-" + str(n % 7)), pushed))
            images += [
                LifecycleImage(child, (), pushed, pulled, parents=(digest,)) for child in children
            ]
        elif kind < 0.15:  # a signature of the previous image
            subject = images[-1].digest if images else None
            tag = f"sha256-{n:08d}.sig"
            images.append(LifecycleImage(digest, (tag,), pushed, subject=subject))
        elif kind < 0.35:  # untagged build
            images.append(LifecycleImage(digest, (), pushed, pulled))
        elif kind < 0.45:  # archived a while ago
            archived = pushed + timedelta(days=rng.random() * 300)
            archived = min(archived, NOW)
            images.append(LifecycleImage(digest, (f"rc-{n}",), pushed, pulled, "archive", archived))
        elif kind < 0.60:
            images.append(LifecycleImage(digest, (f"rc-{n}", f"sha-{n:x}"), pushed, pulled))
        elif kind < 0.75:
            images.append(LifecycleImage(digest, (f"prod-{n}",), pushed, pulled))
        else:
            branch = rng.choice(["main", "dev", "feature-x", "fix-y"])
            images.append(LifecycleImage(digest, (f"{branch}-{n}", f"sha-{n:x}"), pushed, pulled))
    return images[:count]


def best_of(policy: Policy, images: list[LifecycleImage], runs: int) -> tuple[float, int]:
    best, decided = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        decisions = evaluate(policy, images, NOW)
        best = min(best, time.perf_counter() - start)
        decided = len(decisions)
    return best, decided


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    policy = parse_policy(POLICY)
    images = build_images(args.images)
    seconds, decided = best_of(policy, images, args.runs)
    decisions = evaluate(policy, images, NOW)
    by_rule = Counter((d.rule_priority, d.action.value) for d in decisions)
    print(f"images: {len(images):,}  rules: {len(policy.rules)}  decisions: {decided:,}")
    for (priority, action), n in sorted(by_rule.items()):
        print(f"  rule {priority}: {n:,} {action}")
    verdict = "meets" if seconds < TARGET_SECONDS else "MISSES"
    print(
        f"evaluate: {seconds:.3f} s (best of {args.runs}); "
        f"{verdict} the {TARGET_SECONDS:.0f} s target"
    )
    return 0 if seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
