"""The ECR model checker: requests judged by botocore's model, the way ECR judges them."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.model import OperationModel
from botocore.model import Shape as BotoShape
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from dockyard.api.aws.patterns import check_pattern
from dockyard.api.ecr import extensions
from dockyard.api.ecr.shapes import (
    PATTERN_REWRITES,
    SerializationError,
    ShapeViolation,
    botocore_raw_model,
    check_output,
    compile_pattern,
    decode_body,
    find_violations,
    load_model,
    serialize_output,
    translate_pattern,
    validate_input,
)

MODEL = load_model()
BOTO_ECR = botocore.session.get_session().get_service_model("ecr")
DIGEST = "sha256:" + "a" * 64
REPO_NAME_PATTERN = MODEL.shape("RepositoryName").pattern


def violation(operation: str, body: dict[str, Any], **kw: Any) -> ShapeViolation:
    with pytest.raises(ShapeViolation) as caught:
        validate_input(operation, body, **kw)
    return caught.value


# --------------------------------------------------------------------------- the model


def test_model_loads_once_and_knows_its_operations() -> None:
    assert load_model() is MODEL
    assert MODEL.target_prefix == "AmazonEC2ContainerRegistry_V20150921"
    # botocore's operations, and Dockyard's own kept apart (api/ecr/extensions.py).
    assert set(MODEL.operations) == set(BOTO_ECR.operation_names) | set(extensions.OPERATIONS)
    assert not set(BOTO_ECR.operation_names) & set(extensions.OPERATIONS)
    op = MODEL.operation("CreateRepository")
    assert op is not None
    assert op.input_shape is not None and op.input_shape.name == "CreateRepositoryRequest"
    assert op.output_shape is not None and op.output_shape.name == "CreateRepositoryResponse"
    assert (op.http.method, op.http.request_uri) == ("POST", "/")
    assert "RepositoryAlreadyExistsException" in op.errors
    assert op.target == "AmazonEC2ContainerRegistry_V20150921.CreateRepository"


def test_an_extension_never_shadows_an_ecr_operation() -> None:
    raw = botocore_raw_model()
    raw["operations"]["StartReplicationBackfill"] = raw["operations"]["PutImage"]
    with pytest.raises(RuntimeError, match="StartReplicationBackfill"):
        extensions.extend(raw)
    extended = extensions.extend(botocore_raw_model())
    assert extended["operations"]["StopReplicationBackfill"]["input"] == {
        "shape": "StopReplicationBackfillRequest"
    }
    found = MODEL.operation("StartReplicationBackfill")
    assert found is not None
    assert found.target == "AmazonEC2ContainerRegistry_V20150921.StartReplicationBackfill"
    assert MODEL.error_status("ReplicationBackfillNotFoundException") == 400


@pytest.mark.parametrize("name", ["Nope", "createRepository", "", "__init__", "CreateRepository "])
def test_unknown_operations_are_none(name: str) -> None:
    assert MODEL.operation(name) is None


def test_operation_for_target() -> None:
    found = MODEL.operation_for_target("AmazonEC2ContainerRegistry_V20150921.PutImage")
    assert found is not None and found.name == "PutImage"
    assert MODEL.operation_for_target("AmazonEC2ContainerRegistry_V20150921.Nope") is None
    assert MODEL.operation_for_target("DynamoDB_20120810.PutImage") is None
    assert MODEL.operation_for_target("PutImage") is None


def test_error_names_come_from_the_model() -> None:
    names = MODEL.error_names()
    assert {"RepositoryNotFoundException", "InvalidParameterException", "ServerException"} <= names
    assert "ValidationException" in names
    assert "Repository" not in names
    for op in MODEL.operations.values():
        assert set(op.errors) <= names
    assert MODEL.error_status("ServerException") == 500
    assert MODEL.error_status("RepositoryNotFoundException") == 400


# --------------------------------------------------------------------------- input tables

VALID = [
    ("CreateRepository", {"repositoryName": "ab"}),
    ("CreateRepository", {"repositoryName": "team/app-1", "imageTagMutability": "IMMUTABLE"}),
    (
        "CreateRepository",
        {
            "repositoryName": "ab",
            "tags": [{"Key": "k", "Value": ""}],
            "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "alias/x"},
            "imageScanningConfiguration": {"scanOnPush": True},
            "someFutureMember": {"anything": [1, 2]},  # unknown members are ignored
        },
    ),
    ("CreateRepository", {"repositoryName": "ab", "registryId": None}),  # null is absent
    ("DescribeImages", {"repositoryName": "ab"}),
    ("DescribeImages", {"repositoryName": "ab", "maxResults": 1}),
    ("DescribeImages", {"repositoryName": "ab", "maxResults": 1000}),
    ("DescribeImages", {"repositoryName": "ab", "maxResults": 5.0}),  # integral JSON number
    (
        "DescribeImages",
        {
            "repositoryName": "ab",
            "imageIds": [{"imageTag": "latest"}, {"imageDigest": DIGEST}],
            "filter": {"tagStatus": "UNTAGGED"},
        },
    ),
    ("BatchDeleteImage", {"repositoryName": "ab", "imageIds": [{"imageDigest": DIGEST}]}),
    ("PutImage", {"repositoryName": "ab", "imageManifest": "x" * 4194304}),
    ("GetAuthorizationToken", {}),
    ("GetAuthorizationToken", {"registryIds": ["123456789012"] * 10}),
    ("PutLifecyclePolicy", {"repositoryName": "ab", "lifecyclePolicyText": "x" * 100}),
    ("PutLifecyclePolicy", {"repositoryName": "ab", "lifecyclePolicyText": "x" * 30720}),
    (
        "UploadLayerPart",
        {
            "repositoryName": "ab",
            "uploadId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "partFirstByte": 0,
            "partLastByte": 3,
            "layerPartBlob": "AAECAw==",
        },
    ),
]


@pytest.mark.parametrize(("operation", "body"), VALID, ids=[v[0] for v in VALID])
def test_valid_inputs(operation: str, body: dict[str, Any]) -> None:
    validate_input(operation, body)
    validate_input(operation, body, constraint_kind="ValidationException")
    assert find_violations(operation, body) == []


# (operation, body, member path, ECR's constraint wording)
INVALID = [
    ("CreateRepository", {}, "repositoryName", "Member must not be null"),
    (
        "CreateRepository",
        {"repositoryName": "AB"},
        "repositoryName",
        f"must satisfy regular expression '{REPO_NAME_PATTERN}'",
    ),
    (
        "CreateRepository",
        {"repositoryName": "a"},
        "repositoryName",
        "must have length greater than or equal to 2",
    ),
    (
        "CreateRepository",
        {"repositoryName": "a" * 257},
        "repositoryName",
        "must have length less than or equal to 256",
    ),
    (
        "CreateRepository",
        {"repositoryName": "a//b"},
        "repositoryName",
        f"must satisfy regular expression '{REPO_NAME_PATTERN}'",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "imageTagMutability": "mutable"},
        "imageTagMutability",
        "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, "
        "IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "tags": [{"Key": "k", "Value": "v"}, {"Key": "k2"}]},
        "tags.2.member.Value",
        "Member must not be null",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "encryptionConfiguration": {"encryptionType": "RSA"}},
        "encryptionConfiguration.encryptionType",
        "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "encryptionConfiguration": {}},
        "encryptionConfiguration.encryptionType",
        "Member must not be null",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "registryId": "12345678901"},
        "registryId",
        "must satisfy regular expression '[0-9]{12}'",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "registryId": "x123456789012"},  # patterns match whole values
        "registryId",
        "must satisfy regular expression '[0-9]{12}'",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": 0},
        "maxResults",
        "Member must have value greater than or equal to 1",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": 1001},
        "maxResults",
        "Member must have value less than or equal to 1000",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "filter": {"tagStatus": "SOME"}},
        "filter.tagStatus",
        "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "imageIds": []},
        "imageIds",
        "Member must have length greater than or equal to 1",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "imageIds": [{"imageTag": "latest"}, {"imageTag": ""}]},
        "imageIds.2.member.imageTag",
        "must have length greater than or equal to 1",
    ),
    (
        "CompleteLayerUpload",
        {
            "repositoryName": "ab",
            "uploadId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "layerDigests": ["sha256"],
        },
        "layerDigests",
        "Member must satisfy constraint: [Member must satisfy regular expression pattern: "
        "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+]",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "imageIds": [None]},
        "imageIds.1.member",
        "Member must not be null",
    ),
    ("BatchDeleteImage", {"repositoryName": "ab"}, "imageIds", "Member must not be null"),
    (
        "BatchDeleteImage",
        {"repositoryName": "ab", "imageIds": []},
        "imageIds",
        "Member must have length greater than or equal to 1",
    ),
    (
        "BatchDeleteImage",
        {"repositoryName": "ab", "imageIds": [{"imageTag": "t"}] * 101},
        "imageIds",
        "Member must have length less than or equal to 100",
    ),
    (
        "PutImage",
        {"repositoryName": "ab", "imageManifest": "x" * 4194305},
        "imageManifest",
        "must have length less than or equal to 4194304",
    ),
    (
        "PutImage",
        {"repositoryName": "ab", "imageManifest": "{}", "imageTag": "t" * 301},
        "imageTag",
        "must have length less than or equal to 300",
    ),
    (
        "GetAuthorizationToken",
        {"registryIds": []},
        "registryIds",
        "Member must have length greater than or equal to 1",
    ),
    (
        "GetAuthorizationToken",
        {"registryIds": ["123456789012"] * 11},
        "registryIds",
        "Member must have length less than or equal to 10",
    ),
    (
        "GetAuthorizationToken",
        {"registryIds": ["123456789012", "12345"]},
        "registryIds",
        "Member must satisfy constraint: [Member must satisfy regular expression pattern: "
        "[0-9]{12}]",
    ),
    (
        "PutLifecyclePolicy",
        {"repositoryName": "ab", "lifecyclePolicyText": "x" * 99},
        "lifecyclePolicyText",
        "must have length greater than or equal to 100",
    ),
    (
        "PutLifecyclePolicy",
        {"repositoryName": "ab", "lifecyclePolicyText": "x" * 30721},
        "lifecyclePolicyText",
        "must have length less than or equal to 30720",
    ),
    (
        "PutImageTagMutability",
        {
            "repositoryName": "ab",
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "a b"}],
        },
        "imageTagMutabilityExclusionFilters.1.member.filter",
        "must satisfy regular expression '^[0-9a-zA-Z._*-]{1,128}$'",
    ),
]


@pytest.mark.parametrize(
    ("operation", "body", "path", "constraint"),
    INVALID,
    ids=[f"{v[0]}-{v[2]}" for v in INVALID],
)
def test_constraint_failures_answer_invalid_parameter(
    operation: str, body: dict[str, Any], path: str, constraint: str
) -> None:
    err = violation(operation, body)
    assert err.kind == "InvalidParameterException"
    assert (err.member_path, err.reason) == (path, constraint)
    expected = f"Invalid parameter at '{path}' failed to satisfy constraint: '{constraint}'"
    assert err.message == expected


@pytest.mark.parametrize(
    ("operation", "body", "path", "constraint"),
    INVALID,
    ids=[f"{v[0]}-{v[2]}" for v in INVALID],
)
def test_constraint_failures_as_validation_exception(
    operation: str, body: dict[str, Any], path: str, constraint: str
) -> None:
    err = violation(operation, body, constraint_kind="ValidationException")
    assert err.kind == "ValidationException"
    assert err.member_path == path
    assert err.message.startswith("1 validation error detected: Value ")
    assert f" at '{path}' failed to satisfy constraint: Member must " in err.message


def test_validation_exception_reports_every_violation() -> None:
    body = {
        "repositoryName": "AB",
        "imageTagMutability": "X",
        "tags": [{"Key": "k"}],
        "encryptionConfiguration": {"encryptionType": "nope"},
    }
    err = violation("CreateRepository", body, constraint_kind="ValidationException")
    assert err.message == (
        "4 validation errors detected: "
        f"Value 'AB' at 'repositoryName' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: {REPO_NAME_PATTERN}; "
        "Value null at 'tags.1.member.Value' failed to satisfy constraint: Member must not be "
        "null; "
        "Value 'X' at 'imageTagMutability' failed to satisfy constraint: Member must satisfy "
        "enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]; "
        "Value 'nope' at 'encryptionConfiguration.encryptionType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]"
    )
    assert len(err.violations) == 4  # in model member order
    # InvalidParameterException names the first one only.
    first = violation("CreateRepository", body)
    assert first.member_path == "repositoryName" and len(first.violations) == 4


def test_list_values_render_like_java() -> None:
    err = violation(
        "GetAuthorizationToken", {"registryIds": ["1", "2"]}, constraint_kind="ValidationException"
    )
    assert "Value '[1, 2]' at 'registryIds'" in err.message


def test_huge_values_are_cut_in_messages() -> None:
    err = violation(
        "PutImage",
        {"repositoryName": "ab", "imageManifest": "x" * 5_000_000},
        constraint_kind="ValidationException",
    )
    assert len(err.message) < 2000


def test_a_too_long_string_is_not_matched_against_its_pattern() -> None:
    err = violation(
        "CreateRepository", {"repositoryName": "A" * 300}, constraint_kind="ValidationException"
    )
    assert len(err.violations) == 1
    assert err.reason == "Member must have length less than or equal to 256"


# --------------------------------------------------------------------------- types

TYPE_ERRORS = [
    ("CreateRepository", {"repositoryName": 5}, "repositoryName", "NUMBER_VALUE", "a String"),
    ("CreateRepository", {"repositoryName": True}, "repositoryName", "TRUE_VALUE", "a String"),
    ("CreateRepository", {"repositoryName": ["ab"]}, "repositoryName", "list", ""),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": "5"},
        "maxResults",
        "STRING_VALUE",
        "an Integer",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": 5.5},
        "maxResults",
        "NUMBER_VALUE",
        "an Integer",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": True},
        "maxResults",
        "TRUE_VALUE",
        "an Integer",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "maxResults": 2**31},
        "maxResults",
        "NUMBER_VALUE",
        "an Integer",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "imageIds": {"imageTag": "x"}},
        "imageIds",
        "map",
        "",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "imageIds": ["latest"]},
        "imageIds.1.member",
        "STRING_VALUE",
        "a Structure",
    ),
    (
        "DescribeImages",
        {"repositoryName": "ab", "filter": "TAGGED"},
        "filter",
        "STRING_VALUE",
        "a Structure",
    ),
    (
        "CreateRepository",
        {"repositoryName": "ab", "imageScanningConfiguration": {"scanOnPush": "true"}},
        "imageScanningConfiguration.scanOnPush",
        "STRING_VALUE",
        "a Boolean",
    ),
    (
        "BatchDeleteImage",
        {"repositoryName": "ab", "imageIds": "x"},
        "imageIds",
        "STRING_VALUE",
        "a List",
    ),
    (
        "GetAuthorizationToken",
        {"registryIds": [123456789012]},
        "registryIds.1.member",
        "NUMBER_VALUE",
        "a String",
    ),
    (
        "UploadLayerPart",
        {
            "repositoryName": "ab",
            "uploadId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "partFirstByte": 0,
            "partLastByte": 1,
            "layerPartBlob": "not base64!",
        },
        "layerPartBlob",
        "STRING_VALUE",
        "a ByteBuffer",
    ),
]


@pytest.mark.parametrize(
    ("operation", "body", "path", "token", "java"),
    TYPE_ERRORS,
    ids=[f"{v[0]}-{v[2]}-{v[3]}" for v in TYPE_ERRORS],
)
def test_wrong_json_types_answer_serialization_exception(
    operation: str, body: dict[str, Any], path: str, token: str, java: str
) -> None:
    err = violation(operation, body)
    assert err.kind == "SerializationException"
    assert err.member_path == path
    if token == "list":
        assert err.message == "Start of list found where not expected."
    elif token == "map":
        assert err.message == "Start of structure or map found where not expected."
    else:
        assert err.message == f"{token} can not be converted to {java}"


def test_a_type_error_wins_over_constraint_failures() -> None:
    body = {"repositoryName": "AB", "maxResults": "x"}
    err = violation("DescribeImages", body, constraint_kind="ValidationException")
    assert err.kind == "SerializationException" and err.member_path == "maxResults"


def test_a_body_that_is_not_an_object() -> None:
    err = violation("CreateRepository", ["ab"])  # type: ignore[arg-type]
    assert err.kind == "SerializationException"


def test_validate_input_takes_an_operation_or_its_name() -> None:
    op = MODEL.operation("CreateRepository")
    assert op is not None
    validate_input(op, {"repositoryName": "ab"})
    with pytest.raises(ValueError, match="unknown ECR operation"):
        validate_input("Nope", {})


# --------------------------------------------------------------------------- decode_body


@pytest.mark.parametrize("raw", [b"", b"  \n", b"{}"])
def test_empty_bodies_are_empty_objects(raw: bytes) -> None:
    assert decode_body(raw) == {}


def test_decode_body_reads_json_objects() -> None:
    assert decode_body(b'{"repositoryName": "ab", "n": 1}') == {"repositoryName": "ab", "n": 1}


@pytest.mark.parametrize(
    "raw",
    [b"{", b"nope", b"[]", b'"ab"', b"1", b"null", b"\xff{}", b'{"a": NaN}', b"[" * 100_000],
)
def test_decode_body_rejects_what_is_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(SerializationError) as caught:
        decode_body(raw)
    assert caught.value.kind == "SerializationException"
    assert caught.value.message


# --------------------------------------------------------------------------- patterns


def test_every_model_pattern_compiles() -> None:
    patterns = {s.pattern for s in MODEL.shapes.values() if s.pattern is not None}
    assert patterns
    for pattern in patterns:
        assert isinstance(compile_pattern(pattern), re.Pattern)


def test_java_classes_are_ascii() -> None:
    # Java's \w and \S are ASCII-only: U+00A0 is not whitespace, 'é' is not a word character.
    base64 = compile_pattern(MODEL.shape("Base64").pattern or "")
    assert base64.fullmatch("a\u00a0b")
    principal = compile_pattern(MODEL.shape("PrincipalArn").pattern or "")
    assert principal.fullmatch("arn:aws:iam::123456789012:role/puller")
    assert not principal.fullmatch("arn:aws:iam::123456789012:role/pullé")


@pytest.mark.parametrize(
    ("java", "python"),
    [
        (r"a\z", r"a\Z"),
        (r"(?<tag>[a-z]+)", r"(?P<tag>[a-z]+)"),
        (r"(?<=a)b(?<!c)", r"(?<=a)b(?<!c)"),
        (r"\p{Lower}+", r"[a-z]+"),
        (r"[\p{Digit}_]", r"[0-9_]"),
        (r"\P{Alpha}", r"[^a-zA-Z]"),
        (r"\Qa.b\E", r"a\.b"),
        (r"[]a]", r"[\]a]"),
        (r"[0-9-_]", r"[0-9-_]"),
    ],
)
def test_translate_pattern(java: str, python: str) -> None:
    assert translate_pattern(java) == python


def test_untranslatable_java_is_refused() -> None:
    with pytest.raises(ValueError):
        translate_pattern(r"[a-z&&[^x]]")
    for unknown in (r"\p{Xx}", r"\p{LC}", r"[\p{Q}a]"):
        with pytest.raises(ValueError):
            translate_pattern(unknown)
        with pytest.raises(ValueError):
            check_pattern(unknown)


def test_unicode_categories_match_as_in_java() -> None:
    # IAM's tag keys: letters, spaces and numbers of any script, and a few symbols.
    tag_key = compile_pattern(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")
    assert tag_key.fullmatch("Équipe 東京 ٣ a_b")  # Lu/Ll, Lo, Zs, Nd (Arabic-Indic)
    assert tag_key.fullmatch("\U00020000\u2028")  # a CJK extension B letter, Zl
    assert not tag_key.fullmatch("a\tb")  # a tab is Cc, not Z
    assert not tag_key.fullmatch("a$")  # Sc
    assert not tag_key.fullmatch("\u0301")  # a combining accent is Mn
    assert compile_pattern(r"\p{Lu}+").fullmatch("ÀΩЖ")
    assert not compile_pattern(r"\p{Lu}+").fullmatch("àωж")
    # Every letter, and nothing else, is in \p{L}: str.isalpha is exactly categories L*.
    letters = compile_pattern(r"\p{L}")
    for cp in range(0, sys.maxunicode + 1, 7):
        assert (letters.fullmatch(chr(cp)) is not None) == chr(cp).isalpha(), hex(cp)


def test_check_pattern_gathers_no_code_points() -> None:
    # Loading a model checks every pattern; IAM's use Unicode categories, whose code points
    # took each worker and command 0.4 s to gather at start.
    script = (
        "from dockyard.api.aws import model, patterns\n"
        "model.load_model('iam')\n"
        "assert patterns._category_runs.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@given(st.text(alphabet="a9*._-/A!", max_size=14))
def test_pattern_rewrites_are_equivalent(value: str) -> None:
    for original, rewritten in PATTERN_REWRITES.items():
        slow = re.compile(original, re.ASCII).fullmatch(value) is not None
        fast = re.compile(rewritten, re.ASCII).fullmatch(value) is not None
        assert slow == fast, (original, value)


def test_no_model_pattern_backtracks_catastrophically() -> None:
    units = ["a", "a.", "a-", "a/", "a_", "a__", "-", ".", "*", "a:", "0", "a*.", "/a", "A"]
    for shape in MODEL.shapes.values():
        if shape.pattern is None:
            continue
        regex = compile_pattern(shape.pattern)
        length = int(min(shape.max or 4096, 4096))
        for unit in units:
            for tail in ["!", "", "/", "-", "\n", "."]:
                value = (unit * length)[: max(length - 1, 1)] + tail
                started = time.perf_counter()
                regex.fullmatch(value)
                elapsed = time.perf_counter() - started
                assert elapsed < 0.05, (shape.name, unit, tail, elapsed)


# --------------------------------------------------------------------------- outputs


def test_serialize_output_drops_none_and_converts_timestamps() -> None:
    pushed = datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    value = {
        "imageDetails": [
            {
                "repositoryName": "ab",
                "imageDigest": DIGEST,
                "imageTags": ["latest"],
                "imagePushedAt": pushed,
                "lastRecordedPullTime": datetime(2024, 1, 2),  # naive is UTC
                "imageSizeInBytes": 10,
                "registryId": None,
            }
        ],
        "nextToken": None,
    }
    out = serialize_output("DescribeImages", value)
    assert out == {
        "imageDetails": [
            {
                "repositoryName": "ab",
                "imageDigest": DIGEST,
                "imageTags": ["latest"],
                "imagePushedAt": pushed.timestamp(),
                "lastRecordedPullTime": datetime(2024, 1, 2, tzinfo=UTC).timestamp(),
                "imageSizeInBytes": 10,
            }
        ]
    }
    assert check_output("DescribeImages", out) == []
    assert check_output("DescribeImages", value) == []


def test_check_output_names_what_the_model_does_not_have() -> None:
    value = {
        "repository": {
            "repositoryName": "ab",
            "createdAt": "yesterday",
            "imageTagMutability": "SOMETIMES",
            "repositoryUri": 5,
            "extra": 1,
        },
        "bogus": True,
    }
    problems = check_output("CreateRepository", value)
    assert len(problems) == 5, problems
    joined = "\n".join(problems)
    assert "repository.createdAt: expected timestamp" in joined
    assert "repository.imageTagMutability: Member must satisfy enum value set" in joined
    assert "repository.repositoryUri: expected string" in joined
    assert "repository.extra: not a member of Repository" in joined
    assert "bogus: not a member of CreateRepositoryResponse" in joined


def test_check_output_of_an_authorization_token() -> None:
    value = {
        "authorizationData": [
            {
                "authorizationToken": "QVdTOnBhc3N3b3Jk",
                "expiresAt": datetime(2024, 1, 1, tzinfo=UTC),
                "proxyEndpoint": "https://127.0.0.1:5000",
            }
        ]
    }
    out = serialize_output("GetAuthorizationToken", value)
    assert check_output("GetAuthorizationToken", out) == []


# --------------------------------------------------------------------------- botocore agrees

# Sample values for the model's patterns (a new pattern in a newer botocore fails loudly here).
PATTERN_SAMPLES = {
    "[0-9]{12}": "123456789012",
    REPO_NAME_PATTERN: "ab",
    "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+": DIGEST,
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}": (
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    ),
    "[0-9a-z-]{2,25}": "us-east-1",
    r"^\S+$": "QUJD",
    r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+": (
        "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"
    ),
    r"^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache\/"
    r"[a-zA-Z0-9\/_+=.@-]+$": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub"
    ),
    "^[0-9a-zA-Z._*-]{1,128}$": "release-*",
    r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$": (
        "team"
    ),
    r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$": (
        "arn:aws:iam::123456789012:role/puller"
    ),
    "^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$": "team/app",
    r"^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$": "prod-*",
    r"^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$": (
        "arn:aws:signer:us-east-1:123456789012:/signing-profiles/MyProfile"
    ),
    "^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$": "team/*",
}
# For a pattern missing above: a sample by member name.
MEMBER_SAMPLES = {
    "repositoryName": "ab",
    "registryId": "123456789012",
    "imageDigest": DIGEST,
    "layerDigest": DIGEST,
    "imageTag": "latest",
    "uploadId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
}


def sample(shape: BotoShape, member: str, *, full: bool, depth: int = 0) -> Any:
    """A value botocore's validator accepts and that satisfies every constraint of ``shape``."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        names = list(shape.members) if full and depth < 6 else shape.required_members
        return {n: sample(shape.members[n], n, full=full, depth=depth + 1) for n in names}
    if kind == "list":
        count = max(meta.get("min", 0), 1 if full and depth < 6 else 0)
        return [sample(shape.member, member, full=full, depth=depth + 1) for _ in range(count)]
    if kind == "map":
        count = max(meta.get("min", 0), 1 if full and depth < 6 else 0)
        return {
            sample(shape.key, member, full=full, depth=depth + 1): sample(
                shape.value, member, full=full, depth=depth + 1
            )
            for _ in range(count)
        }
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if "pattern" in meta:
            value = PATTERN_SAMPLES.get(meta["pattern"]) or MEMBER_SAMPLES.get(member)
            if value is None:
                pytest.fail(f"no sample for {shape.name}.pattern {meta['pattern']!r}")
            assert compile_pattern(meta["pattern"]).fullmatch(value), (shape.name, value)
        else:
            value = "x" * max(int(meta.get("min", 0)), 1)
        assert meta.get("min", 0) <= len(value) <= meta.get("max", len(value)), shape.name
        return value
    if kind in ("integer", "long"):
        return int(meta.get("min", 1))
    if kind in ("double", "float"):
        return float(meta.get("min", 1.5))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2024, 1, 1, tzinfo=UTC)
    if kind == "blob":
        return b"\x00\x01" * max(int(meta.get("min", 0)), 1)
    raise AssertionError(f"unhandled type {kind}")


