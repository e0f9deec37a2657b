"""Issue 12's matrix: who may do what, through boto3, the ``aws`` CLI, skopeo and podman.

Account A is the server's default account (``000000000000``), B a second one made with
``dockyard accounts create``. Repositories of A, each holding one image tagged ``v1``:

* ``app-web``: its repository policy lets B's role ``cross-account-puller`` pull (AWS's
  "allow another account to pull" example, ``repository-cross-account-pull.json``);
* ``app-locked``: its repository policy denies the user ``denied`` everything
  (``repository-deny-user.json``);
* ``db``: no policy, outside the CI user's ``app-*``.

Principals:

* ``root``: A's root;
* ``reader``: a user of A with the AWS-managed AmazonEC2ContainerRegistryReadOnly;
* ``ci``: a user of A with ``ci-push-pull.json`` (push and pull on ``repository/app-*``);
* ``member``: a user of A in a group whose policy is ``ecs-eks-pull-only.json``;
* ``role``: A's role trusting B, with ``ecs-eks-pull-only.json``, assumed by B's user (whose
  policy allows ``sts:AssumeRole`` on it), calling with session credentials;
* ``denied``: a user of A allowed ``ecr:*`` by its identity policy, denied by ``app-locked``'s;
* ``b-role``: B's role ``cross-account-puller`` with ``ecs-eks-pull-only.json``, assumed by
  B's root: across accounts both its policy and ``app-web``'s must allow.

Operations and the ECR action each is refused with: ``describe`` DescribeImages; ``pull``
BatchGetImage (a skopeo/podman pull); ``push`` PutImage (with boto3 and the CLI a new tag on
``v1``'s manifest; skopeo and podman push a new image, blobs first); ``delete``
BatchDeleteImage (of a tag A's root added for the cell).

Expected: ``allow``, or the end of AWS's AccessDenied sentence: ``no-identity`` ("because no
identity-based policy allows the <action> action"), ``no-resource`` ("because no
resource-based policy allows ..."), ``explicit-deny`` ("with an explicit deny in a
resource-based policy"). On ``/v2`` a denial is 403 DENIED, and skopeo and podman fail
printing it.

boto3 covers every principal x operation; the CLI, skopeo and podman one allow and one deny
per principal (two allows for the root, which nothing here denies).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.authz import (
    READ_ONLY,
    REGION,
    allow,
    document,
    dumps,
    ecr_as,
    iam_client,
    password_of,
    skopeo_pull,
    skopeo_push,
    v2_client,
)
from tests.support.ecr import ACCOUNT, AwsCli, AwsCliError
from tests.support.images import Image, make_image, push_image, write_oci_layout
from tests.support.podman import Podman
from tests.support.servers import ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY, DockyardProcess
from tests.support.tools import Completed, require_tool, run

pytestmark = [pytest.mark.clients, pytest.mark.timeout(120)]

POLICIES = Path(__file__).parents[1] / "data" / "policies"

MATRIX = """
principal  operation  repository  client  expected
root       describe   app-web     boto3   allow
root       pull       app-web     boto3   allow
root       push       app-web     boto3   allow
root       delete     app-web     boto3   allow
root       describe   app-web     cli     allow
root       delete     app-web     cli     allow
root       pull       app-web     skopeo  allow
root       push       app-web     skopeo  allow
root       pull       app-web     podman  allow
root       push       app-web     podman  allow

reader     describe   app-web     boto3   allow
reader     pull       app-web     boto3   allow
reader     push       app-web     boto3   no-identity
reader     delete     app-web     boto3   no-identity
reader     describe   app-web     cli     allow
reader     push       app-web     cli     no-identity
reader     pull       app-web     skopeo  allow
reader     push       app-web     skopeo  no-identity
reader     pull       app-web     podman  allow
reader     push       app-web     podman  no-identity

