"""Version order per ecosystem: tables of tricky cases, properties, and the package managers
themselves (dpkg, rpm, npm's semver) as oracles where they are installed."""

from __future__ import annotations

import functools
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.scanning.versions import (
    InvalidVersion,
    UnsupportedEcosystem,
    compare,
    compare_scheme,
    ecosystem_base,
    is_valid,
    rpmvercmp,
    scheme_for,
)

# (ecosystem, a, b, expected sign of compare(a, b))
ORDER_TABLE = [
    # dpkg
    ("Debian:12", "1.0~rc1", "1.0", -1),
    ("Debian:12", "1.0~rc1~1", "1.0~rc1", -1),
    ("Debian:12", "1:0.9", "2.0", 1),
    ("Debian:12", "0:1.0", "1.0", 0),
    ("Debian:12", "1.0", "1.00", 0),
    ("Debian:12", "1.0-1", "1.0-1+b1", -1),
    ("Debian:12", "1.0a", "1.0+", -1),  # letters sort before non-letters
    ("Debian:12", "1.0+deb12u1", "1.0", 1),
    ("Debian:12", "5.36.0-7+deb12u3", "5.36.0-7+deb12u4", -1),
    ("Debian:12", "3.0.17-1~deb12u2", "3.0.17-1~deb12u3", -1),
    ("Debian:12", "3.0.17-1~deb12u3", "3.0.17-1", -1),
    ("Debian:12", "3.0.9-1", "3.0.10-1~deb12u1", -1),
    ("Debian:12", "10.42-1", "10.42-1+deb12u2", -1),
    ("Ubuntu:22.04:LTS", "1.2-3ubuntu1", "1.2-3", 1),
    # PEP 440
    ("PyPI", "1.0.post1", "1.0", 1),
    ("PyPI", "1.0a1", "1.0", -1),
    ("PyPI", "1.0a1", "1.0b1", -1),
    ("PyPI", "1.0rc1", "1.0", -1),
    ("PyPI", "1.0.dev1", "1.0a1", -1),
    ("PyPI", "1.0", "1.0.0", 0),
    ("PyPI", "2.10", "2.9", 1),
    ("PyPI", "1!0.1", "2.0", 1),
    ("PyPI", "1.0+local", "1.0", 1),
    ("PyPI", "0.8.0-alpha2", "0.8.0a2", 0),
    ("PyPI", "2.19.1", "2.20.0", -1),
    # SemVer 2.0 (npm), spec section 11's own example chain and more
    ("npm", "1.0.0-alpha", "1.0.0-alpha.1", -1),
    ("npm", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
    ("npm", "1.0.0-alpha.beta", "1.0.0-beta", -1),
    ("npm", "1.0.0-beta", "1.0.0-beta.2", -1),
    ("npm", "1.0.0-beta.2", "1.0.0-beta.11", -1),
    ("npm", "1.0.0-beta.11", "1.0.0-rc.1", -1),
    ("npm", "1.0.0-rc.1", "1.0.0", -1),
    ("npm", "1.0.0", "2.0.0", -1),
    ("npm", "2.0.0", "2.1.0", -1),
    ("npm", "2.1.0", "2.1.1", -1),
    ("npm", "1.0.0+build.1", "1.0.0+build.2", 0),
    ("npm", "1.0.0-1", "1.0.0-a", -1),  # numeric identifiers below alphanumeric
    ("npm", "1.0.0-10", "1.0.0-9", 1),
    ("npm", "1.0.0-Z", "1.0.0-a", -1),  # ASCII order
    ("npm", "10.0.0", "9.9.9", 1),
    ("Go", "v1.2.3", "1.2.3", 0),
    # apk (apk-tools' rules)
    ("Alpine:v3.20", "1.2.3_rc1", "1.2.3", -1),
    ("Alpine:v3.20", "1.2.3", "1.2.3_p1", -1),
    ("Alpine:v3.20", "1.2.3_rc1", "1.2.3_p1", -1),
    ("Alpine:v3.20", "1.2.3-r1", "1.2.3-r2", -1),
    ("Alpine:v3.20", "1.2.3-r9", "1.2.3-r10", -1),
    ("Alpine:v3.20", "1.2.3", "1.2.3-r0", -1),
    ("Alpine:v3.20", "1.2.3_p1-r0", "1.2.3-r5", 1),
    ("Alpine:v3.20", "1.2.3_alpha", "1.2.3_beta", -1),
    ("Alpine:v3.20", "1.2.3_beta", "1.2.3_pre", -1),
    ("Alpine:v3.20", "1.2.3_pre", "1.2.3_rc", -1),
    ("Alpine:v3.20", "1.2.3_git20240101", "1.2.3_p1", -1),
    ("Alpine:v3.20", "1.2.3_cvs", "1.2.3_svn", -1),
    ("Alpine:v3.20", "1.2.3a", "1.2.3b", -1),
    ("Alpine:v3.20", "1.2.3", "1.2.3a", -1),
    ("Alpine:v3.20", "1.2.3a", "1.2.4", -1),
    ("Alpine:v3.20", "1.2", "1.2.1", -1),
    ("Alpine:v3.20", "1.2.10", "1.2.9", 1),
    ("Alpine:v3.20", "1.02", "1.1", -1),  # a leading zero compares as a string
    ("Alpine:v3.20", "1.2.07.8", "1.2.12.04", -1),
    ("Alpine:v3.20", "0.1.0_alpha_pre2", "0.1.0_alpha", -1),
    ("Alpine:v3.20", "1.0~abc", "1.0", 1),
    ("Alpine:v3.20", "1.0~abc", "1.0_p1", -1),
    ("Alpine:v3.20", "3.3.2-r0", "3.3.2-r0", 0),
    ("Wolfi", "3.0.13-r0", "3.0.13-r1", -1),
    # rpm
    ("Red Hat:enterprise_linux:9::baseos", "1:0.9-1", "2.0-1", 1),
    ("AlmaLinux:9", "1.0-1.el9", "1.0-2.el9", -1),
    ("Rocky Linux:9", "1.0~rc1-1", "1.0-1", -1),
    ("SUSE:Linux Enterprise Server 15 SP5", "1.0^git1-1", "1.0-1", 1),
    ("SUSE:Linux Enterprise Server 15 SP5", "1.0^git1-1", "1.0.1-1", -1),
    ("openSUSE:Leap 15.5", "1.0a-1", "1.0-1", 1),  # an extra segment is newer
    ("openSUSE:Leap 15.5", "1.0a-1", "1.0.1-1", -1),  # numeric beats alphabetic
    ("Photon OS:5.0", "2.010-1", "2.9-1", 1),
    ("Photon OS:5.0", "1.0-1", "1.0", 1),  # a release makes it later (rpm 4.18)
    ("Mageia:9", "0:1.0-1", "1.0-1", 0),
    ("Mageia:9", "1.0_1-1", "1.0.1-1", 0),
]


@pytest.mark.parametrize(("ecosystem", "a", "b", "expected"), ORDER_TABLE)
def test_order_table(ecosystem: str, a: str, b: str, expected: int) -> None:
    assert compare(ecosystem, a, b) == expected
    assert compare(ecosystem, b, a) == -expected


@pytest.mark.parametrize(
    ("ecosystem", "scheme"),
    [
        ("Debian:12", "dpkg"),
        ("Ubuntu:Pro:18.04:LTS", "dpkg"),
        ("PyPI", "pep440"),
        ("npm", "semver"),
        ("crates.io", "semver"),
        ("Alpine:v3.20", "apk"),
        ("Red Hat:rhel_aus:8.4::appstream", "rpm"),
    ],
)
def test_ecosystems_map_to_schemes(ecosystem: str, scheme: str) -> None:
    assert scheme_for(ecosystem) == scheme


def test_ecosystem_base() -> None:
    assert ecosystem_base("Debian:12") == "Debian"
    assert ecosystem_base("PyPI") == "PyPI"


def test_unknown_ecosystems_are_refused() -> None:
    with pytest.raises(UnsupportedEcosystem):
        compare("Maven", "1.0", "2.0")
    assert not is_valid("Maven", "1.0")


@pytest.mark.parametrize(
    ("ecosystem", "version"),
    [
        ("PyPI", "2019-09-12"),  # in the real PyPA data, as a fixed version
        ("PyPI", "0.2.0-n653"),  # likewise
        ("PyPI", "not a version"),
        ("Debian:12", ""),
        ("Debian:12", "1.0 beta"),
        ("Debian:12", "a:1.0"),
        ("npm", "1.0"),
        ("npm", "01.0.0"),
        ("npm", "1.0.0-01"),
        ("npm", "1.0.0-"),
        ("Alpine:v3.20", "1.0-1"),  # a revision must be -rN
        ("Alpine:v3.20", "1.0_foo"),  # unknown suffix
        ("Alpine:v3.20", "1.0bc"),  # one letter only
        ("Alpine:v3.20", "v1.0"),
        ("Alpine:v3.20", "1.0-r1_p1"),  # nothing may follow the revision
        ("Red Hat:x", ""),
        ("Red Hat:x", "1.0 1"),
    ],
)
def test_invalid_versions_raise(ecosystem: str, version: str) -> None:
    assert not is_valid(ecosystem, version)
    with pytest.raises(InvalidVersion):
        compare(ecosystem, version, "1.0.0")
    with pytest.raises(InvalidVersion):
        compare(ecosystem, "1.0.0", version)


def test_rpmvercmp_segments() -> None:
    assert rpmvercmp("1.0", "1.0") == 0
    assert rpmvercmp("1.0", "1_0") == 0  # separators only separate
    assert rpmvercmp("1.01", "1.1") == 0  # leading zeros do not count
    assert rpmvercmp("1.0~rc1", "1.0") == -1
    assert rpmvercmp("1.0~~", "1.0~") == -1
    assert rpmvercmp("1.0^", "1.0") == 1
    assert rpmvercmp("1.0^", "1.0.1") == -1
    assert rpmvercmp("99999999999999999999", "100000000000000000000") == -1


# -- properties ---------------------------------------------------------------------------------

_digits = st.integers(min_value=0, max_value=30).map(str)


def _dpkg_versions() -> st.SearchStrategy[str]:
    upstream = st.builds(
        lambda first, rest: first + rest,
        st.sampled_from("0123456789"),
        st.text(alphabet="0129ab.+~", max_size=6),
    )
    revision = st.text(alphabet="019ab.+~", min_size=1, max_size=5)
    epoch = st.one_of(st.just(""), _digits.map(lambda e: e + ":"))
    return st.builds(
        lambda e, u, r: f"{e}{u}-{r}" if r else f"{e}{u}",
        epoch,
        upstream,
        st.one_of(st.just(""), revision),
    )


def _pep440_versions() -> st.SearchStrategy[str]:
    release = st.lists(_digits, min_size=1, max_size=4).map(".".join)
    pre = st.one_of(
        st.just(""), st.builds(lambda k, n: f"{k}{n}", st.sampled_from(["a", "b", "rc"]), _digits)
    )
    post = st.one_of(st.just(""), _digits.map(lambda n: f".post{n}"))
    dev = st.one_of(st.just(""), _digits.map(lambda n: f".dev{n}"))
    local = st.one_of(st.just(""), st.sampled_from(["+local", "+1", "+ubuntu.1"]))
    epoch = st.one_of(st.just(""), st.sampled_from(["1!", "2!"]))
    return st.builds(lambda *parts: "".join(parts), epoch, release, pre, post, dev, local)


def _semver_versions() -> st.SearchStrategy[str]:
    number = st.sampled_from(["0", "1", "2", "10", "11"])
    ident = st.one_of(number, st.text(alphabet="abZ-", min_size=1, max_size=3), st.just("a1"))
    core = st.lists(number, min_size=3, max_size=3).map(".".join)
    pre = st.one_of(
        st.just(""), st.lists(ident, min_size=1, max_size=3).map(lambda p: "-" + ".".join(p))
    )
    build = st.one_of(st.just(""), st.sampled_from(["+b1", "+build.7", "+x-y"]))
    return st.builds(lambda c, p, b: c + p + b, core, pre, build)


def _apk_versions() -> st.SearchStrategy[str]:
    number = st.sampled_from(["0", "1", "2", "9", "10", "01", "007", "20240101"])
    core = st.lists(number, min_size=1, max_size=4).map(".".join)
    letter = st.one_of(st.just(""), st.sampled_from("abz"))
    suffix = st.lists(
        st.builds(
            lambda name, n: f"_{name}{n}",
            st.sampled_from(["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]),
            st.one_of(st.just(""), number),
        ),
        max_size=2,
    ).map("".join)
    commit = st.one_of(st.just(""), st.sampled_from(["~abc123", "~0f", "~ff00"]))
    revision = st.one_of(st.just(""), st.sampled_from(["-r0", "-r1", "-r2", "-r10"]))
    return st.builds(lambda *parts: "".join(parts), core, letter, suffix, commit, revision)


def _rpm_versions() -> st.SearchStrategy[str]:
    segment = st.text(alphabet="019ab.~^_", min_size=1, max_size=5)
    epoch = st.one_of(st.just(""), st.sampled_from(["0:", "1:", "2:"]))
    release = st.one_of(st.just(""), segment.map(lambda r: "-" + r))
    return st.builds(lambda e, v, r: e + v + r, epoch, segment, release)


STRATEGIES = {
    "Debian:12": _dpkg_versions(),
    "PyPI": _pep440_versions(),
    "npm": _semver_versions(),
    "Alpine:v3.20": _apk_versions(),
    "Red Hat:x": _rpm_versions(),
}


@pytest.mark.parametrize("ecosystem", sorted(STRATEGIES))
def test_generated_versions_are_valid(ecosystem: str) -> None:
    @given(STRATEGIES[ecosystem])
    @settings(max_examples=200)
    def check(version: str) -> None:
        assert is_valid(ecosystem, version), version

    check()


@pytest.mark.parametrize("ecosystem", sorted(STRATEGIES))
def test_compare_is_a_total_preorder(ecosystem: str) -> None:
    """Reflexive, antisymmetric and transitive on every triple generated."""

    @given(STRATEGIES[ecosystem], STRATEGIES[ecosystem], STRATEGIES[ecosystem])
    @settings(max_examples=400)
    def check(a: str, b: str, c: str) -> None:
        assert compare(ecosystem, a, a) == 0
        ab, bc, ac = compare(ecosystem, a, b), compare(ecosystem, b, c), compare(ecosystem, a, c)
        assert ab in (-1, 0, 1)
        assert compare(ecosystem, b, a) == -ab
        if ab <= 0 and bc <= 0:
            assert ac <= 0, (a, b, c)
        if ab >= 0 and bc >= 0:
            assert ac >= 0, (a, b, c)
        if ab == 0:
            assert ac == bc

    check()


@pytest.mark.parametrize("ecosystem", sorted(STRATEGIES))
def test_sorting_is_consistent(ecosystem: str) -> None:
    """After sorting, every pair is in order: what a non-transitive comparator breaks."""

    @given(st.lists(STRATEGIES[ecosystem], min_size=2, max_size=12))
    @settings(max_examples=150)
    def check(versions: list[str]) -> None:
        ordered = sorted(versions, key=functools.cmp_to_key(functools.partial(compare, ecosystem)))
        for i, earlier in enumerate(ordered):
            for later in ordered[i + 1 :]:
                assert compare(ecosystem, earlier, later) <= 0, (earlier, later)

    check()


@given(
    st.lists(st.integers(min_value=0, max_value=99), min_size=3, max_size=3),
    st.lists(st.integers(min_value=0, max_value=99), min_size=3, max_size=3),
)
def test_plain_numeric_versions_order_like_tuples(x: list[int], y: list[int]) -> None:
    a, b = ".".join(map(str, x)), ".".join(map(str, y))
    expected = (x > y) - (x < y)
    for ecosystem in ("Debian:12", "PyPI", "npm", "Alpine:v3.20", "Red Hat:x"):
        assert compare(ecosystem, a, b) == expected, ecosystem


@given(_semver_versions())
def test_semver_prerelease_sorts_below_its_release(version: str) -> None:
    release = version.split("+")[0].split("-")[0]
    if version.split("+")[0] != release:
        assert compare_scheme("semver", version, release) == -1
    else:
        assert compare_scheme("semver", version, release) == 0


# -- the package managers as oracles ------------------------------------------------------------


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@given(st.lists(_dpkg_versions(), min_size=2, max_size=8, unique=True))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_dpkg_agrees_with_dpkg(versions: list[str]) -> None:
    ordered = sorted(versions, key=functools.cmp_to_key(functools.partial(compare, "Debian:12")))
    for a, b in itertools.pairwise(ordered):
        op = "lt" if compare("Debian:12", a, b) < 0 else "eq"
        assert subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0, (a, b)


@pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed")
@given(st.lists(st.tuples(_rpm_versions(), _rpm_versions()), min_size=1, max_size=200))
@settings(max_examples=10, deadline=None)
def test_rpm_agrees_with_rpm(pairs: list[tuple[str, str]]) -> None:
    script = "; ".join(f'print(rpm.vercmp("{a}", "{b}") .. " ")' for a, b in pairs)
    out = subprocess.run(
        ["rpm", "--eval", f"%{{lua: {script} }}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(out) == len(pairs)
    for (a, b), theirs in zip(pairs, out, strict=True):
        assert compare("Red Hat:x", a, b) == int(theirs), (a, b)


_NPM_SEMVER = Path("/usr/lib/node_modules/npm/node_modules/semver")


@pytest.mark.skipif(
    shutil.which("node") is None or not _NPM_SEMVER.is_dir(),
    reason="node with npm's semver package is not installed",
)
@given(st.lists(st.tuples(_semver_versions(), _semver_versions()), min_size=1, max_size=200))
@settings(max_examples=10, deadline=None)
def test_semver_agrees_with_npm(pairs: list[tuple[str, str]]) -> None:
    script = (
        f"const s = require({json.dumps(str(_NPM_SEMVER))});"
        "const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(pairs.map(([a, b]) => s.compare(a, b))));"
    )
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps(pairs), capture_output=True, text=True, check=True
    ).stdout
    for (a, b), theirs in zip(pairs, json.loads(out), strict=True):
        assert compare("npm", a, b) == theirs, (a, b)
