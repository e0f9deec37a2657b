"""Every IAM and STS handler's answer matches botocore's output shape exactly (no unknown
member, no missing required one, every constraint kept), on a registry opened in process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dockyard.api.aws.registry import OperationRegistry
from dockyard.api.aws.service import Call
from dockyard.api.aws.validate import check_output
from dockyard.api.iam.operations import OPERATIONS as IAM
from dockyard.api.sts.operations import OPERATIONS as STS
from dockyard.domain.identity import Caller
from dockyard.services import Registry

DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
    }
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "sts:AssumeRole"}
        ],
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


def test_every_answer_matches_its_output_shape(local: Registry, root: Caller) -> None:
    answered: set[str] = set()

    def call(registry: OperationRegistry[Call], name: str, **body: Any) -> dict[str, Any]:
        registration = registry.registration(name)
        assert registration is not None, name
        context = Call(local, root, name, "http://127.0.0.1:5000", "req", "us-east-1")
        result = asyncio.run(registration.handler(context, body))
        assert check_output(registration.operation, result) == [], name
        answered.add(name)
        return result

    call(IAM, "CreateUser", UserName="ci", Path="/ci/")
    call(IAM, "GetUser", UserName="ci")
    call(IAM, "ListUsers", MaxItems=1)
    key = call(IAM, "CreateAccessKey", UserName="ci")["AccessKey"]
    call(IAM, "ListAccessKeys", UserName="ci")
    call(IAM, "ListAccessKeys")
    call(IAM, "UpdateAccessKey", UserName="ci", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    call(IAM, "CreateGroup", GroupName="builders")
    call(IAM, "AddUserToGroup", GroupName="builders", UserName="ci")
    call(IAM, "GetGroup", GroupName="builders")
    call(IAM, "ListGroups")
    call(IAM, "ListGroupsForUser", UserName="ci")
    call(IAM, "CreateRole", RoleName="deploy", AssumeRolePolicyDocument=TRUST, Description="d")
    call(IAM, "GetRole", RoleName="deploy")
    call(IAM, "ListRoles")
    policy = call(IAM, "CreatePolicy", PolicyName="push", PolicyDocument=DOCUMENT)["Policy"]
    call(IAM, "GetPolicy", PolicyArn=policy["Arn"])
    call(IAM, "GetPolicyVersion", PolicyArn=policy["Arn"], VersionId="v1")
    call(IAM, "ListPolicies")
    for kind, owner in (("User", "ci"), ("Group", "builders"), ("Role", "deploy")):
        named = {f"{kind}Name": owner}
        call(IAM, f"Put{kind}Policy", **named, PolicyName="inline", PolicyDocument=DOCUMENT)
        call(IAM, f"Get{kind}Policy", **named, PolicyName="inline")
        call(IAM, f"List{kind}Policies", **named)
        call(IAM, f"Delete{kind}Policy", **named, PolicyName="inline")
        for arn in (policy["Arn"], READ_ONLY):
            call(IAM, f"Attach{kind}Policy", **named, PolicyArn=arn)
        call(IAM, f"ListAttached{kind}Policies", **named)
        for arn in (policy["Arn"], READ_ONLY):
            call(IAM, f"Detach{kind}Policy", **named, PolicyArn=arn)
    call(
        IAM,
        "SimulatePrincipalPolicy",
        PolicySourceArn="arn:aws:iam::000000000000:user/ci/ci",
        ActionNames=["ecr:PutImage", "ecr:DeleteRepository"],
        ResourceArns=["arn:aws:ecr:us-east-1:000000000000:repository/app"],
    )
    call(STS, "GetCallerIdentity")
    call(
        STS,
        "AssumeRole",
        RoleArn="arn:aws:iam::000000000000:role/deploy",
        RoleSessionName="shapes",
        DurationSeconds=900,
    )
    call(IAM, "DeletePolicy", PolicyArn=policy["Arn"])
    call(IAM, "DeleteRole", RoleName="deploy")
    call(IAM, "RemoveUserFromGroup", GroupName="builders", UserName="ci")
    call(IAM, "DeleteGroup", GroupName="builders")
    call(IAM, "DeleteAccessKey", UserName="ci", AccessKeyId=key["AccessKeyId"])
    call(IAM, "DeleteUser", UserName="ci")
    assert answered == set(IAM) | set(STS)
