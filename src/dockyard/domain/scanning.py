"""Scanning configuration and findings, as ECR models them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dockyard.domain.wildcards import matches

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


class ScanFrequency(StrEnum):
    SCAN_ON_PUSH = "SCAN_ON_PUSH"
    CONTINUOUS_SCAN = "CONTINUOUS_SCAN"
    MANUAL = "MANUAL"


class ScanType(StrEnum):
    BASIC = "BASIC"
    ENHANCED = "ENHANCED"


@dataclass(frozen=True, slots=True)
class ScanningRule:
    frequency: ScanFrequency
    filters: tuple[str, ...]  # WILDCARD filters over repository names

    def applies_to(self, repository: str) -> tuple[str, ...]:
        """The filters that select ``repository`` (ECR: a value without ``*`` means contains)."""
        return tuple(f for f in self.filters if _filter_matches(repository, f))


def _filter_matches(repository: str, value: str) -> bool:
    return matches(repository, value) if "*" in value else value in repository


@dataclass(frozen=True, slots=True)
class RegistryScanning:
    scan_type: ScanType = ScanType.BASIC
    rules: tuple[ScanningRule, ...] = ()

    def frequency_for(
        self, repository: str, scan_on_push: bool
    ) -> tuple[ScanFrequency, tuple[str, ...]]:
        """How a repository is scanned, and the filters that decided it.

        Continuous beats scan-on-push beats manual when several rules match; the
        repository's own scanOnPush flag (the older, per-repository setting) counts
        as a scan-on-push rule.
        """
        best: ScanFrequency = ScanFrequency.MANUAL
        applied: tuple[str, ...] = ()
        order = [ScanFrequency.MANUAL, ScanFrequency.SCAN_ON_PUSH, ScanFrequency.CONTINUOUS_SCAN]
        for rule in self.rules:
            hit = rule.applies_to(repository)
            if hit and order.index(rule.frequency) > order.index(best):
                best, applied = rule.frequency, hit
        if scan_on_push and best is ScanFrequency.MANUAL:
            best = ScanFrequency.SCAN_ON_PUSH
        return best, applied


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one package of an image."""

    vulnerability_id: str
    severity: str
    package_name: str
    package_version: str
    ecosystem: str
    fixed_in: str | None
    score: float | None
    vector: str | None
    uri: str | None
    description: str
    layer_index: int
    path: str
    aliases: tuple[str, ...] = field(default=())
    layer_digest: str = ""


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {s: counts[s] for s in SEVERITIES if counts[s]}


@dataclass(frozen=True, slots=True)
class ScanRecord:
    digest: str
    status: str
    description: str | None
    scan_type: str
    started_at: datetime
    completed_at: datetime | None
    source_updated_at: datetime | None
    counts: dict[str, int]
    findings: list[dict[str, Any]]
    inventory: dict[str, Any] | None
