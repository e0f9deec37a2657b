"""The query protocol: forms in, XML out, judged by botocore's own serializer and parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.parsers import QueryParser
from botocore.serialize import create_serializer

from dockyard.api.aws.model import load_model
from dockyard.api.aws.protocols import ProtocolError
from dockyard.api.aws.protocols.query import QueryProtocol, parse_form
from dockyard.api.aws.validate import ShapeViolation, check_output, validate_input

QUERY = QueryProtocol()
IAM = load_model("iam")
STS = load_model("sts")
BOTO = botocore.session.get_session()
BOTO_IAM = BOTO.get_service_model("iam")
BOTO_STS = BOTO.get_service_model("sts")
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def form_of(service: str, operation: str, params: dict[str, Any]) -> bytes:
    """The body botocore sends for ``operation`` with ``params``."""
    model = BOTO.get_service_model(service).operation_model(operation)
    request = create_serializer("query").serialize_to_request(params, model)
    body = request["body"]
    return body.encode() if isinstance(body, str) else urlencode(body).encode()


def decoded(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    model = load_model(service)
    raw = form_of(service, operation, params)
    name, form = QUERY.decode(model, {}, raw)
    assert name == operation
    found = model.operation(name)
    assert found is not None
    return QUERY.input_for(found, form)


def parsed(service: str, operation: str, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` rendered by Dockyard, then parsed back by botocore."""
    model = load_model(service)
    found = model.operation(operation)
    assert found is not None
    assert check_output(found, result) == []
    response = QUERY.success(model, found, "req-1", result)
    assert response.headers["content-type"].startswith("text/xml")
    shape = BOTO.get_service_model(service).operation_model(operation).output_shape
    out: dict[str, Any] = QueryParser().parse(
        {"body": bytes(response.body), "headers": dict(response.headers), "status_code": 200},
        shape,
    )
    assert out["ResponseMetadata"]["RequestId"] == "req-1"
    del out["ResponseMetadata"]
    return out


# --------------------------------------------------------------------------- requests


def test_botocore_forms_decode_to_the_input_botocore_was_given() -> None:
    params = {
        "RoleName": "ci",
        "AssumeRolePolicyDocument": '{"Version": "2012-10-17", "Statement": []}',
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "team", "Value": "a b&c=d"}, {"Key": "é", "Value": ""}],
    }
    assert decoded("iam", "CreateRole", params) == params


def test_lists_of_strings_booleans_and_empty_lists() -> None:
    assert decoded("iam", "ListPolicies", {"OnlyAttached": True, "Scope": "Local"}) == {
        "OnlyAttached": True,
        "Scope": "Local",
    }
    got = decoded(
        "sts",
        "AssumeRole",
        {"RoleArn": "a" * 20, "RoleSessionName": "ss", "TransitiveTagKeys": ["a", "b"]},
    )
    assert got["TransitiveTagKeys"] == ["a", "b"]
    empty = decoded(
        "sts", "AssumeRole", {"RoleArn": "a" * 20, "RoleSessionName": "ss", "TransitiveTagKeys": []}
    )
    assert empty["TransitiveTagKeys"] == []


def test_list_elements_come_in_index_order_not_text_order() -> None:
    raw = b"Action=UntagUser&Version=2010-05-08&UserName=u" + b"".join(
        f"&TagKeys.member.{i}=k{i}".encode() for i in (10, 2, 1)
    )
    name, form = QUERY.decode(IAM, {}, raw)
    found = IAM.operation(name)
    assert found is not None
    assert QUERY.input_for(found, form)["TagKeys"] == ["k1", "k2", "k10"]


def test_a_value_of_the_wrong_type_is_reported_not_converted() -> None:
    found = IAM.operation("ListUsers")
    assert found is not None
    body = QUERY.input_for(found, {"MaxItems": "many"})
    with pytest.raises(ShapeViolation) as caught:
        validate_input(found, body, constraint_kind="ValidationError", lower_first=True)
    assert caught.value.kind == "SerializationException"