ci         describe   app-web     boto3   no-identity
ci         pull       app-web     boto3   allow
ci         push       app-web     boto3   allow
ci         delete     app-web     boto3   no-identity
ci         pull       db          boto3   no-identity
ci         push       db          boto3   no-identity
ci         push       app-web     cli     allow
ci         push       db          cli     no-identity
ci         push       app-web     skopeo  allow
ci         push       db          skopeo  no-identity
ci         push       app-web     podman  allow
ci         push       db          podman  no-identity

member     describe   app-web     boto3   no-identity
member     pull       app-web     boto3   allow
member     push       app-web     boto3   no-identity
member     delete     app-web     boto3   no-identity
member     pull       app-web     cli     allow
member     describe   app-web     cli     no-identity
member     pull       app-web     skopeo  allow
member     push       app-web     skopeo  no-identity
member     pull       app-web     podman  allow
member     push       app-web     podman  no-identity

role       describe   app-web     boto3   no-identity
role       pull       app-web     boto3   allow
role       push       app-web     boto3   no-identity
role       delete     app-web     boto3   no-identity
role       pull       app-web     cli     allow
role       push       app-web     cli     no-identity
role       pull       app-web     skopeo  allow
role       push       app-web     skopeo  no-identity
role       pull       app-web     podman  allow
role       push       app-web     podman  no-identity

denied     describe   app-locked  boto3   explicit-deny
denied     pull       app-locked  boto3   explicit-deny
denied     push       app-locked  boto3   explicit-deny
denied     delete     app-locked  boto3   explicit-deny
denied     pull       app-web     boto3   allow
denied     delete     app-web     boto3   allow
denied     describe   app-web     cli     allow
denied     describe   app-locked  cli     explicit-deny
denied     pull       app-web     skopeo  allow
denied     pull       app-locked  skopeo  explicit-deny
denied     pull       app-web     podman  allow
denied     push       app-locked  podman  explicit-deny

