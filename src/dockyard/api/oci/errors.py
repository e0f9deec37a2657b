"""Domain errors as OCI error JSON: one table, one handler."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.tokens import TokenInvalid
from dockyard.domain import errors as e
from dockyard.services.identity import Unauthenticated

log = logging.getLogger(__name__)

# error class -> (HTTP status, OCI error code)
WIRE: dict[type[e.DockyardError], tuple[int, str]] = {
    e.NameInvalid: (400, "NAME_INVALID"),
    e.NameUnknown: (404, "NAME_UNKNOWN"),
    e.ReferenceInvalid: (400, "TAG_INVALID"),
    e.DigestInvalid: (400, "DIGEST_INVALID"),
    e.BlobUnknown: (404, "BLOB_UNKNOWN"),
    e.BlobUploadUnknown: (404, "BLOB_UPLOAD_UNKNOWN"),
    e.BlobUploadInvalid: (400, "BLOB_UPLOAD_INVALID"),
    e.UploadOutOfOrder: (416, "BLOB_UPLOAD_INVALID"),
    e.RangeNotSatisfiable: (416, "SIZE_INVALID"),
    e.ManifestUnknown: (404, "MANIFEST_UNKNOWN"),
    e.ManifestInvalid: (400, "MANIFEST_INVALID"),
    e.ManifestBlobUnknown: (400, "MANIFEST_BLOB_UNKNOWN"),
    e.ManifestChildUnknown: (400, "MANIFEST_BLOB_UNKNOWN"),  # the spec says so for children too
    e.ManifestTooLarge: (413, "SIZE_INVALID"),
    e.BlobTooLarge: (413, "SIZE_INVALID"),
    e.ContentReferenced: (409, "DENIED"),
    e.PaginationInvalid: (400, "PAGINATION_NUMBER_INVALID"),
    e.Unsupported: (405, "UNSUPPORTED"),
    e.TagImmutable: (400, "TAG_INVALID"),
    e.InvalidRequest: (400, "UNSUPPORTED"),
    TokenInvalid: (403, "DENIED"),
    Unauthenticated: (401, "UNAUTHORIZED"),
    e.ScanNotFound: (404, "MANIFEST_UNKNOWN"),
}


def error_response(
    status: int,
    code: str,
    message: str,
    detail: object = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _headers(exc: e.DockyardError, request: Request) -> dict[str, str] | None:
    if isinstance(exc, e.UploadOutOfOrder):
        # Tell the client where to resume.
        return {
            "Location": request.url.path,
            "Range": f"0-{max(exc.expected_offset - 1, 0)}",
            "Docker-Upload-UUID": exc.upload_id,
        }
    if isinstance(exc, e.RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{exc.size}"}
    return None


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DockyardError)
    for cls in type(exc).__mro__:
        if cls in WIRE:
            status, code = WIRE[cls]
            break
    else:
        status, code = 500, "UNKNOWN"
    detail = {k: v for k, v in vars(exc).items() if isinstance(v, str | int)}
    return error_response(status, code, exc.describe(), detail, _headers(exc, request))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "UNKNOWN", "internal server error")
