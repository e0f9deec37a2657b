"""Tag filters (Dockyard's extension of a rule): ``imageTagFilters`` of WILDCARD patterns
replicate only images with a matching tag, with the matching tags only; a backfill obeys
them too; bad filters are ECR-shaped InvalidParameterExceptions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.replication.conftest import ACCOUNT_A, IRELAND, VIRGINIA
from tests.replication.helpers import manifest_digest, rule, settled, statuses, v2, wait_for
from tests.support.ecr import expect_error, extended_client
from tests.support.images import make_image, push_image, push_manifest
from tests.support.servers import DockyardProcess

RELEASES = [{"filter": "release-*", "filterType": "WILDCARD"}]


def tag_rule(prefix: str, *filters: dict[str, str]) -> dict[str, Any]:
    return {**rule(prefix, (ACCOUNT_A, IRELAND)), "imageTagFilters": list(filters)}


def test_only_images_with_a_matching_tag_are_replicated_with_those_tags(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    put = virginia.put_replication_configuration(
        replicationConfiguration={"rules": [tag_rule(prefix, *RELEASES)]}
    )
    assert put["replicationConfiguration"]["rules"][0]["imageTagFilters"] == RELEASES
    described = virginia.describe_registry()["replicationConfiguration"]
    assert described == put["replicationConfiguration"]

    virginia.create_repository(repositoryName=name)
    release, dev, bare = (make_image(f"{name}-{n}", layers=1) for n in ("rel", "dev", "bare"))
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, dev, "dev-1")
        push_image(client, name, bare)  # untagged: no tag can match
        push_image(client, name, release, "latest")  # not yet a release
        push_manifest(client, name, "release-1.0", release.manifest)  # now it is
    found = settled(virginia, name, release.digest)
    assert found[(ACCOUNT_A, IRELAND)]["status"] == "COMPLETE"
    assert statuses(virginia, name, dev.digest) == {}
    assert statuses(virginia, name, bare.digest) == {}

    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "release-1.0") == release.digest
        # Only the matching tag went along; the other images did not go at all.
        assert client.get(f"/v2/{name}/tags/list").json()["tags"] == ["release-1.0"]
        assert manifest_digest(client, name, dev.digest) is None
        assert manifest_digest(client, name, bare.digest) is None


def test_a_backfill_follows_the_tag_filters(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
    virginia.create_repository(repositoryName=name)
    release, dev = make_image(f"{name}-r", layers=1), make_image(f"{name}-d", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, release, "release-2")
        push_image(client, name, dev, "dev-2")
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [tag_rule(prefix, *RELEASES)]}
    )
    backfill = virginia.start_replication_backfill(repositoryName=name)["backfill"]

    def done() -> dict[str, Any] | None:
        got = virginia.describe_replication_backfill_results(backfillId=backfill["backfillId"])
        return got if got["backfill"]["status"] == "COMPLETE" else None

    results = wait_for("the backfill", done)
    assert [(r["imageDigest"], r["status"]) for r in results["results"]] == [
        (release.digest, "COMPLETE")
    ]
    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "release-2") == release.digest
        assert manifest_digest(client, name, dev.digest) is None


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ([{"filter": "release-*", "filterType": "PREFIX_MATCH"}], "filterType"),
        ([{"filter": "rel/ease", "filterType": "WILDCARD"}], "filter"),
        ([{"filter": "", "filterType": "WILDCARD"}], "filter"),
        ([{"filterType": "WILDCARD"}], "filter"),
    ],
    ids=["type", "pattern", "empty", "missing"],
)
def test_bad_tag_filters_are_invalid_parameters(
    server: DockyardProcess, filters: list[dict[str, str]], words: str
) -> None:
    unchecked = extended_client(server.url, VIRGINIA, validate=False)
    err = expect_error(
        "InvalidParameterException",
        unchecked.put_replication_configuration,
        replicationConfiguration={"rules": [tag_rule("bad", *filters)]},
    )
    assert words in err.response["Error"]["Message"]
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
