"""The AWS-managed policies users attach for ECR, with the documents AWS publishes.

Each is an IAM managed policy owned by "aws" (``arn:aws:iam::aws:policy/<Name>``) that every
account can attach and none can change. The documents are the default versions the AWS
Managed Policy Reference shows (``version`` is that version's id), laid out as it shows
them; ``domain.policy.parse_policy`` reads them like any other identity-based policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ARN_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True, slots=True)
class AwsManagedPolicy:
    name: str
    description: str
    version: str
    document: str

    @property
    def arn(self) -> str:
        return ARN_PREFIX + self.name

    @property
    def path(self) -> str:
        return "/"


def _document(*statements: dict[str, Any]) -> str:
    body = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps(body, indent=2, separators=(",", " : "))


def _allow(actions: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*", **extra}


_READ = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
]
_PUSH = [
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
]

_POLICIES = (
    AwsManagedPolicy(
        "AmazonEC2ContainerRegistryReadOnly",
        "Provides read-only access to Amazon EC2 Container Registry repositories.",
        "v3",
        _document(_allow(_READ)),
    ),
    AwsManagedPolicy(
        "AmazonEC2ContainerRegistryPowerUser",
        "Provides full access to Amazon EC2 Container Registry repositories, but does not "
        "allow repository deletion or policy changes.",
        "v3",
        _document(_allow(_READ + _PUSH)),
    ),
    AwsManagedPolicy(
        "AmazonEC2ContainerRegistryFullAccess",
        "Provides administrative access to Amazon ECR resources",
        "v3",
        _document(
            _allow(["ecr:*", "cloudtrail:LookupEvents"]),
            _allow(
                ["iam:CreateServiceLinkedRole"],
                Condition={
                    "StringEquals": {"iam:AWSServiceName": ["replication.ecr.amazonaws.com"]}
                },
            ),
        ),
    ),
    AwsManagedPolicy(
        "AmazonEC2ContainerRegistryPullOnly",
        "Provides access to pull images from Amazon EC2 Container Registry repositories.",
        "v1",
        _document(
            _allow(
                [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchImportUpstreamImage",
                ]
            )
        ),
    ),
    AwsManagedPolicy(
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        "v1",
        _document(_allow("*")),
    ),
)

# Keyed by ARN, the name IAM's Attach*Policy calls use.
MANAGED_POLICIES: Mapping[str, AwsManagedPolicy] = {p.arn: p for p in _POLICIES}


def by_arn(arn: str) -> AwsManagedPolicy | None:
    return MANAGED_POLICIES.get(arn)


def by_name(name: str) -> AwsManagedPolicy | None:
    return MANAGED_POLICIES.get(ARN_PREFIX + name)
