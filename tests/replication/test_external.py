"""External destinations (Dockyard's extension): a CNCF docker-registry behind htpasswd
Basic authentication, and another Dockyard behind a Bearer token service with its
credentials in a Secrets Manager secret. skopeo pushes to Dockyard; the same digest is
pulled from the destination with skopeo; statuses, failure codes and retries cover them;
the operations answer ECR-shaped errors; credentials never reach the logs or the database
in the clear."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.remote.peers import BearerFront, ThreadedServer
from tests.replication.conftest import IRELAND, MIRROR_PASSWORD, MIRROR_USER, VIRGINIA
from tests.replication.helpers import (
    external_settled,
    external_statuses,
    manifest_digest,
    v2,
    wait_for,
)
from tests.support.authz import skopeo_push
from tests.support.ecr import expect_error, extended_client, login_password
from tests.support.images import (
    COSIGN_SIGNATURE,
    MANIFEST_ACCEPT,
    make_config,
    make_image,
    make_layer,
    make_manifest,
    make_multiarch_index,
    push_blob,
    push_image,
    push_manifest,
)
from tests.support.lifecycle import dockyard
from tests.support.secrets import HtpasswdDistribution, secrets_client
from tests.support.servers import DistributionProcess, DockyardProcess
from tests.support.tools import skopeo


def external_rule(prefix: str, *registries: str, **extra: Any) -> dict[str, Any]:
    return {
        "destinations": [{"externalRegistry": r} for r in registries],
        "repositoryFilters": [{"filter": prefix, "filterType": "PREFIX_MATCH"}],
        **extra,
    }


def register(ecr: Any, url: str, **credentials: Any) -> str:
    name = f"mirror-{uuid.uuid4().hex[:8]}"
    made = ecr.create_external_registry(name=name, url=url, insecure=True, **credentials)
    assert made["externalRegistry"]["name"] == name
    return name


def skopeo_digest(host: str, name: str, tag: str, creds: str | None) -> str:
    at = "@" if ":" in tag else ":"
    args = ["inspect", "--tls-verify=false", f"docker://{host}/{name}{at}{tag}"]
    if creds is not None:
        args[1:1] = ["--creds", creds]
    return str(json.loads(skopeo(*args).stdout)["Digest"])


def test_skopeo_push_reaches_a_docker_registry_behind_basic_auth(
    server: DockyardProcess,
    virginia: Any,
    basic_distribution: HtpasswdDistribution,
    prefix: str,
    name: str,
    tmp_path: Path,
) -> None:
    mirror = register(
        virginia, basic_distribution.url, username=MIRROR_USER, password=MIRROR_PASSWORD
    )
    described = virginia.describe_external_registries(names=[mirror])["externalRegistries"]
    assert described[0]["url"] == basic_distribution.url
    assert described[0]["username"] == MIRROR_USER and described[0]["hasPassword"] is True
    assert "password" not in described[0]
    config = {"rules": [external_rule(prefix, mirror)]}
    put = virginia.put_replication_configuration(replicationConfiguration=config)
    assert put["replicationConfiguration"] == config
    assert virginia.describe_registry()["replicationConfiguration"] == config

    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-ext", layers=2)
    pushed = skopeo_push(server.host, login_password(virginia), image, name, "v1", tmp_path)
    assert pushed.returncode == 0, pushed.stderr

    assert external_settled(virginia, name, image.digest, mirror) == {
        "externalRegistry": mirror,
        "status": "COMPLETE",
    }
    creds = f"{MIRROR_USER}:{MIRROR_PASSWORD}"
    assert skopeo_digest(basic_distribution.host, name, "v1", creds) == image.digest
    # A rerun (a retry of a COMPLETE image changes nothing) leaves the same image.
    assert skopeo_digest(basic_distribution.host, name, image.digest, creds) == image.digest

    # The operator's view names the destination by its registration.
    rows = dockyard(server.data_dir, "replication", "status", "--repository", name, "--json")
    (row,) = [json.loads(line) for line in rows.stdout.splitlines()]
    assert row["destination"] == f"external:000000000000:{VIRGINIA}:{mirror}"
    assert row["status"] == "COMPLETE"

    # The password is nowhere in the clear: not in the database, not in any log.
    secret = MIRROR_PASSWORD.encode()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert MIRROR_PASSWORD not in server.log_text()
    with sqlite3.connect(server.data_dir / "metadata.db") as db:
        (sealed,) = db.execute(
            "SELECT password_ciphertext FROM external_registries WHERE name = ?", (mirror,)
        ).fetchone()
    assert sealed and secret not in sealed
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def test_an_index_with_its_signature_reaches_another_dockyard_behind_bearer_tokens(
    server: DockyardProcess, virginia: Any, ireland: Any, prefix: str, name: str
) -> None:
    """Another Dockyard (here eu-west-1 of the same deployment, reached over /v2 only),
    challenging with Bearer; the credentials come from a Secrets Manager secret."""
    password = login_password(ireland)
    sm = secrets_client(server.url)
    secret = sm.create_secret(
        Name=f"replication/{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": "AWS", "password": password}),
    )
    ireland.create_repository(repositoryName=name)
    front = BearerFront(server.url, realm=f"{server.url}/")
    with ThreadedServer(front) as bearer:
        mirror = register(virginia, bearer.url, credentialArn=secret["ARN"])
        virginia.put_replication_configuration(
            replicationConfiguration={"rules": [external_rule(prefix, mirror)]}
        )
        virginia.create_repository(repositoryName=name)
        index = make_multiarch_index(f"{name}-idx", [("linux", "amd64"), ("linux", "arm64")])
        payload = make_layer(f"{name}-sig", files=1)
        config = make_config([payload])
        signature = make_manifest(
            config, [payload], subject=index.index, artifact_type=COSIGN_SIGNATURE
        )
        with v2(server, virginia, VIRGINIA) as client:
            push_image(client, name, index, "v1")
            for blob in (config, payload):
                push_blob(client, name, blob)
            push_manifest(client, name, signature.digest, signature)
        assert external_settled(virginia, name, index.digest, mirror)["status"] == "COMPLETE"
        assert external_settled(virginia, name, signature.digest, mirror)["status"] == "COMPLETE"
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})

    with v2(server, ireland, IRELAND) as client:
        assert manifest_digest(client, name, "v1") == index.digest
        for child in index.images:
            assert manifest_digest(client, name, child.digest) == child.digest
        referrers = client.get(f"/v2/{name}/referrers/{index.digest}").json()["manifests"]
        assert [r["digest"] for r in referrers] == [signature.digest]
    # The replicas were pushed as any client pushes: the destination replicates them on.
    assert sm.get_secret_value(SecretId=secret["ARN"])["SecretString"]  # still there


def test_failures_are_reported_and_retried_once_fixed(
    server: DockyardProcess,
    virginia: Any,
    basic_distribution: HtpasswdDistribution,
    prefix: str,
    name: str,
) -> None:
    mirror = register(
        virginia, basic_distribution.url, username=MIRROR_USER, password="not-the-password"
    )
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [external_rule(prefix, mirror)]}
    )
    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-f", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, image, "v1")
    failed = external_settled(virginia, name, image.digest, mirror)
    assert failed == {
        "externalRegistry": mirror,
        "status": "FAILED",
        "failureCode": "DESTINATION_REGISTRY_AUTHENTICATION_FAILED",
    }
    rows = dockyard(server.data_dir, "replication", "status", "--repository", name, "--json")
    (row,) = [json.loads(line) for line in rows.stdout.splitlines()]
    assert row["status"] == "FAILED" and "401" in row["last_error"]
    assert "not-the-password" not in row["last_error"]

    # The operator fixes the password and retries: the image arrives.
    virginia.update_external_registry(
        name=mirror,
        url=basic_distribution.url,
        insecure=True,
        username=MIRROR_USER,
        password=MIRROR_PASSWORD,
    )
    retried = dockyard(server.data_dir, "replication", "retry", "--repository", name)
    assert "1 replication(s) queued" in retried.stdout
    assert external_settled(virginia, name, image.digest, mirror)["status"] == "COMPLETE"
    creds = f"{MIRROR_USER}:{MIRROR_PASSWORD}"
    assert skopeo_digest(basic_distribution.host, name, "v1", creds) == image.digest
    assert "not-the-password" not in server.log_text()
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def test_an_unreachable_registry_is_retried(
    server: DockyardProcess, virginia: Any, prefix: str, name: str
) -> None:
    """Nothing listens there: a transient error, IN_PROGRESS with the error while the job
    queue retries (with backoff), the last error on record."""
    from tests.support.servers import free_port

    mirror = register(virginia, f"http://127.0.0.1:{free_port()}")
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [external_rule(prefix, mirror)]}
    )
    virginia.create_repository(repositoryName=name)
    image = make_image(f"{name}-u", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, image, "v1")

    def erred() -> dict[str, Any] | None:
        rows = dockyard(server.data_dir, "replication", "status", "--repository", name, "--json")
        found = [json.loads(line) for line in rows.stdout.splitlines()]
        return found[0] if found and found[0]["last_error"] else None

    row = wait_for("the first run's error", erred)
    assert row["status"] == "IN_PROGRESS" and "RemoteUnreachable" in row["last_error"]
    assert external_statuses(virginia, name, image.digest)[mirror]["status"] == "IN_PROGRESS"
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})


def test_the_operations_answer_ecr_shaped_errors(
    server: DockyardProcess, virginia: Any, distribution: DistributionProcess
) -> None:
    unchecked = extended_client(server.url, VIRGINIA, validate=False)
    missing = f"missing-{uuid.uuid4().hex[:6]}"

    def refused(code: str, call: Any, words: str, **params: Any) -> None:
        err = expect_error(code, call, **params)
        assert words in err.response["Error"]["Message"], err.response["Error"]["Message"]
        assert 400 <= err.response["ResponseMetadata"]["HTTPStatusCode"] < 500

    url = distribution.url
    refused(
        "ExternalRegistryNotFoundException",
        virginia.delete_external_registry,
        missing,
        name=missing,
    )
    refused(
        "ExternalRegistryNotFoundException",
        virginia.describe_external_registries,
        missing,
        names=[missing],
    )
    refused(
        "ExternalRegistryNotFoundException",
        virginia.update_external_registry,
        missing,
        name=missing,
        url=url,
        insecure=True,
    )
    refused(
        "ExternalRegistryNotFoundException",
        virginia.put_replication_configuration,
        missing,
        replicationConfiguration={"rules": [external_rule("xx", missing)]},
    )
    mirror = register(virginia, url)
    refused(
        "ExternalRegistryAlreadyExistsException",
        virginia.create_external_registry,
        mirror,
        name=mirror,
        url=url,
        insecure=True,
    )
    # Plain http needs insecure; no path, no credentials in the URL; username with password.
    fresh = f"x-{uuid.uuid4().hex[:6]}"
    refused(
        "InvalidParameterException",
        virginia.create_external_registry,
        "insecure",
        name=fresh,
        url=url,
    )
    refused(
        "InvalidParameterException",
        virginia.create_external_registry,
        "without a path",
        name=fresh,
        url=f"{url}/v2/",
        insecure=True,
    )
    refused(
        "InvalidParameterException",
        virginia.create_external_registry,
        "do not belong in the URL",
        name=fresh,
        url="https://user:hunter2@registry.example.com",
    )
    refused(
        "InvalidParameterException",
        virginia.create_external_registry,
        "both username and password",
        name=fresh,
        url=url,
        insecure=True,
        username="someone",
    )
    refused(
        "InvalidParameterException",
        unchecked.create_external_registry,
        "name",
        name="Bad Name",
        url=url,
    )
    refused("InvalidParameterException", unchecked.create_external_registry, "url", name=fresh)
    refused(
        "SecretNotFoundException",
        virginia.create_external_registry,
        "secret",
        name=fresh,
        url=url,
        insecure=True,
        credentialArn=f"arn:aws:secretsmanager:{VIRGINIA}:000000000000:secret:nope-AbCdEf",
    )
    sm = secrets_client(server.url)
    shapeless = sm.create_secret(Name=f"shapeless-{fresh}", SecretString='{"user": "x"}')
    refused(
        "InvalidParameterException",
        virginia.create_external_registry,
        "username",
        name=fresh,
        url=url,
        insecure=True,
        credentialArn=shapeless["ARN"],
    )
    # A destination is ECR's pair or externalRegistry alone.
    refused(
        "InvalidParameterException",
        unchecked.put_replication_configuration,
        "either externalRegistry",
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [
                        {"externalRegistry": mirror, "region": IRELAND, "registryId": "0" * 12}
                    ]
                }
            ]
        },
    )
    refused(
        "InvalidParameterException",
        unchecked.put_replication_configuration,
        "needs region and registryId",
        replicationConfiguration={"rules": [{"destinations": [{"region": IRELAND}]}]},
    )
    # A registry a rule names cannot go; once no rule names it, it can.
    virginia.put_replication_configuration(
        replicationConfiguration={"rules": [external_rule("zz-nothing", mirror)]}
    )
    refused(
        "ExternalRegistryInUseException", virginia.delete_external_registry, mirror, name=mirror
    )
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
    deleted = virginia.delete_external_registry(name=mirror)["externalRegistry"]
    assert deleted["name"] == mirror


def test_the_aws_cli_knows_the_operations(
    server: DockyardProcess, distribution: DistributionProcess, tmp_path: Path
) -> None:
    from tests.replication.test_regions import aws
    from tests.support.ecr import extensions_data_path

    cli = aws(server, tmp_path)
    # aws CLI v1 fetches a parameter that is an http(s) URL unless told not to (v2 never).
    config = tmp_path / "aws-config"
    config.write_text("[default]\ncli_follow_urlparam = false\n")
    cli.env = {**cli.env, "AWS_DATA_PATH": extensions_data_path(), "AWS_CONFIG_FILE": str(config)}
    name = f"cli-{uuid.uuid4().hex[:6]}"
    made = cli(
        "create-external-registry",
        "--name",
        name,
        "--url",
        distribution.url,
        "--insecure",
    )["externalRegistry"]
    assert made["name"] == name and made["insecure"] is True and made["hasPassword"] is False
    listed = cli("describe-external-registries")["externalRegistries"]
    assert name in [r["name"] for r in listed]
    assert cli("delete-external-registry", "--name", name)["externalRegistry"]["name"] == name
    err = cli.error("ExternalRegistryNotFoundException", "delete-external-registry", "--name", name)
    assert name in err.stderr


@pytest.fixture
def plain_v2(distribution: DistributionProcess) -> httpx.Client:
    return httpx.Client(base_url=distribution.url, timeout=30)


def test_the_open_registry_gets_what_the_tag_filter_lets_through(
    server: DockyardProcess,
    virginia: Any,
    distribution: DistributionProcess,
    plain_v2: httpx.Client,
    prefix: str,
    name: str,
) -> None:
    mirror = register(virginia, distribution.url)
    rule = external_rule(
        prefix, mirror, imageTagFilters=[{"filter": "release-*", "filterType": "WILDCARD"}]
    )
    virginia.put_replication_configuration(replicationConfiguration={"rules": [rule]})
    virginia.create_repository(repositoryName=name)
    release, dev = make_image(f"{name}-r", layers=1), make_image(f"{name}-d", layers=1)
    with v2(server, virginia, VIRGINIA) as client:
        push_image(client, name, dev, "dev-1")
        push_image(client, name, release, "release-1")
    assert external_settled(virginia, name, release.digest, mirror)["status"] == "COMPLETE"
    assert external_statuses(virginia, name, dev.digest) == {}
    assert plain_v2.get(f"/v2/{name}/tags/list").json()["tags"] == ["release-1"]
    r = plain_v2.get(f"/v2/{name}/manifests/{dev.digest}", headers={"Accept": MANIFEST_ACCEPT})
    assert r.status_code == 404
    virginia.put_replication_configuration(replicationConfiguration={"rules": []})