def wire_body(op: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as botocore puts them on the wire, then through ``decode_body``."""
    request = create_serializer("json", include_validation=False).serialize_to_request(params, op)
    body = request["body"]
    return decode_body(body if isinstance(body, bytes) else body.encode())


@pytest.mark.parametrize("full", [False, True], ids=["required-only", "every-member"])
@pytest.mark.parametrize("name", sorted(BOTO_ECR.operation_names))
def test_botocore_and_we_agree_on_generated_inputs(name: str, full: bool) -> None:
    op = BOTO_ECR.operation_model(name)
    params = sample(op.input_shape, "", full=full) if op.input_shape is not None else {}
    report = ParamValidator().validate(params, op.input_shape)
    assert not report.has_errors(), report.generate_report()
    body = wire_body(op, params)
    assert find_violations(name, body) == []
    validate_input(name, body)


@pytest.mark.parametrize("name", sorted(BOTO_ECR.operation_names))
def test_botocore_and_we_agree_on_missing_required_members(name: str) -> None:
    op = BOTO_ECR.operation_model(name)
    if op.input_shape is None:
        return
    params = sample(op.input_shape, "", full=False)
    for member in op.input_shape.required_members:
        partial = {k: v for k, v in params.items() if k != member}
        assert ParamValidator().validate(partial, op.input_shape).has_errors()
        err = violation(name, wire_body(op, partial))
        assert (err.kind, err.member_path) == ("InvalidParameterException", member)
        assert err.reason == "Member must not be null"


def test_every_operation_has_an_input_shape_we_know() -> None:
    for op in MODEL.operations.values():
        assert op.input_shape is not None, op.name
        assert op.input_shape.type == "structure"
