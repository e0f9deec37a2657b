"""Credentials that travel in URLs, kept out of the logs.

A GetDownloadUrlForLayer URL (``/_dockyard/layers/<token>``) is a credential by itself, and
presigned requests carry ``X-Amz-Signature`` and friends in the query. The access log and
the error log write request targets, so they write them through ``redact_target``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "REDACTED"

_LAYER_TOKEN = re.compile(r"^(/_dockyard/layers/)[^/?]+")
# Query parameters whose value is (or proves) a secret, matched on the lower-cased name:
# X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, token, access_token, password...
_SECRET_NAME = re.compile(r"token|signature|credential|password|secret|^sig$")


def redact_target(target: str) -> str:
    """``target`` (a path, with or without its query) with every credential in it replaced."""
    path, sep, query = target.partition("?")
    path = _LAYER_TOKEN.sub(rf"\g<1>{REDACTED}", path)
    if query:
        query = "&".join(_redact_pair(pair) for pair in query.split("&"))
    return path + sep + query


def _redact_pair(pair: str) -> str:
    name, sep, _value = pair.partition("=")
    if sep and _SECRET_NAME.search(unquote_plus(name).lower()):
        return f"{name}={REDACTED}"
    return pair


class RedactingFilter(logging.Filter):
    """Rewrites the request target in a log record's arguments (uvicorn's access log passes
    it as an argument: ``'%s - "%s %s HTTP/%s" %d'``); every record is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_target(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True