b-role     describe   app-web     boto3   no-identity
b-role     pull       app-web     boto3   allow
b-role     push       app-web     boto3   no-identity
b-role     delete     app-web     boto3   no-identity
b-role     pull       db          boto3   no-resource
b-role     pull       app-web     cli     allow
b-role     pull       db          cli     no-resource
b-role     pull       app-web     skopeo  allow
b-role     pull       db          skopeo  no-resource
b-role     pull       app-web     podman  allow
b-role     push       app-web     podman  no-identity
"""

ACTIONS = {
    "describe": "ecr:DescribeImages",
    "pull": "ecr:BatchGetImage",
    "push": "ecr:PutImage",
    "delete": "ecr:BatchDeleteImage",
}
REASONS = {
    "no-identity": "because no identity-based policy allows the {action} action",
    "no-resource": "because no resource-based policy allows the {action} action",
    "explicit-deny": "with an explicit deny in a resource-based policy",
}
REPOSITORIES = ("app-web", "app-locked", "db")


@dataclass(frozen=True)
class Cell:
    principal: str
    operation: str
    repository: str
    client: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.principal}-{self.operation}-{self.repository}-{self.client}"


def _cells(table: str) -> list[Cell]:
    header, *rows = [line.split() for line in table.strip().splitlines() if line.strip()]
    assert header == ["principal", "operation", "repository", "client", "expected"]
    cells = [Cell(*row) for row in rows]
    for cell in cells:
        assert cell.operation in ACTIONS and cell.repository in REPOSITORIES, cell
        assert cell.client in ("boto3", "cli", "skopeo", "podman"), cell
        assert cell.expected == "allow" or cell.expected in REASONS, cell
    return cells


CELLS = _cells(MATRIX)


def _by_client(client: str) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in CELLS if c.client == client]


def policy_text(name: str, **accounts: str) -> str:
    """A document of tests/data/policies as written, its ACCOUNT_<X>_ID placeholders
    replaced (``a=..., b=...``), checked to be JSON."""
    text = (POLICIES / name).read_text()
    for letter, account in accounts.items():
        text = text.replace(f"ACCOUNT_{letter.upper()}_ID", account)
    assert "ACCOUNT_" not in text, text
    json.loads(text)
    return text


# --------------------------------------------------------------------------- principals


@dataclass
class Principal:
    arn: str
    account: str
    key: tuple[str, str]
    token: str | None = None
    ecr: Any = None
    _password: str | None = field(default=None, repr=False)

    @property
    def password(self) -> str:
        if self._password is None:
            self._password = password_of(self.ecr)
        return self._password

    def cli_env(self, home: Path) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": self.key[0],
            "AWS_SECRET_ACCESS_KEY": self.key[1],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        if self.token is not None:
            env["AWS_SESSION_TOKEN"] = self.token
        return env


@dataclass(frozen=True)
class World:
    server: DockyardProcess
    root: Any  # A's root ECR client
    principals: dict[str, Principal]
    digest: str  # of v1, in every repository
    scratch: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardProcess]:
    proc = DockyardProcess(
        tmp_path_factory.mktemp("matrix-data"),
        log_dir=tmp_path_factory.mktemp("matrix-log"),
        open_access=False,
    )
    with proc.serving():
        yield proc


def _account_b(server: DockyardProcess) -> tuple[str, tuple[str, str]]:
    out = run(
        [sys.executable, "-m", "dockyard", "accounts", "create", "--data-dir", server.data_dir]
    ).stdout
    made = dict(line.split("=", 1) for line in out.split())
    return made["AWS_ACCOUNT_ID"], (made["AWS_ACCESS_KEY_ID"], made["AWS_SECRET_ACCESS_KEY"])


def _user(iam: Any, account: str, name: str) -> Principal:
    iam.create_user(UserName=name)
    made = iam.create_access_key(UserName=name)["AccessKey"]
    key = (str(made["AccessKeyId"]), str(made["SecretAccessKey"]))
    return Principal(f"arn:aws:iam::{account}:user/{name}", account, key)


def _assume(url: str, principal: Principal, role_arn: str, session: str) -> Principal:
    sts = boto3.session.Session(
        aws_access_key_id=principal.key[0],
        aws_secret_access_key=principal.key[1],
        aws_session_token=principal.token,
        region_name=REGION,
    ).client("sts", endpoint_url=url)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    account = role_arn.split(":")[4]
    role = role_arn.rsplit("/", 1)[1]
    return Principal(
        f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        account,
        (credentials["AccessKeyId"], credentials["SecretAccessKey"]),
        credentials["SessionToken"],
    )


def _trusting(account: str) -> str:
    return dumps(
        document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        )
    )


@pytest.fixture(scope="module")
def world(server: DockyardProcess, tmp_path_factory: pytest.TempPathFactory) -> World:
    url = server.url
    root_key = (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
    root = ecr_as(url, root_key)
    iam = iam_client(url)
    b_account, b_root_key = _account_b(server)
    b_iam = iam_client(url, b_root_key)
    pull_only = policy_text("ecs-eks-pull-only.json")

    # A's repositories, each holding v1; then their policies.
    image = make_image("authz/matrix", layers=1)
    with v2_client(server, password_of(root)) as v2:
        for name in REPOSITORIES:
            root.create_repository(repositoryName=name)
            push_image(v2, name, image, tag="v1")
    root.set_repository_policy(
        repositoryName="app-web",
        policyText=policy_text("repository-cross-account-pull.json", b=b_account),
    )
    root.set_repository_policy(
        repositoryName="app-locked", policyText=policy_text("repository-deny-user.json", a=ACCOUNT)
    )

    principals = {"root": Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, root_key)}

    principals["reader"] = _user(iam, ACCOUNT, "reader")
    iam.attach_user_policy(UserName="reader", PolicyArn=READ_ONLY)

    principals["ci"] = _user(iam, ACCOUNT, "ci")
    iam.put_user_policy(
        UserName="ci", PolicyName="ci-push-pull", PolicyDocument=policy_text("ci-push-pull.json")
    )

    iam.create_group(GroupName="pullers")
    iam.put_group_policy(GroupName="pullers", PolicyName="pull-only", PolicyDocument=pull_only)
    principals["member"] = _user(iam, ACCOUNT, "member")
    iam.add_user_to_group(GroupName="pullers", UserName="member")

    principals["denied"] = _user(iam, ACCOUNT, "denied")
    iam.put_user_policy(
        UserName="denied", PolicyName="ecr-all", PolicyDocument=dumps(document(allow("ecr:*")))
    )

    # A's role, trusting B; B's user may assume it.
    role_arn = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=_trusting(b_account))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(RoleName="deployer", PolicyName="pull-only", PolicyDocument=pull_only)
    b_user = _user(b_iam, b_account, "assumer")
    b_iam.put_user_policy(
        UserName="assumer",
        PolicyName="assume-deployer",
        PolicyDocument=dumps(document(allow("sts:AssumeRole", role_arn))),
    )
    principals["role"] = _assume(url, b_user, role_arn, "matrix")

    # B's role, named by app-web's repository policy, assumed by B's root.
    b_role_arn = b_iam.create_role(
        RoleName="cross-account-puller", AssumeRolePolicyDocument=_trusting(b_account)
    )["Role"]["Arn"]
    b_iam.put_role_policy(
        RoleName="cross-account-puller", PolicyName="pull-only", PolicyDocument=pull_only
    )
    b_root = Principal(f"arn:aws:iam::{b_account}:root", b_account, b_root_key)
    principals["b-role"] = _assume(url, b_root, b_role_arn, "matrix")

    for principal in principals.values():
        principal.ecr = ecr_as(url, principal.key, session_token=principal.token)
    return World(server, root, principals, image.digest, tmp_path_factory.mktemp("matrix"))


# --------------------------------------------------------------------------- helpers


def repository_arn(name: str) -> str:
    return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"


def expected_denial(cell: Cell, principal: Principal) -> str:
    action = ACTIONS[cell.operation]
    because = REASONS[cell.expected].format(action=action)
    return (
        f"User: {principal.arn} is not authorized to perform: {action} "
        f"on resource: {repository_arn(cell.repository)} {because}"
    )


def fresh_tag(cell: Cell) -> str:
    return f"{cell.client}-{cell.principal}-{uuid.uuid4().hex[:8]}"


def v1_manifest(world: World, cell: Cell) -> str:
    images = world.root.batch_get_image(
        repositoryName=cell.repository, imageIds=[{"imageTag": "v1"}]
    )["images"]
    return str(images[0]["imageManifest"])


def tag_for_deletion(world: World, cell: Cell) -> str:
    """A tag on v1's manifest, added by A's root, for a delete cell to remove."""
    tag = fresh_tag(cell)
    manifest = v1_manifest(world, cell)
    world.root.put_image(repositoryName=cell.repository, imageManifest=manifest, imageTag=tag)
    return tag


def tags_of(world: World, repository: str) -> set[str]:
    ids = world.root.list_images(repositoryName=repository)["imageIds"]
    return {i["imageTag"] for i in ids if "imageTag" in i}


def v2_name(cell: Cell, principal: Principal) -> str:
    """The repository's name on /v2: another account's is prefixed with A's id."""
    return cell.repository if principal.account == ACCOUNT else f"{ACCOUNT}/{cell.repository}"


