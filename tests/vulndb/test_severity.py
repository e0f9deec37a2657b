"""Severity: CVSS base scores computed with the cvss library, ratings, UNDEFINED."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.scanning.osv import OsvRecord, parse_record
from dockyard.scanning.severity import (
    SEVERITIES,
    cvss_base_score,
    rating_severity,
    severity_from_score,
    severity_of,
)


def _record(**fields: Any) -> OsvRecord:
    affected = fields.pop("affected", {})
    return parse_record(
        {
            "id": "TEST-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, **affected}],
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("record_id", "cve", "vector", "score", "severity"),
    [
        # Real records of the PyPA data; the scores are NVD's for these CVEs.
        (
            "PYSEC-2017-105",
            "CVE-2016-8752",
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            7.5,
            "HIGH",
        ),
        (
            "PYSEC-2019-241",
            "CVE-2019-17545",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            "CRITICAL",
        ),
        (
            "PYSEC-2023-212",
            "CVE-2023-45803",
            "CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N",
            4.2,
            "MEDIUM",
        ),
        (
            "PYSEC-2023-228",
            "CVE-2023-5752",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N",
            3.3,
            "LOW",
        ),
        (
            "PYSEC-2017-106",
            "CVE-2017-3150",
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            6.1,
            "MEDIUM",
        ),
    ],
)
def test_real_cvss_v3_vectors(
    all_records: dict[str, OsvRecord],
    record_id: str,
    cve: str,
    vector: str,
    score: float,
    severity: str,
) -> None:
    record = all_records[record_id]
    assert cve in record.aliases
    result = severity_of(record, 0)
    assert (result.severity, result.score, result.vector, result.source) == (
        severity,
        score,
        vector,
        "CVSS_V3",
    )
    cvss3 = result.cvss("CVSS_V3")
    assert cvss3 is not None and cvss3.score == score


def test_every_real_vector_scores(all_records: dict[str, OsvRecord]) -> None:
    with_vectors = [r for r in all_records.values() if r.severity]
    assert len(with_vectors) == 202
    for record in with_vectors:
        result = severity_of(record)
        assert result.source == "CVSS_V3", record.id
        assert result.severity in SEVERITIES[:4]


def test_records_without_any_rating_are_undefined(all_records: dict[str, OsvRecord]) -> None:
    result = severity_of(all_records["PYSEC-2018-28"])
    assert (result.severity, result.score, result.vector, result.source) == (
        "UNDEFINED",
        None,
        None,
        "none",
    )
    assert severity_of(all_records["DEBIAN-CVE-2019-1547"]).severity == "UNDEFINED"


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, "CRITICAL"),
        (9.0, "CRITICAL"),
        (8.9, "HIGH"),
        (7.0, "HIGH"),
        (6.9, "MEDIUM"),
        (4.0, "MEDIUM"),
        (3.9, "LOW"),
        (0.1, "LOW"),
        (0.0, "INFORMATIONAL"),
    ],
)
def test_ecr_scale(score: float, severity: str) -> None:
    assert severity_from_score(score) == severity


def test_cvss_v2_and_v4_scores() -> None:
    assert cvss_base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert cvss_base_score("CVSS_V2", "(AV:N/AC:L/Au:N/C:P/I:P/A:P)") == 7.5
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert cvss_base_score("CVSS_V4", v4) == 9.3
    assert cvss_base_score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == 0.0
    for kind, junk in [("CVSS_V3", "garbage"), ("CVSS_V4", "CVSS:4.0/AV:N"), ("Ubuntu", "high")]:
        assert cvss_base_score(kind, junk) is None


def test_v3_is_preferred_then_v4_then_v2() -> None:
    v2 = {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"}  # 10.0
    v3 = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}  # 3.7
    v4 = {
        "type": "CVSS_V4",
        "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    }
    assert severity_of(_record(severity=[v2, v4, v3])).severity == "LOW"
    assert severity_of(_record(severity=[v2, v4])).source == "CVSS_V4"
    only_v2 = severity_of(_record(severity=[v2]))
    assert (only_v2.severity, only_v2.score, only_v2.source) == ("CRITICAL", 10.0, "CVSS_V2")
    both = severity_of(_record(severity=[v2, v3]))
    assert {s.type for s in both.scores} == {"CVSS_V2", "CVSS_V3"}


def test_a_bad_vector_falls_through_to_the_next() -> None:
    bad = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}
    v2 = {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}
    result = severity_of(_record(severity=[bad, v2]))
    assert (result.severity, result.source) == ("HIGH", "CVSS_V2")


def test_package_level_severity_is_used() -> None:
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    record = _record(affected={"severity": [{"type": "CVSS_V3", "score": vector}]})
    assert severity_of(record, 0).severity == "CRITICAL"
    assert severity_of(record).severity == "CRITICAL"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"database_specific": {"severity": "MODERATE"}}, "MEDIUM"),  # GitHub's scale
        ({"database_specific": {"severity": "critical"}}, "CRITICAL"),
        ({"affected": {"ecosystem_specific": {"urgency": "low**"}}}, "LOW"),  # Debian
        ({"affected": {"ecosystem_specific": {"urgency": "unimportant"}}}, "INFORMATIONAL"),
        ({"affected": {"ecosystem_specific": {"urgency": "not yet assigned"}}}, "UNDEFINED"),
        ({"affected": {"ecosystem_specific": {"severity": "HIGH"}}}, "HIGH"),  # RustSec
        ({"affected": {"database_specific": {"severity": "Important"}}}, "HIGH"),
        ({"severity": [{"type": "Ubuntu", "score": "negligible"}]}, "INFORMATIONAL"),
        ({"severity": [{"type": "Ubuntu", "score": "medium"}]}, "MEDIUM"),
        ({"database_specific": {"severity": 3}}, "UNDEFINED"),
    ],
)
def test_ratings(fields: dict[str, Any], expected: str) -> None:
    result = severity_of(_record(**fields), 0)
    assert result.severity == expected
    assert result.score is None and result.vector is None


def test_a_cvss_vector_beats_a_rating() -> None:
    record = _record(
        database_specific={"severity": "LOW"},
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    )
    assert severity_of(record).severity == "CRITICAL"


def test_rating_severity_ignores_what_it_does_not_know() -> None:
    assert rating_severity("Moderate ") == "MEDIUM"
    assert rating_severity("end-of-life") is None
    assert rating_severity(None) is None