def test_constraint_failures_are_validation_errors_named_as_iam_names_them() -> None:
    found = IAM.operation("CreateUser")
    assert found is not None
    with pytest.raises(ShapeViolation) as caught:
        validate_input(
            found, {"UserName": "no spaces"}, constraint_kind="ValidationError", lower_first=True
        )
    assert caught.value.kind == "ValidationError"
    assert caught.value.message == (
        "1 validation error detected: Value 'no spaces' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )
    with pytest.raises(ShapeViolation) as caught:
        validate_input(found, {}, constraint_kind="ValidationError", lower_first=True)
    assert "Value null at 'userName'" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"Action=NoSuchThing&Version=2010-05-08", "InvalidAction"),
        (b"Action=CreateUser&Version=2011-06-15", "InvalidAction"),
        (b"Version=2010-05-08", "MissingAction"),
        (b"Action=CreateUser&UserName=%ff", "MalformedQueryString"),
        (b"\xff\xfe", "MalformedQueryString"),
    ],
)
def test_forms_that_name_no_operation(raw: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        QUERY.decode(IAM, {}, raw)
    assert caught.value.code == code
    assert caught.value.status == 400


def test_unknown_action_message_is_aws_s() -> None:
    with pytest.raises(ProtocolError) as caught:
        QUERY.decode(IAM, {}, b"Action=Frobnicate&Version=2010-05-08")
    assert caught.value.message == "Could not find operation Frobnicate for version 2010-05-08"


def test_parse_form_keeps_blank_values() -> None:
    assert parse_form(b"A=&B=x+y&C=%26") == {"A": "", "B": "x y", "C": "&"}


# --------------------------------------------------------------------------- responses


def _user(name: str) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDA" + "X" * 17,
        "Arn": f"arn:aws:iam::000000000000:user/{name}",
        "CreateDate": CREATED,
    }


def test_structures_lists_and_timestamps_parse_back() -> None:
    out = parsed("iam", "ListUsers", {"Users": [_user("a"), _user("b.@=+")], "IsTruncated": False})
    assert out == {"Users": [_user("a"), _user("b.@=+")], "IsTruncated": False}


def test_booleans_are_lowercase_and_markers_survive() -> None:
    out = parsed("iam", "ListUsers", {"Users": [], "IsTruncated": True, "Marker": "m=1"})
    assert out == {"Users": [], "IsTruncated": True, "Marker": "m=1"}
    found = IAM.operation("ListUsers")
    assert found is not None
    body = bytes(QUERY.success(IAM, found, "r", {"Users": [], "IsTruncated": True}).body)
    assert b"<IsTruncated>true</IsTruncated>" in body
    assert body.startswith(b'<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    assert b"<ListUsersResult>" in body


def test_sts_credentials_parse_back() -> None:
    result = {
        "Credentials": {
            "AccessKeyId": "ASIA" + "A" * 16,
            "SecretAccessKey": "s" * 40,
            "SessionToken": "t" * 100,
            "Expiration": CREATED,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROA" + "B" * 17 + ":ss",
            "Arn": "arn:aws:sts::000000000000:assumed-role/r/ss",
        },
    }
    assert parsed("sts", "AssumeRole", result) == result


def test_operations_without_output_still_answer_with_a_request_id() -> None:
    found = IAM.operation("DeleteUser")
    assert found is not None and found.output_shape is None
    response = QUERY.success(IAM, found, "req-9", {})
    body = bytes(response.body)
    assert b"<DeleteUserResponse" in body and b"<RequestId>req-9</RequestId>" in body
    shape = BOTO_IAM.operation_model("DeleteUser").output_shape
    out = QueryParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    assert out["ResponseMetadata"]["RequestId"] == "req-9"


@pytest.mark.parametrize(("status", "kind"), [(404, "Sender"), (500, "Receiver")])
def test_errors_parse_back_with_code_message_and_request_id(status: int, kind: str) -> None:
    response = QUERY.error(IAM, "req-2", status, "NoSuchEntity", "The user <x> & \x01 y")
    body = bytes(response.body)
    assert f"<Type>{kind}</Type>".encode() in body
    out = QueryParser().parse({"body": body, "headers": {}, "status_code": status}, None)
    assert out["Error"]["Code"] == "NoSuchEntity"
    assert out["Error"]["Message"] == "The user <x> & ? y"
    assert out["ResponseMetadata"]["RequestId"] == "req-2"
    assert response.status_code == status
    assert response.headers["x-amzn-requestid"] == "req-2"