def push_image_for(cell: Cell) -> Image:
    return make_image(f"authz/matrix/{cell.id}/{uuid.uuid4().hex}", layers=1)


def check_v2_denial(world: World, done: Completed, cell: Cell, principal: Principal) -> None:
    """A client refused on /v2: it failed on a 403, printing the registry's DENIED sentence
    when the refused request has a body to carry it (a HEAD has none); and the /v2 request
    that starts the operation answers 403 DENIED with AWS's sentence."""
    assert done.returncode != 0, done.stdout
    said = " ".join(done.stderr.split())
    who = f"User: {principal.arn} is not authorized to perform: ecr:"
    if who in said:
        # The action refused first is the client's first step, not necessarily the cell's.
        assert "denied" in said.lower(), said
        assert f"on resource: {repository_arn(cell.repository)}" in said, said
        assert REASONS[cell.expected].split(" the {action}")[0] in said, said
    else:
        assert "403 (Forbidden)" in said, said
    name = v2_name(cell, principal)
    with v2_client(world.server, principal.password) as v2:
        if cell.operation == "pull":
            action, r = "ecr:BatchGetImage", v2.get(f"/v2/{name}/manifests/v1")
        else:
            action, r = "ecr:InitiateLayerUpload", v2.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 403, r.text
    (error,) = r.json()["errors"]
    assert error["code"] == "DENIED"
    because = REASONS[cell.expected].format(action=action)
    assert error["message"] == (
        f"User: {principal.arn} is not authorized to perform: {action} "
        f"on resource: {repository_arn(cell.repository)} {because}"
    )


