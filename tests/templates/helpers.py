"""Documents and checks the template tests share."""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "000000000000"

LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire untagged images after a day",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
)

# Another account may pull (AWS's repository policy example).
PULL_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowPull",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)

FILTERS = [
    {"filterType": "WILDCARD", "filter": "latest"},
    {"filterType": "WILDCARD", "filter": "dev-*"},
]
TAGS = [{"Key": "team", "Value": "infra"}, {"Key": "cost-center", "Value": "42"}]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-templates"


def full_template(prefix: str, *applied_for: str) -> dict[str, Any]:
    """CreateRepositoryCreationTemplate parameters holding every setting."""
    return {
        "prefix": prefix,
        "description": f"everything for {prefix}",
        "appliedFor": list(applied_for or ["CREATE_ON_PUSH"]),
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": FILTERS,
        "encryptionConfiguration": {"encryptionType": "AES256"},
        "resourceTags": TAGS,
        "repositoryPolicy": PULL_POLICY,
        "lifecyclePolicy": LIFECYCLE,
        "customRoleArn": ROLE,
    }


def same_json(a: str, b: str) -> bool:
    return bool(json.loads(a) == json.loads(b))
