"""Issue 12's acceptance: who may pull and push, on both doors, with real clients.

Account A is the server's default account (``000000000000``); account B is made with
``dockyard accounts create``. On ``/v2`` another account's repository is named with the
account id first (``/v2/<account>/<name>``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.authz import (
    PUSH_ACTIONS,
    READ_ONLY,
    allow,
    document,
    dumps,
    ecr_as,
    password_of,
    skopeo_pull,
    skopeo_push,
    v2_client,
)
from tests.support.ecr import ACCOUNT, AwsCli, expect_error
from tests.support.images import MANIFEST_ACCEPT, OCI_MANIFEST, make_image
from tests.support.servers import DockyardProcess

pytestmark = [pytest.mark.clients, pytest.mark.timeout(300)]

REGION = "us-east-1"


def repository_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:ecr:{REGION}:{account}:repository/{name}"


def denial(arn: str, action: str, resource: str, why: str) -> str:
    return f"User: {arn} is not authorized to perform: {action} on resource: {resource} {why}"


def no_identity_allow(action: str) -> str:
    return f"because no identity-based policy allows the {action} action"


def _aws_cli(server: DockyardProcess, key: tuple[str, str], home: Path) -> AwsCli:
    env = {
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return AwsCli(server.url, env)


# --- a read-only user ------------------------------------------------------------------------


def test_read_only_user_pulls_and_cannot_push(
    authz_server: DockyardProcess,
    pushed: tuple[str, str],
    user: Any,
    tmp_path: Path,
) -> None:
    repo, digest = pushed
    made = user("reader", managed=(READ_ONLY,))
    arn = made.arn
    aws = _aws_cli(authz_server, made.key, tmp_path)
    described = aws("describe-images", "--repository-name", repo)["imageDetails"]
    assert [d["imageDigest"] for d in described] == [digest]
    reader = ecr_as(authz_server.url, made.key)
    password = password_of(reader)
    pulled = skopeo_pull(authz_server.host, password, repo, "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr

    # Pushing: refused by skopeo, by /v2 with 403 DENIED, by the API with AccessDenied.
    other = make_image(f"authz/reader/{repo}", layers=1)
    refused = skopeo_push(authz_server.host, password, other, repo, "v2", tmp_path)
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "403" in refused.stderr, refused.stderr
    with v2_client(authz_server, password) as v2:
        r = v2.put(
            f"/v2/{repo}/manifests/v2",
            content=other.manifest.data,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert r.status_code == 403, r.text
        (error,) = r.json()["errors"]
        assert error["code"] == "DENIED"
        assert error["message"] == denial(
            arn, "ecr:PutImage", repository_arn(repo), no_identity_allow("ecr:PutImage")
        )
        r = v2.post(f"/v2/{repo}/blobs/uploads/")
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED"
        assert v2.delete(f"/v2/{repo}/manifests/{digest}").status_code == 403
    error = expect_error(
        "AccessDeniedException",
        reader.put_image,
        repositoryName=repo,
        imageManifest=other.manifest.data.decode(),
        imageTag="v2",
    )
    assert error.response["Error"]["Message"] == denial(
        arn, "ecr:PutImage", repository_arn(repo), no_identity_allow("ecr:PutImage")
    )
    cli_error = aws.error("AccessDeniedException", "create-repository", "--repository-name", "x1")
    assert "ecr:CreateRepository" in cli_error.stderr


# --- a CI user scoped to app-* ----------------------------------------------------------------


def test_ci_user_scoped_to_app_repositories(
    authz_server: DockyardProcess, ecr: Any, user: Any, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    app, db = f"app-web-{suffix}", f"db-{suffix}"
    for name in (app, db):
        ecr.create_repository(repositoryName=name)
    ci_policy = document(
        allow("ecr:GetAuthorizationToken"),
        allow(PUSH_ACTIONS, "arn:aws:ecr:*:*:repository/app-*"),
    )
    ci = ecr_as(authz_server.url, user("ci", inline=ci_policy).key)
    password = password_of(ci)
    image = make_image(f"authz/ci/{suffix}", layers=2)
    done = skopeo_push(authz_server.host, password, image, app, "v1", tmp_path)
    assert done.returncode == 0, done.stderr
    refused = skopeo_push(authz_server.host, password, image, db, "v1", tmp_path)
    assert refused.returncode != 0
    assert ecr.list_images(repositoryName=db)["imageIds"] == []
    # Pulling back what it pushed is in its policy too.
    assert skopeo_pull(authz_server.host, password, app, "v1", tmp_path).returncode == 0
    # The catalog lists only what ecr:DescribeRepositories allows: nothing, for this policy.
    with v2_client(authz_server, password) as v2:
        assert v2.get("/v2/_catalog").json()["repositories"] == []
        # A mount from a repository it cannot read falls back to a plain upload session.
        layer = image.layers[0]
        r = v2.post(f"/v2/{app}/blobs/uploads/", params={"mount": layer.digest, "from": db})
        assert r.status_code == 202, r.text
    expect_error("AccessDeniedException", ci.describe_images, repositoryName=db)


def test_catalog_lists_what_describe_repositories_allows(
    authz_server: DockyardProcess, ecr: Any, user: Any
) -> None:
    suffix = uuid.uuid4().hex[:8]
    seen, hidden = f"app-cat-{suffix}", f"db-cat-{suffix}"
    for name in (seen, hidden):
        ecr.create_repository(repositoryName=name)
    lister = user(
        "lister",
        inline=document(
            allow("ecr:GetAuthorizationToken"),
            allow("ecr:DescribeRepositories", f"arn:aws:ecr:*:*:repository/app-cat-{suffix}"),
        ),
    )
    with v2_client(authz_server, password_of(ecr_as(authz_server.url, lister.key))) as v2:
        assert v2.get("/v2/_catalog").json()["repositories"] == [seen]
    with v2_client(authz_server, password_of(ecr)) as root:
        listed = root.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]
        assert {seen, hidden} <= set(listed)


# --- across accounts ------------------------------------------------------------------------


def test_cross_account_pull_needs_both_policies(
    authz_server: DockyardProcess,
    ecr: Any,
    pushed: tuple[str, str],
    account_b: tuple[str, Any],
    tmp_path: Path,
) -> None:
    repo, digest = pushed
    b_account, b_iam = account_b
    arn = repository_arn(repo)
    # B's CI role may pull A's repository (the seed's identity policy, verbatim actions).
    pull_policy = document(
        allow("ecr:GetAuthorizationToken"),
        allow(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            arn,
        ),
    )
    name = f"puller-{uuid.uuid4().hex[:6]}"
    b_iam.create_user(UserName=name)
    b_iam.put_user_policy(UserName=name, PolicyName="pull-a", PolicyDocument=dumps(pull_policy))
    made = b_iam.create_access_key(UserName=name)["AccessKey"]
    puller = ecr_as(authz_server.url, (made["AccessKeyId"], made["SecretAccessKey"]))
    puller_arn = f"arn:aws:iam::{b_account}:user/{name}"
    password = password_of(puller)
    foreign = f"{ACCOUNT}/{repo}"

    # A has not granted anything: refused on both doors.
    error = expect_error(
        "AccessDeniedException",
        puller.batch_get_image,
        registryId=ACCOUNT,
        repositoryName=repo,
        imageIds=[{"imageTag": "v1"}],
    )
    assert error.response["Error"]["Message"] == denial(
        puller_arn,
        "ecr:BatchGetImage",
        arn,
        "because no resource-based policy allows the ecr:BatchGetImage action",
    )
    with v2_client(authz_server, password) as v2:
        assert v2.get(f"/v2/{foreign}/manifests/v1").status_code == 403
    assert skopeo_pull(authz_server.host, password, foreign, "v1", tmp_path).returncode != 0

    # A's repository policy grants B (the seed's document: pull actions to another account).
    grant = document(
        {
            "Sid": "AllowCrossAccountPull",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }
    )
    ecr.set_repository_policy(repositoryName=repo, policyText=dumps(grant))
    got = puller.batch_get_image(
        registryId=ACCOUNT, repositoryName=repo, imageIds=[{"imageTag": "v1"}]
    )
    assert [i["imageId"]["imageDigest"] for i in got["images"]] == [digest]
    with v2_client(authz_server, password) as v2:
        r = v2.get(f"/v2/{foreign}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
        assert r.status_code == 200, r.text
        assert r.headers["Docker-Content-Digest"] == digest
        # Pushing was never granted.
        assert v2.post(f"/v2/{foreign}/blobs/uploads/").status_code == 403
    pulled = skopeo_pull(authz_server.host, password, foreign, "v1", tmp_path)
    assert pulled.returncode == 0, pulled.stderr

    # A's grant alone is not enough: B's user without an identity policy is refused.
    bare = f"bare-{uuid.uuid4().hex[:6]}"
    b_iam.create_user(UserName=bare)
    bare_key = b_iam.create_access_key(UserName=bare)["AccessKey"]
    bare_ecr = ecr_as(authz_server.url, (bare_key["AccessKeyId"], bare_key["SecretAccessKey"]))
    error = expect_error(
        "AccessDeniedException",
        bare_ecr.batch_get_image,
        registryId=ACCOUNT,
        repositoryName=repo,
        imageIds=[{"imageTag": "v1"}],
    )
    assert "because no identity-based policy allows" in error.response["Error"]["Message"]


# --- explicit deny ------------------------------------------------------------------------------


def test_explicit_deny_in_repository_policy_beats_every_allow(
    authz_server: DockyardProcess, ecr: Any, pushed: tuple[str, str], user: Any
) -> None:
    repo, digest = pushed
    admin = ecr_as(authz_server.url, user("admin", inline=document(allow("ecr:*"))).key)
    deny = document(
        {"Sid": "NoPulls", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"}
    )
    ecr.set_repository_policy(repositoryName=repo, policyText=dumps(deny))
    root_arn = f"arn:aws:iam::{ACCOUNT}:root"
    for client, arn in ((ecr, root_arn), (admin, None)):
        error = expect_error(
            "AccessDeniedException",
            client.batch_get_image,
            repositoryName=repo,
            imageIds=[{"imageDigest": digest}],
        )
        message = error.response["Error"]["Message"]
        assert message.endswith(
            f"ecr:BatchGetImage on resource: {repository_arn(repo)} "
            "with an explicit deny in a resource-based policy"
        ), message
        if arn is not None:
            assert message.startswith(f"User: {arn} ")
        with v2_client(authz_server, password_of(client)) as v2:
            r = v2.get(f"/v2/{repo}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT})
            assert r.status_code == 403
            assert r.json()["errors"][0]["message"] == message
            # What the Deny does not name stays allowed.
            assert v2.head(f"/v2/{repo}/blobs/{digest}").status_code in (200, 404)
    # The root can still remove the policy (the Deny names pulls only), and pull again.
    ecr.delete_repository_policy(repositoryName=repo)
    assert ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": digest}])["images"]


# --- revocation -----------------------------------------------------------------------------------


def test_revoked_permission_stops_within_the_cache_lifetime(
    authz_server: DockyardProcess, iam: Any, pushed: tuple[str, str], user: Any
) -> None:
    repo, digest = pushed
    policy = document(allow(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"]))
    made = user("revoked", inline=policy)
    password = password_of(ecr_as(authz_server.url, made.key))
    name = made.name
    with v2_client(authz_server, password) as v2:
        url = f"/v2/{repo}/manifests/v1"
        assert v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 200
        iam.delete_user_policy(UserName=name, PolicyName="inline")
        revoked = time.monotonic()
        while v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 200:
            assert time.monotonic() - revoked < 2.5, "the permission outlived its revocation"
            time.sleep(0.05)
        # The same password (issued while allowed) now gets 403: permissions apply at use.
        assert v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 403
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=dumps(policy))
        granted = time.monotonic()
        while v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code != 200:
            assert time.monotonic() - granted < 2.5, "a new grant took too long"
            time.sleep(0.05)
    assert digest


def test_an_iam_change_on_this_node_applies_to_the_next_request(
    authz_server: DockyardProcess, iam: Any, pushed: tuple[str, str], user: Any
) -> None:
    """The decision cache never outlives a change made through the same node: only other
    nodes (or the CLI's process) wait out its TTL."""
    repo, _digest = pushed
    policy = document(allow(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"]))
    made = user("immediate", inline=policy)
    password = password_of(ecr_as(authz_server.url, made.key))
    with v2_client(authz_server, password) as v2:
        url = f"/v2/{repo}/manifests/v1"
        for _ in range(2):  # the second answer comes from the warm cache
            assert v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 200
        iam.delete_user_policy(UserName=made.name, PolicyName="inline")
        assert v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 403
        iam.put_user_policy(UserName=made.name, PolicyName="inline", PolicyDocument=dumps(policy))
        assert v2.get(url, headers={"Accept": MANIFEST_ACCEPT}).status_code == 200


# --- the operator's view --------------------------------------------------------------------


def test_simulate_shows_the_deciding_statements(
    authz_server: DockyardProcess, repo: str, user: Any
) -> None:
    from tests.support.tools import run

    made = user(
        "simulated",
        inline={
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "PushApp", "Effect": "Allow", "Action": PUSH_ACTIONS, "Resource": "*"}
            ],
        },
    )
    who = made.arn
    arn = repository_arn(repo)
    base = [
        "python",
        "-m",
        "dockyard",
        "iam",
        "simulate",
        "--principal",
        who,
        "--resource",
        arn,
        "--data-dir",
        str(authz_server.data_dir),
    ]
    allowed = run([*base, "--action", "ecr:PutImage"])
    assert "allowed" in allowed.stdout and "PushApp" in allowed.stdout, allowed.stdout
    denied = run([*base, "--action", "ecr:DeleteRepository"], check=False)
    assert denied.returncode == 1
    assert "no identity-based policy allows the ecr:DeleteRepository action" in " ".join(
        denied.stdout.split()
    ), denied.stdout


def test_simulate_principal_policy_api(
    authz_server: DockyardProcess, ecr: Any, iam: Any, repo: str, user: Any
) -> None:
    made = user("simulated-api", inline=document(allow(PUSH_ACTIONS)))
    arn = repository_arn(repo)
    deny = document(
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchDeleteImage"}
    )
    ecr.set_repository_policy(repositoryName=repo, policyText=dumps(deny))
    answer = iam.simulate_principal_policy(
        PolicySourceArn=made.arn,
        ActionNames=["ecr:PutImage", "ecr:DeleteRepository", "ecr:BatchDeleteImage"],
        ResourceArns=[arn],
    )
    assert answer["IsTruncated"] is False
    results = {r["EvalActionName"]: r for r in answer["EvaluationResults"]}
    assert {a: r["EvalDecision"] for a, r in results.items()} == {
        "ecr:PutImage": "allowed",
        "ecr:DeleteRepository": "implicitDeny",
        "ecr:BatchDeleteImage": "explicitDeny",
    }
    assert results["ecr:PutImage"]["EvalResourceName"] == arn
    (matched,) = results["ecr:PutImage"]["MatchedStatements"]
    assert matched["SourcePolicyType"] == "user"
    assert matched["SourcePolicyId"].endswith("inline")
    (denied,) = results["ecr:BatchDeleteImage"]["MatchedStatements"]
    assert denied["SourcePolicyType"] == "resource"