# --------------------------------------------------------------------------- boto3


def _boto3(world: World, cell: Cell, principal: Principal) -> Callable[[], Any]:
    ecr, repo = principal.ecr, cell.repository
    where = {"registryId": ACCOUNT, "repositoryName": repo}
    if cell.operation == "describe":
        return lambda: ecr.describe_images(**where, imageIds=[{"imageTag": "v1"}])
    if cell.operation == "pull":
        return lambda: ecr.batch_get_image(**where, imageIds=[{"imageTag": "v1"}])
    if cell.operation == "push":
        manifest, tag = v1_manifest(world, cell), fresh_tag(cell)
        return lambda: ecr.put_image(**where, imageManifest=manifest, imageTag=tag)
    tag = tag_for_deletion(world, cell)
    return lambda: ecr.batch_delete_image(**where, imageIds=[{"imageTag": tag}])


@pytest.mark.parametrize("cell", _by_client("boto3"))
def test_boto3(world: World, cell: Cell) -> None:
    principal = world.principals[cell.principal]
    call = _boto3(world, cell, principal)
    if cell.expected != "allow":
        before = tags_of(world, cell.repository)
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", error
        assert error["Message"] == expected_denial(cell, principal)
        assert tags_of(world, cell.repository) == before
        return
    answer = call()
    if cell.operation == "describe":
        assert [d["imageDigest"] for d in answer["imageDetails"]] == [world.digest]
    elif cell.operation == "pull":
        assert [i["imageId"]["imageDigest"] for i in answer["images"]] == [world.digest]
        assert answer["failures"] == []
    elif cell.operation == "push":
        assert answer["image"]["imageId"]["imageDigest"] == world.digest
        assert answer["image"]["imageId"]["imageTag"] in tags_of(world, cell.repository)
    else:
        assert answer["failures"] == [], answer
        (deleted,) = answer["imageIds"]
        assert deleted["imageTag"] not in tags_of(world, cell.repository)


# --------------------------------------------------------------------------- aws CLI


def _cli_args(world: World, cell: Cell) -> list[str]:
    where = ["--registry-id", ACCOUNT, "--repository-name", cell.repository]
    if cell.operation == "describe":
        return ["describe-images", *where, "--image-ids", "imageTag=v1"]
    if cell.operation == "pull":
        return ["batch-get-image", *where, "--image-ids", "imageTag=v1"]
    if cell.operation == "push":
        manifest = v1_manifest(world, cell)
        return ["put-image", *where, "--image-manifest", manifest, "--image-tag", fresh_tag(cell)]
    tag = tag_for_deletion(world, cell)
    return ["batch-delete-image", *where, "--image-ids", f"imageTag={tag}"]


