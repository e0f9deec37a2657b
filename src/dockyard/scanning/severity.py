"""A finding's severity, the way ECR reports it.

In order of preference:

1. A CVSS vector in the record (the matched ``affected`` entry's ``severity`` first, then the
   record's): its base score is computed with the ``cvss`` library and mapped to ECR's scale
   (CRITICAL >= 9.0, HIGH >= 7.0, MEDIUM >= 4.0, LOW > 0, else INFORMATIONAL). CVSS v3 is
   preferred (ECR's ``CVSS3_SCORE``/``CVSS3_VECTOR`` attributes), then v4, then v2. A vector
   the library refuses is skipped.
2. A rating the ecosystem or database gives: ``ecosystem_specific.severity`` or ``.urgency``
   (Debian's urgency), ``database_specific.severity`` (GitHub's CRITICAL/HIGH/MODERATE/LOW),
   an ``Ubuntu`` priority in ``severity[]``.
3. Otherwise ``UNDEFINED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cvss import CVSS2, CVSS3, CVSS4, CVSSError  # type: ignore[import-untyped]

from dockyard.scanning.osv import Affected, OsvRecord, SeverityEntry

CRITICAL: Final = "CRITICAL"
HIGH: Final = "HIGH"
MEDIUM: Final = "MEDIUM"
LOW: Final = "LOW"
INFORMATIONAL: Final = "INFORMATIONAL"
UNDEFINED: Final = "UNDEFINED"

# ECR's findingSeverityCounts keys, most severe first.
SEVERITIES: Final = (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED)

_CVSS_PREFERENCE: Final = ("CVSS_V3", "CVSS_V4", "CVSS_V2")

# Ratings as databases write them (lowercased, trailing "*" dropped) -> ECR severity.
_RATINGS: Final[dict[str, str]] = {
    "critical": CRITICAL,
    "high": HIGH,
    "important": HIGH,
    "moderate": MEDIUM,
    "medium": MEDIUM,
    "low": LOW,
    "negligible": INFORMATIONAL,
    "unimportant": INFORMATIONAL,
    "informational": INFORMATIONAL,
    "info": INFORMATIONAL,
    "none": INFORMATIONAL,
}


@dataclass(frozen=True, slots=True)
class CvssScore:
    type: str  # CVSS_V2 | CVSS_V3 | CVSS_V4
    vector: str
    score: float  # the base score


@dataclass(frozen=True, slots=True)
class Severity:
    severity: str  # one of SEVERITIES
    score: float | None  # the CVSS base score the severity came from, if it did
    vector: str | None
    source: str  # "CVSS_V3", "CVSS_V4", "CVSS_V2", "rating" or "none"
    scores: tuple[CvssScore, ...] = ()  # every vector that could be scored

    def cvss(self, kind: str) -> CvssScore | None:
        """The first score of a kind, e.g. ``cvss("CVSS_V3")`` for ECR's CVSS3 attributes."""
        return next((s for s in self.scores if s.type == kind), None)


def severity_from_score(score: float) -> str:
    """ECR's scale for a CVSS base score."""
    if score >= 9.0:
        return CRITICAL
    if score >= 7.0:
        return HIGH
    if score >= 4.0:
        return MEDIUM
    if score > 0.0:
        return LOW
    return INFORMATIONAL


def cvss_base_score(kind: str, vector: str) -> float | None:
    """The base score of a CVSS vector of the given OSV severity type; None if the vector is
    not one the ``cvss`` library accepts (or the type is not CVSS)."""
    text = vector.strip()
    try:
        if kind == "CVSS_V3":
            return float(CVSS3(text).scores()[0])
        if kind == "CVSS_V4":
            return float(CVSS4(text).base_score)
        if kind == "CVSS_V2":
            return float(CVSS2(text.strip("()")).scores()[0])
    except (CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def rating_severity(rating: Any) -> str | None:
    """ECR severity of a textual rating ("HIGH", "moderate", Debian's "low**"); None if the
    rating says nothing ("not yet assigned", "unknown")."""
    if not isinstance(rating, str):
        return None
    return _RATINGS.get(rating.strip().rstrip("*").strip().lower())


def severity_of(record: OsvRecord, affected_index: int | None = None) -> Severity:
    """The severity of ``record`` for the package of its ``affected[affected_index]`` (an
    :class:`~dockyard.scanning.matching.AffectedHit` says which); for the record as a whole
    when the index is None."""
    entry = (
        record.affected[affected_index]
        if affected_index is not None and 0 <= affected_index < len(record.affected)
        else None
    )
    entries: list[SeverityEntry] = [*(entry.severity if entry else ()), *record.severity]
    if entry is None:
        # No package named: per-package severities count too (the schema puts them there
        # instead of at the top level when packages differ).
        entries += [item for each in record.affected for item in each.severity]
    scores = tuple(
        CvssScore(item.type, item.score.strip(), score)
        for item in entries
        if (score := cvss_base_score(item.type, item.score)) is not None
    )
    for kind in _CVSS_PREFERENCE:
        best = next((s for s in scores if s.type == kind), None)
        if best is not None:
            return Severity(severity_from_score(best.score), best.score, best.vector, kind, scores)
    rated = _rating(record, entry, entries)
    if rated is not None:
        return Severity(rated, None, None, "rating", scores)
    return Severity(UNDEFINED, None, None, "none", scores)


def _rating(record: OsvRecord, entry: Affected | None, entries: list[SeverityEntry]) -> str | None:
    places: list[Mapping[str, Any] | None] = []
    for target in [entry] if entry is not None else record.affected:
        places += [target.ecosystem_specific, target.database_specific]
    places.append(record.database_specific)
    for place in places:
        if not place:
            continue
        for key in ("severity", "urgency"):
            found = rating_severity(place.get(key))
            if found is not None:
                return found
    for item in entries:
        if item.type == "Ubuntu":
            found = rating_severity(item.score)
            if found is not None:
                return found
    return None


__all__ = [
    "CRITICAL",
    "HIGH",
    "INFORMATIONAL",
    "LOW",
    "MEDIUM",
    "SEVERITIES",
    "UNDEFINED",
    "CvssScore",
    "Severity",
    "cvss_base_score",
    "rating_severity",
    "severity_from_score",
    "severity_of",
]
