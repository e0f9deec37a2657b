"""Secrets Manager's secrets as plain values: names, ARNs, versions and their stage labels.

A secret's ARN is ``arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>``:
the random suffix makes a secret deleted and created again under the same name another
resource, which a policy naming the old ARN no longer reaches. A secret is named in requests
by its name, its full ARN or its ARN without the suffix.

A secret holds versions; stage labels point at them. ``AWSCURRENT`` marks the value a read
gets by default; when a new version takes it, the version that held it becomes
``AWSPREVIOUS``. Dockyard keeps only versions that still carry a label (AWS keeps some
unlabelled ones for a while; none of the operations served here can read them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dockyard.domain.errors import InvalidRequest
from dockyard.domain.records import Scope

__all__ = [
    "CURRENT",
    "PREVIOUS",
    "SUFFIX_LENGTH",
    "Labels",
    "SecretRecord",
    "SecretRef",
    "SecretValue",
    "SecretVersion",
    "check_name",
    "move_label",
    "parse_secret_id",
    "restage",
    "retagged",
    "secret_arn",
]

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
SUFFIX_LENGTH = 6
# Secrets Manager's name alphabet: letters, digits and / _ + = . @ -
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
_ARN = re.compile(r"^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$")


def check_name(name: str) -> None:
    """InvalidRequest (InvalidParameterException) unless ``name`` is a valid secret name."""
    if not _NAME.match(name):
        raise InvalidRequest(
            "A secret name is made of letters, digits and the characters /_+=.@- only"
        )


def secret_arn(scope: Scope, name: str, suffix: str) -> str:
    return f"arn:aws:secretsmanager:{scope.region}:{scope.account_id}:secret:{name}-{suffix}"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """How a request names a secret: by name, or by ARN (``resource``: what follows
    ``secret:``, the name with or without its suffix) in an account and region."""

    text: str
    scope: Scope | None = None  # None: a name, in the request's own registry
    resource: str | None = None

    @property
    def is_arn(self) -> bool:
        return self.scope is not None


def parse_secret_id(text: str) -> SecretRef:
    """A ``SecretId`` (or ``credentialArn``) as a name or an ARN."""
    found = _ARN.match(text)
    if found is None:
        return SecretRef(text)
    return SecretRef(text, Scope(found.group(3), found.group(2)), found.group(4))


@dataclass(frozen=True, slots=True)
class SecretVersion:
    version_id: str
    stages: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A version's value: text or bytes (``SecretString`` / ``SecretBinary``)."""

    text: str | None = None
    binary: bytes | None = None

    def __repr__(self) -> str:
        return "SecretValue(<hidden>)"


@dataclass(frozen=True, slots=True)
class SecretRecord:
    name: str
    arn: str
    description: str | None
    kms_key_id: str | None
    tags: tuple[tuple[str, str], ...]
    created_at: datetime
    changed_at: datetime
    #: When a secret scheduled for deletion goes for good; None while it is not scheduled.
    deletion_date: datetime | None
    versions: tuple[SecretVersion, ...]

    def version_with(self, stage: str) -> SecretVersion | None:
        return next((v for v in self.versions if stage in v.stages), None)

    def version(self, version_id: str) -> SecretVersion | None:
        return next((v for v in self.versions if v.version_id == version_id), None)


#: Each version's stage labels, by version id.
Labels = Mapping[str, Sequence[str]]

#: At most this many tags on a secret, as Secrets Manager allows.
MOST_TAGS = 50


def restage(current: Labels, version_id: str, stages: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The labels of every version once ``version_id`` takes ``stages``: each label moves
    off the version that held it; the version that loses ``AWSCURRENT`` gets ``AWSPREVIOUS``.
    Versions left without a label are dropped."""
    moved = dict.fromkeys(stages)
    labels = {
        vid: [s for s in held if s not in moved]
        for vid, held in current.items()
        if vid != version_id
    }
    mine = [*current.get(version_id, ()), *moved]
    losers = [vid for vid, held in current.items() if CURRENT in held and vid != version_id]
    if CURRENT in moved and losers:
        # AWSPREVIOUS goes to the version that lost AWSCURRENT, from wherever it was.
        for held in [*labels.values(), mine]:
            if PREVIOUS in held:
                held.remove(PREVIOUS)
        labels[losers[0]].append(PREVIOUS)
    labels[version_id] = list(dict.fromkeys(mine))
    return {vid: tuple(held) for vid, held in labels.items() if held}


def move_label(
    current: Labels, stage: str, remove_from: str | None, move_to: str | None
) -> dict[str, tuple[str, ...]]:
    """UpdateSecretVersionStage: the labels once ``stage`` leaves ``remove_from`` and/or goes
    to ``move_to``. A label held elsewhere moves only when ``remove_from`` names its holder
    (so a caller cannot take it from a version it did not know had it); AWSCURRENT moves but
    is never simply removed. InvalidRequest for a request that breaks either rule."""
    holder = next((vid for vid, held in current.items() if stage in held), None)
    if move_to is None and remove_from is None:
        raise InvalidRequest("Give MoveToVersionId, RemoveFromVersionId or both")
    if move_to is not None and move_to not in current:
        raise InvalidRequest(f"The secret has no version {move_to}")
    if remove_from is not None and remove_from != holder:
        raise InvalidRequest(
            f"The staging label {stage} is not attached to version {remove_from}"
            + ("" if holder is None else f"; it is attached to {holder}")
        )
    if move_to is None:
        if stage == CURRENT:
            raise InvalidRequest(
                "You can only move staging label AWSCURRENT to a different secret version. "
                "It can't be completely removed."
            )
        return {
            vid: kept
            for vid, held in current.items()
            if (kept := tuple(s for s in held if s != stage))
        }
    if holder not in (None, move_to) and remove_from is None:
        raise InvalidRequest(
            f"The staging label {stage} is attached to version {holder}: name it in "
            "RemoveFromVersionId to move the label"
        )
    return restage(current, move_to, (stage,))


def retagged(
    tags: Sequence[tuple[str, str]],
    add: Sequence[tuple[str, str]] = (),
    remove: Sequence[str] = (),
) -> tuple[tuple[str, str], ...]:
    """TagResource and UntagResource: a key given again takes its new value in place, new
    keys go last; InvalidRequest past MOST_TAGS."""
    merged = {k: v for k, v in tags if k not in remove}
    for key, value in add:
        merged[key] = value
    if len(merged) > MOST_TAGS:
        raise InvalidRequest(f"A secret takes at most {MOST_TAGS} tags, not {len(merged)}")
    return tuple(merged.items())


def credential_pair(text: str, secret_keys: tuple[str, ...]) -> tuple[str, str]:
    """The ``username`` and secret a credentials secret holds, the secret under the first of
    ``secret_keys`` present; ValueError saying what is wrong otherwise (never quoting the
    text: it is a secret)."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError("the secret's value is not a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("the secret's value is not a JSON object")
    username = value.get("username")
    secret = next((value[k] for k in secret_keys if k in value), None)
    if not isinstance(username, str) or not username:
        raise ValueError('the secret\'s value has no "username" text')
    if not isinstance(secret, str) or not secret:
        raise ValueError(f'the secret\'s value has no "{secret_keys[0]}" text')
    return username, secret
