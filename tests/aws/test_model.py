"""Any service's botocore model: IAM's and STS's errors, codes, statuses and secrets."""

from __future__ import annotations

import pytest

from dockyard.api.aws.model import load_model


def test_models_load_with_their_protocol_metadata() -> None:
    iam, sts, ecr = load_model("iam"), load_model("sts"), load_model("ecr")
    assert (iam.protocol, iam.signing_name, iam.api_version) == ("query", "iam", "2010-05-08")
    assert iam.xml_namespace == "https://iam.amazonaws.com/doc/2010-05-08/"
    assert (sts.protocol, sts.signing_name, sts.api_version) == ("query", "sts", "2011-06-15")
    assert (ecr.protocol, ecr.signing_name) == ("json", "ecr")
    assert ecr.target_prefix == "AmazonEC2ContainerRegistry_V20150921"
    assert iam.target_prefix == "" and iam.operation("CreateUser") is not None
    assert iam.operation("CreateUser").target == ""  # type: ignore[union-attr]
    assert sts.operation("AssumeRole").result_wrapper == "AssumeRoleResult"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("shape", "code", "status"),
    [
        ("NoSuchEntityException", "NoSuchEntity", 404),
        ("EntityAlreadyExistsException", "EntityAlreadyExists", 409),
        ("DeleteConflictException", "DeleteConflict", 409),
        ("LimitExceededException", "LimitExceeded", 409),
        ("MalformedPolicyDocumentException", "MalformedPolicyDocument", 400),
        ("ServiceFailureException", "ServiceFailure", 500),
    ],
)
def test_iam_error_codes_and_statuses_come_from_the_model(
    shape: str, code: str, status: int
) -> None:
    iam = load_model("iam")
    assert iam.error_code(shape) == code
    assert iam.error_status(shape) == status
    assert iam.error_shape(code) is iam.shape(shape)  # found by its code too


def test_errors_the_model_lacks_keep_their_name() -> None:
    iam = load_model("iam")
    assert iam.error_shape("AccessDenied") is None
    assert iam.error_code("AccessDenied") == "AccessDenied"


def test_sensitive_shapes_are_marked() -> None:
    iam, sts = load_model("iam"), load_model("sts")
    access_key = iam.shape("AccessKey")
    assert access_key.members["SecretAccessKey"].sensitive
    assert not access_key.members["AccessKeyId"].sensitive
    assert iam.shape("CreateLoginProfileRequest").members["Password"].sensitive
    credentials = sts.shape("Credentials")
    assert credentials.members["SecretAccessKey"].sensitive