@pytest.mark.parametrize("cell", _by_client("cli"))
def test_aws_cli(world: World, cell: Cell, tmp_path: Path) -> None:
    principal = world.principals[cell.principal]
    aws = AwsCli(world.server.url, principal.cli_env(tmp_path))
    args = _cli_args(world, cell)
    if cell.expected != "allow":
        refused = aws.error("AccessDeniedException", *args)
        assert expected_denial(cell, principal) in " ".join(refused.stderr.split())
        return
    try:
        answer = aws(*args)
    except AwsCliError as error:
        pytest.fail(str(error))
    if cell.operation == "describe":
        assert [d["imageDigest"] for d in answer["imageDetails"]] == [world.digest]
    elif cell.operation == "pull":
        assert [i["imageId"]["imageDigest"] for i in answer["images"]] == [world.digest]
    elif cell.operation == "push":
        assert answer["image"]["imageId"]["imageDigest"] == world.digest
    else:
        assert answer["failures"] == [], answer


# --------------------------------------------------------------------------- skopeo


@pytest.mark.parametrize("cell", _by_client("skopeo"))
def test_skopeo(world: World, cell: Cell) -> None:
    principal = world.principals[cell.principal]
    host, name = world.server.host, v2_name(cell, principal)
    scratch = world.scratch / cell.id
    scratch.mkdir()
    if cell.operation == "pull":
        done = skopeo_pull(host, principal.password, name, "v1", scratch)
    else:
        assert cell.operation == "push"
        image, tag = push_image_for(cell), fresh_tag(cell)
        done = skopeo_push(host, principal.password, image, name, tag, scratch)
    if cell.expected != "allow":
        check_v2_denial(world, done, cell, principal)
        return
    assert done.returncode == 0, done.stderr
    if cell.operation == "push":
        described = world.root.describe_images(
            repositoryName=cell.repository, imageIds=[{"imageTag": tag}]
        )["imageDetails"]
        assert [d["imageDigest"] for d in described] == [image.digest]


# --------------------------------------------------------------------------- podman


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    """One podman with private state; a short directory, as podman refuses a long runroot."""
    state = Path(tempfile.mkdtemp(prefix="dockyard-matrix-podman-"))
    try:
        yield Podman(state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def podman_logins(world: World, podman: Podman) -> dict[str, Path]:
    """Per principal, an authfile written by ``aws ecr get-login-password | podman login``."""
    logins: dict[str, Path] = {}
    home = world.scratch / "podman-cli-home"
    home.mkdir()
    login = [podman.binary, *map(str, podman.global_args), "login", "--tls-verify=false"]
    for name, principal in world.principals.items():
        authfile = world.scratch / f"podman-auth-{name}.json"
        command = (
            f"set -o pipefail; {shlex.quote(require_tool('aws'))} --endpoint-url "
            f"{shlex.quote(world.server.url)} ecr get-login-password | "
            f"{shlex.join([*login, '--authfile', str(authfile)])} "
            f"--username AWS --password-stdin {shlex.quote(world.server.host)}"
        )
        env = {**os.environ, **podman.env, **principal.cli_env(home)}
        done = subprocess.run(
            ["bash", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and "Login Succeeded" in done.stdout, done.stderr
        logins[name] = authfile
    return logins


@pytest.mark.parametrize("cell", _by_client("podman"))
def test_podman(world: World, podman: Podman, podman_logins: dict[str, Path], cell: Cell) -> None:
    principal = world.principals[cell.principal]
    remote = f"{world.server.host}/{v2_name(cell, principal)}"
    options = ["--tls-verify=false", "--authfile", podman_logins[cell.principal]]
    options += ["--signature-policy", podman.policy]
    if cell.operation == "pull":
        done = podman("pull", *options, f"{remote}:v1", check=False)
    else:
        assert cell.operation == "push"
        image, tag = push_image_for(cell), fresh_tag(cell)
        layout = write_oci_layout(world.scratch / f"podman-{cell.id}", {"src": image})
        podman("pull", "--signature-policy", podman.policy, f"oci:{layout}:src")
        done = podman("push", *options, image.config.hex, f"docker://{remote}:{tag}", check=False)
    if cell.expected != "allow":
        check_v2_denial(world, done, cell, principal)
        return
    assert done.returncode == 0, done.stderr
    if cell.operation == "pull":
        assert world.digest in podman("image", "inspect", f"{remote}:v1").stdout
    else:
        assert tag in tags_of(world, cell.repository)
