"""Matching records to installed packages: the OSV rules on small records, then the real
Debian and PyPA data against real package versions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.scanning.matching import (
    AffectedHit,
    affected,
    lookup_key,
    lookup_names,
    match_packages,
)
from dockyard.scanning.osv import OsvRecord, parse_record
from dockyard.scanning.versions import compare
from tests.vulndb.conftest import Pkg


def record(*entries: dict[str, Any], **fields: Any) -> OsvRecord:
    return parse_record(
        {
            "id": fields.pop("id", "TEST-1"),
            "modified": "2024-01-01T00:00:00Z",
            "affected": list(entries),
            **fields,
        }
    )


def entry(
    ecosystem: str,
    name: str,
    *ranges: list[dict[str, str]],
    range_type: str = "ECOSYSTEM",
    versions: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "package": {"ecosystem": ecosystem, "name": name},
        "ranges": [{"type": range_type, "events": events} for events in ranges],
    }
    if versions is not None:
        out["versions"] = versions
    return out


def hit_for(rec: OsvRecord, ecosystem: str, name: str, version: str) -> AffectedHit | None:
    return affected(rec, Pkg(ecosystem, name, version))


def hits(rec: OsvRecord, ecosystem: str, name: str, versions: list[str]) -> list[str]:
    return [v for v in versions if hit_for(rec, ecosystem, name, v) is not None]


# -- the rules ----------------------------------------------------------------------------------


def test_introduced_zero_is_below_everything_and_fixed_is_excluded() -> None:
    rec = record(entry("PyPI", "demo", [{"introduced": "0"}, {"fixed": "1.5"}]))
    assert hits(rec, "PyPI", "demo", ["0.0.1", "0.1.dev0", "1.0", "1.5a1", "1.5", "2.0"]) == [
        "0.0.1",
        "0.1.dev0",
        "1.0",
        "1.5a1",
    ]
    hit = hit_for(rec, "PyPI", "demo", "1.0")
    assert hit is not None
    assert (hit.fixed_version, hit.matched_by, hit.record_id) == ("1.5", "ECOSYSTEM", "TEST-1")


def test_introduced_is_included() -> None:
    rec = record(entry("npm", "demo", [{"introduced": "1.2.0"}, {"fixed": "1.3.0"}]))
    assert hits(rec, "npm", "demo", ["1.1.9", "1.2.0-rc.1", "1.2.0", "1.2.9", "1.3.0"]) == [
        "1.2.0",
        "1.2.9",
    ]


def test_an_unfixed_range_covers_everything_after_introduced() -> None:
    rec = record(entry("Debian:12", "demo", [{"introduced": "2.0-1"}]))
    assert hits(rec, "Debian:12", "demo", ["1.9-1", "2.0-1", "99:1.0"]) == ["2.0-1", "99:1.0"]
    hit = hit_for(rec, "Debian:12", "demo", "2.0-1")
    assert hit is not None and hit.fixed_version is None


def test_last_affected_is_included_and_has_no_fix() -> None:
    rec = record(entry("PyPI", "demo", [{"introduced": "0"}, {"last_affected": "1.11.0"}]))
    assert hits(rec, "PyPI", "demo", ["1.0", "1.11.0", "1.11.0.post1", "1.11.1"]) == [
        "1.0",
        "1.11.0",
    ]
    hit = hit_for(rec, "PyPI", "demo", "1.11.0")
    assert hit is not None and hit.fixed_version is None


def test_limit_bounds_a_range() -> None:
    rec = record(entry("npm", "demo", [{"introduced": "1.0.0"}, {"limit": "2.0.0"}]))
    assert hits(rec, "npm", "demo", ["0.9.0", "1.0.0", "1.9.9", "2.0.0", "3.0.0"]) == [
        "1.0.0",
        "1.9.9",
    ]
    star = record(entry("npm", "demo", [{"introduced": "1.0.0"}, {"limit": "*"}]))
    assert hits(star, "npm", "demo", ["0.9.0", "9.0.0"]) == ["9.0.0"]


def test_several_intervals_in_one_range_in_any_order() -> None:
    # The real PYSEC-2023-192 lists its events in this order.
    rec = record(
        entry(
            "PyPI",
            "demo",
            [
                {"introduced": "2.0.0"},
                {"fixed": "2.0.6"},
                {"introduced": "0"},
                {"fixed": "1.26.17"},
            ],
        )
    )
    assert hits(rec, "PyPI", "demo", ["1.0", "1.26.16", "1.26.17", "1.27", "2.0.0", "2.0.6"]) == [
        "1.0",
        "1.26.16",
        "2.0.0",
    ]
    low, high = hit_for(rec, "PyPI", "demo", "1.0"), hit_for(rec, "PyPI", "demo", "2.0.1")
    assert low is not None and low.fixed_version == "1.26.17"
    assert high is not None and high.fixed_version == "2.0.6"


def test_several_ranges_and_several_affected_entries() -> None:
    rec = record(
        entry(
            "PyPI",
            "demo",
            [{"introduced": "1.0"}, {"fixed": "1.1"}],
            [{"introduced": "3.0"}, {"fixed": "3.2"}],
        ),
        entry("PyPI", "demo", [{"introduced": "5.0"}, {"fixed": "5.1"}]),
        entry("PyPI", "other", [{"introduced": "0"}]),
    )
    assert hits(rec, "PyPI", "demo", ["0.9", "1.0", "2.0", "3.1", "4.0", "5.0", "6.0"]) == [
        "1.0",
        "3.1",
        "5.0",
    ]
    hit = hit_for(rec, "PyPI", "demo", "5.0")
    assert hit is not None and (hit.affected_index, hit.fixed_version) == (1, "5.1")


def test_overlapping_entries_report_the_fix_that_leaves_them_all() -> None:
    rec = record(
        entry("PyPI", "demo", [{"introduced": "0"}, {"fixed": "1.5"}]),
        entry("PyPI", "demo", [{"introduced": "1.0"}, {"fixed": "2.0"}]),
    )
    hit = hit_for(rec, "PyPI", "demo", "1.2")
    assert hit is not None and hit.fixed_version == "2.0"


def test_exact_versions_match_under_the_ecosystems_equality() -> None:
    rec = record(entry("PyPI", "demo", versions=["1.0", "2.0-alpha2", "weird-1"]))
    assert hits(rec, "PyPI", "demo", ["1.0", "1.0.0", "2.0a2", "weird-1", "1.1", "0.9"]) == [
        "1.0",
        "1.0.0",
        "2.0a2",
        "weird-1",
    ]
    hit = hit_for(rec, "PyPI", "demo", "1.0")
    assert hit is not None and (hit.matched_by, hit.fixed_version) == ("versions", None)


def test_a_versions_only_match_names_the_next_fix() -> None:
    rec = record(
        entry(
            "PyPI",
            "demo",
            [{"introduced": "2.0"}, {"fixed": "2.5"}],
            versions=["1.3"],
        )
    )
    hit = hit_for(rec, "PyPI", "demo", "1.3")
    assert hit is not None and (hit.matched_by, hit.fixed_version) == ("versions", "2.5")


def test_semver_ranges_use_semver_whatever_the_ecosystem() -> None:
    rec = record(
        entry("crates.io", "demo", [{"introduced": "0"}, {"fixed": "1.0.0"}], range_type="SEMVER")
    )
    assert hits(rec, "crates.io", "demo", ["0.9.9", "1.0.0-rc.1", "1.0.0", "1.0.1"]) == [
        "0.9.9",
        "1.0.0-rc.1",
    ]


def test_git_ranges_are_not_evaluated() -> None:
    rec = parse_record(
        {
            "id": "GIT-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [
                        {
                            "type": "GIT",
                            "repo": "https://example.invalid/r",
                            "events": [{"introduced": "0"}, {"fixed": "abc"}],
                        }
                    ],
                }
            ],
        }
    )
    assert hit_for(rec, "PyPI", "demo", "1.0") is None


def test_withdrawn_records_never_match() -> None:
    rec = record(
        entry("PyPI", "demo", [{"introduced": "0"}], versions=["1.0"]),
        withdrawn="2024-02-01T00:00:00Z",
    )
    assert hit_for(rec, "PyPI", "demo", "1.0") is None
    assert match_packages([Pkg("PyPI", "demo", "1.0")], [rec]) == []


def test_the_ecosystem_must_match_exactly() -> None:
    rec = record(entry("Debian:12", "openssl", [{"introduced": "0"}]))
    assert hit_for(rec, "Debian:11", "openssl", "1.0-1") is None
    assert hit_for(rec, "Ubuntu:22.04:LTS", "openssl", "1.0-1") is None
    assert hit_for(rec, "PyPI", "openssl", "1.0") is None
    assert hit_for(rec, "Debian:12", "openssl", "1.0-1") is not None


def test_pypi_names_match_after_pep503_normalisation() -> None:
    rec = record(entry("PyPI", "Zope.Interface", [{"introduced": "0"}, {"fixed": "5.0"}]))
    for name in ["zope.interface", "zope-interface", "Zope_Interface", "ZOPE--interface"]:
        assert hit_for(rec, "PyPI", name, "4.0") is not None, name
    assert hit_for(rec, "PyPI", "zopeinterface", "4.0") is None


def test_distribution_packages_match_by_source_package() -> None:
    rec = record(entry("Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1"}]))
    binary = Pkg("Debian:12", "libssl3", "3.0.9-1+b1", "openssl", "3.0.9-1")
    hit = affected(rec, binary)
    assert hit is not None
    assert (hit.package_name, hit.version, hit.fixed_version) == ("openssl", "3.0.9-1", "3.0.11-1")
    # No source version given: the binary's version is compared.
    assert affected(rec, Pkg("Debian:12", "libssl3", "3.0.9-1", "openssl")) is not None
    assert affected(rec, Pkg("Debian:12", "libssl3", "3.0.11-1", "openssl")) is None
    # The binary name alone does not match a source-keyed record...
    assert affected(rec, Pkg("Debian:12", "libssl3", "3.0.9-1")) is None
    # ...nor does a source version beyond the fix, whatever the binary version says.
    assert affected(rec, Pkg("Debian:12", "libssl3", "3.0.9-1", "openssl", "3.0.11-1")) is None
    alpine = record(entry("Alpine:v3.20", "openssl", [{"introduced": "0"}, {"fixed": "3.3.2-r0"}]))
    assert affected(alpine, Pkg("Alpine:v3.20", "libcrypto3", "3.3.1-r3", "openssl")) is not None


def test_language_packages_match_by_their_own_name() -> None:
    rec = record(entry("npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}]))
    # An npm package has no source; a source name given anyway is not used.
    assert affected(rec, Pkg("npm", "lodash", "4.17.20", "something-else")) is not None


def test_unparsable_versions_are_handled_explicitly() -> None:
    # The installed version does not parse: only an exact listing can match.
    rec = record(
        entry("PyPI", "demo", [{"introduced": "0"}, {"fixed": "9.0"}], versions=["custom-build"])
    )
    assert hit_for(rec, "PyPI", "demo", "custom-build") is not None
    assert hit_for(rec, "PyPI", "demo", "other-custom-build") is None
    # A range with an event that does not parse is skipped (the real PYSEC-2021-371 and
    # PYSEC-2019-125 have fixed "0.2.0-n653" and "2019-09-12").
    bad = record(entry("PyPI", "demo", [{"introduced": "0"}, {"fixed": "2019-09-12"}]))
    assert hit_for(bad, "PyPI", "demo", "1.0") is None
    both = record(
        entry(
            "PyPI",
            "demo",
            [{"introduced": "0"}, {"fixed": "2019-09-12"}],
            [{"introduced": "0"}, {"fixed": "2.0"}],
        )
    )
    assert hit_for(both, "PyPI", "demo", "1.0") is not None


def test_unknown_ecosystems_match_only_exact_versions() -> None:
    rec = record(entry("Maven", "g:a", [{"introduced": "0"}, {"fixed": "2.0"}], versions=["1.0"]))
    assert hit_for(rec, "Maven", "g:a", "1.0") is not None
    assert hit_for(rec, "Maven", "g:a", "1.5") is None


def test_lookup_helpers() -> None:
    packages = [
        Pkg("Debian:12", "libssl3", "3.0.9-1", "openssl", "3.0.9-1"),
        Pkg("Debian:12", "openssl", "3.0.9-1", "openssl", "3.0.9-1"),
        Pkg("PyPI", "Jinja2", "2.10"),
    ]
    assert lookup_key(packages[0]).name == "openssl"
    assert lookup_names(packages) == {"Debian:12": {"openssl"}, "PyPI": {"jinja2"}}


@given(
    st.lists(st.integers(min_value=0, max_value=20), min_size=3, max_size=3),
    st.lists(st.integers(min_value=0, max_value=20), min_size=3, max_size=3),
    st.lists(st.integers(min_value=0, max_value=20), min_size=3, max_size=3),
)
def test_a_single_interval_is_half_open(low: list[int], high: list[int], at: list[int]) -> None:
    """Property: with introduced a and fixed b, version v is affected iff a <= v < b (and, as
    the OSV evaluation sorts events, iff a <= v when the fix is below the introduction)."""
    a, b, v = (".".join(map(str, x)) for x in (low, high, at))
    rec = record(entry("npm", "demo", [{"introduced": a}, {"fixed": b}]))
    expected = compare("npm", a, v) <= 0 and (compare("npm", v, b) < 0 or compare("npm", b, a) < 0)
    assert (hit_for(rec, "npm", "demo", v) is not None) == expected


# -- real data ----------------------------------------------------------------------------------

PERL_FIXED_IN_DEB12U4 = {
    "DEBIAN-CVE-2025-15649",
    "DEBIAN-CVE-2026-12087",
    "DEBIAN-CVE-2026-13221",
    "DEBIAN-CVE-2026-19487",
    "DEBIAN-CVE-2026-42496",
    "DEBIAN-CVE-2026-42497",
    "DEBIAN-CVE-2026-48959",
    "DEBIAN-CVE-2026-48962",
    "DEBIAN-CVE-2026-57432",
    "DEBIAN-CVE-2026-57433",
    "DEBIAN-CVE-2026-7010",
    "DEBIAN-CVE-2026-7017",
    "DEBIAN-CVE-2026-8376",
}

# openssl CVEs the bookworm data says were fixed after 3.0.17-1~deb12u2, by fixing version.
OPENSSL_FIXES_AFTER_3_0_17_DEB12U2 = {
    "3.0.17-1~deb12u3": {"DEBIAN-CVE-2025-9230", "DEBIAN-CVE-2025-9232"},
    "3.0.18-1~deb12u2": {
        "DEBIAN-CVE-2025-15467",
        "DEBIAN-CVE-2025-68160",
        "DEBIAN-CVE-2025-69418",
        "DEBIAN-CVE-2025-69419",
        "DEBIAN-CVE-2025-69420",
        "DEBIAN-CVE-2025-69421",
        "DEBIAN-CVE-2026-22795",
        "DEBIAN-CVE-2026-22796",
    },
    "3.0.19-1~deb12u2": {
        "DEBIAN-CVE-2026-28387",
        "DEBIAN-CVE-2026-28388",
        "DEBIAN-CVE-2026-28389",
        "DEBIAN-CVE-2026-28390",
        "DEBIAN-CVE-2026-31789",
        "DEBIAN-CVE-2026-31790",
    },
    "3.0.20-1~deb12u2": {
        "DEBIAN-CVE-2026-34180",
        "DEBIAN-CVE-2026-34182",
        "DEBIAN-CVE-2026-42766",
        "DEBIAN-CVE-2026-42770",
        "DEBIAN-CVE-2026-45445",
        "DEBIAN-CVE-2026-45446",
        "DEBIAN-CVE-2026-45447",
        "DEBIAN-CVE-2026-7383",
        "DEBIAN-CVE-2026-9076",
    },
    "3.0.22-1~deb12u1": {
        "DEBIAN-CVE-2026-42767",
        "DEBIAN-CVE-2026-54874",
        "DEBIAN-CVE-2026-63072",
        "DEBIAN-CVE-2026-63074",
        "DEBIAN-CVE-2026-63076",
        "DEBIAN-CVE-2026-75803",
    },
    "3.0.22-1~deb12u2": {
        "DEBIAN-CVE-2026-35189",
        "DEBIAN-CVE-2026-54872",
        "DEBIAN-CVE-2026-75805",
        "DEBIAN-CVE-2026-75806",
        "DEBIAN-CVE-2026-77696",
        "DEBIAN-CVE-2026-84782",
    },
}


def found(records: dict[str, OsvRecord], package: Pkg) -> dict[str, AffectedHit]:
    """Every record of both zips that affects ``package`` (no index: all 2,759 are tried)."""
    out = {}
    for rec in records.values():
        hit = affected(rec, package)
        if hit is not None:
            out[rec.id] = hit
    return out


def test_perl_base_before_the_deb12u4_update(all_records: dict[str, OsvRecord]) -> None:
    package = Pkg("Debian:12", "perl-base", "5.36.0-7+deb12u3", "perl", "5.36.0-7+deb12u3")
    result = found(all_records, package)
    assert set(result) == PERL_FIXED_IN_DEB12U4
    assert len(result) == 13
    assert {hit.fixed_version for hit in result.values()} == {"5.36.0-7+deb12u4"}
    assert {all_records[i].upstream[0] for i in result} == {
        i.removeprefix("DEBIAN-") for i in PERL_FIXED_IN_DEB12U4
    }
    # Other binaries of the perl source package alike; no Source: field means perl itself.
    assert set(found(all_records, Pkg("Debian:12", "perl", "5.36.0-7+deb12u3"))) == set(result)
    libperl = Pkg("Debian:12", "libperl5.36", "5.36.0-7+deb12u3", "perl", "5.36.0-7+deb12u3")
    assert set(found(all_records, libperl)) == set(result)


@pytest.mark.parametrize("version", ["5.36.0-7+deb12u4", "5.36.0-7+deb12u5", "5.38.2-1"])
def test_perl_base_at_and_after_the_fix(all_records: dict[str, OsvRecord], version: str) -> None:
    package = Pkg("Debian:12", "perl-base", version, "perl", version)
    assert found(all_records, package) == {}


def test_libssl3_3_0_17_deb12u2(all_records: dict[str, OsvRecord]) -> None:
    package = Pkg("Debian:12", "libssl3", "3.0.17-1~deb12u2", "openssl", "3.0.17-1~deb12u2")
    result = found(all_records, package)
    expected = set().union(*OPENSSL_FIXES_AFTER_3_0_17_DEB12U2.values())
    assert set(result) == expected
    assert len(result) == 37
    for fixed, ids in OPENSSL_FIXES_AFTER_3_0_17_DEB12U2.items():
        assert {i for i, hit in result.items() if hit.fixed_version == fixed} == ids
    # 47 older openssl records are fixed at or before the installed version: none hits.
    openssl = {
        r.id
        for r in all_records.values()
        for item in r.affected
        if item.package is not None and item.package.name == "openssl"
    }
    assert len(openssl) == 84


def test_libssl3_after_each_update(all_records: dict[str, OsvRecord]) -> None:
    remaining = set().union(*OPENSSL_FIXES_AFTER_3_0_17_DEB12U2.values())
    for fixed, ids in OPENSSL_FIXES_AFTER_3_0_17_DEB12U2.items():
        remaining -= ids
        package = Pkg("Debian:12", "libssl3", fixed, "openssl", fixed)
        assert set(found(all_records, package)) == remaining, fixed
    assert remaining == set()


def test_libpcre2_8_0(all_records: dict[str, OsvRecord]) -> None:
    package = Pkg("Debian:12", "libpcre2-8-0", "10.42-1", "pcre2", "10.42-1")
    result = found(all_records, package)
    assert set(result) == {"DEBIAN-CVE-2026-103111"}
    assert result["DEBIAN-CVE-2026-103111"].fixed_version == "10.42-1+deb12u2"
    for version in ["10.42-1+deb12u2", "10.45-1"]:
        assert found(all_records, Pkg("Debian:12", "libpcre2-8-0", version, "pcre2")) == {}


def aliases(records: dict[str, OsvRecord], ids: set[str]) -> set[str]:
    return {alias for i in ids for alias in records[i].aliases}


def test_requests_2_19_1(all_records: dict[str, OsvRecord]) -> None:
    result = found(all_records, Pkg("PyPI", "requests", "2.19.1"))
    # CVE-2018-18074 (credentials on a redirect to HTTP; fixed in 2.20.0) and CVE-2023-32681
    # (Proxy-Authorization leaked to the destination; fixed in 2.31.0).
    assert set(result) == {"PYSEC-2018-28", "PYSEC-2023-74"}
    assert {"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"} <= set(all_records["PYSEC-2018-28"].aliases)
    assert {"CVE-2023-32681", "GHSA-j8r2-6x86-q33q"} <= set(all_records["PYSEC-2023-74"].aliases)
    assert result["PYSEC-2018-28"].fixed_version == "2.20.0"
    assert result["PYSEC-2023-74"].fixed_version == "2.31.0"
    # Older advisories (fixed in 2.3.0 and 2.6.0) do not reach 2.19.1.
    assert "CVE-2014-1829" not in aliases(all_records, set(result))
    assert set(found(all_records, Pkg("PyPI", "requests", "2.20.0"))) == {"PYSEC-2023-74"}
    assert found(all_records, Pkg("PyPI", "requests", "2.31.0")) == {}
    assert set(found(all_records, Pkg("PyPI", "Requests", "2.2.1"))) == {
        "PYSEC-2014-13",
        "PYSEC-2014-14",
        "PYSEC-2015-17",
        "PYSEC-2018-28",
    }


def test_urllib3_1_24_1(all_records: dict[str, OsvRecord]) -> None:
    result = found(all_records, Pkg("PyPI", "urllib3", "1.24.1"))
    fixes = {
        all_records[i].aliases[0] if all_records[i].aliases else i: hit.fixed_version
        for i, hit in result.items()
    }
    assert fixes == {
        "CVE-2019-11236": "1.24.3",  # CRLF injection in the request path
        "CVE-2019-11324": "1.24.2",  # CA certificates mishandled
        "CVE-2018-25091": "1.24.2",  # Authorization header kept across hosts
        "CVE-2020-26137": "1.25.9",  # CRLF injection via the method
        "CVE-2021-33503": "1.26.5",  # ReDoS in URL authority parsing
        "CVE-2023-43804": "1.26.17",  # Cookie header kept on cross-origin redirects
        "CVE-2023-45803": "1.26.18",  # request body kept on 303 redirects
    }
    assert len(result) == 7
    # Advisories for other lines: 1.17-1.18.1, < 1.23, 1.25.2-1.25.8, 1.26.0-1.26.4.
    assert not {"PYSEC-2017-98", "PYSEC-2018-32", "PYSEC-2020-149", "PYSEC-2021-59"} & set(result)
    assert found(all_records, Pkg("PyPI", "urllib3", "1.26.18")) == {}
    # 2.0.6 is past CVE-2023-43804's fix on the 2.x line, not CVE-2023-45803's.
    assert set(found(all_records, Pkg("PyPI", "urllib3", "2.0.6"))) == {"PYSEC-2023-212"}
    assert found(all_records, Pkg("PyPI", "urllib3", "2.0.7")) == {}


def test_jinja2_2_10(all_records: dict[str, OsvRecord]) -> None:
    result = found(all_records, Pkg("PyPI", "Jinja2", "2.10"))
    # CVE-2019-10906 (sandbox escape via str.format_map; fixed in 2.10.1) and CVE-2020-28493
    # (ReDoS in urlize; fixed in 2.11.3).
    assert set(result) == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert "CVE-2019-10906" in all_records["PYSEC-2019-217"].aliases
    assert "CVE-2020-28493" in all_records["PYSEC-2021-66"].aliases
    assert result["PYSEC-2019-217"].fixed_version == "2.10.1"
    assert result["PYSEC-2021-66"].fixed_version == "2.11.3"
    assert set(found(all_records, Pkg("PyPI", "jinja2", "2.10.1"))) == {"PYSEC-2021-66"}
    assert found(all_records, Pkg("PyPI", "jinja2", "2.11.3")) == {}


def test_real_last_affected_record(all_records: dict[str, OsvRecord]) -> None:
    rec = all_records["PYSEC-2022-42969"]  # py: ReDoS, last_affected 1.11.0 (no fix)
    hit = affected(rec, Pkg("PyPI", "py", "1.11.0"))
    assert hit is not None and hit.fixed_version is None
    assert affected(rec, Pkg("PyPI", "py", "1.11.1")) is None


def test_real_withdrawn_records_never_match(all_records: dict[str, OsvRecord]) -> None:
    withdrawn = [r for r in all_records.values() if r.withdrawn is not None]
    assert len(withdrawn) == 10
    arrayfire = all_records["PYSEC-2019-144"]  # introduced 0, fixed 3.6.0; withdrawn
    assert "3.3.20160624" in arrayfire.affected[0].versions
    live = dataclasses.replace(arrayfire, withdrawn=None)
    assert affected(live, Pkg("PyPI", "arrayfire", "3.3.20160624")) is not None
    assert affected(arrayfire, Pkg("PyPI", "arrayfire", "3.3.20160624")) is None
    for rec in withdrawn:
        for item in rec.affected:
            assert item.package is not None
            for version in item.versions[:3]:
                assert affected(rec, Pkg("PyPI", item.package.name, version)) is None


def test_match_packages_pairs_packages_with_candidates(all_records: dict[str, OsvRecord]) -> None:
    packages = [
        Pkg("Debian:12", "perl-base", "5.36.0-7+deb12u3", "perl", "5.36.0-7+deb12u3"),
        Pkg("Debian:12", "libpcre2-8-0", "10.42-1", "pcre2", "10.42-1"),
        Pkg("PyPI", "requests", "2.19.1"),
        Pkg("PyPI", "idna", "3.7"),
    ]
    result = match_packages(packages, all_records.values())
    assert {(p.name, r.id) for p, r, _ in result} == {
        *(("perl-base", i) for i in PERL_FIXED_IN_DEB12U4),
        ("libpcre2-8-0", "DEBIAN-CVE-2026-103111"),
        ("requests", "PYSEC-2018-28"),
        ("requests", "PYSEC-2023-74"),
    }
