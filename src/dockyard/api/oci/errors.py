"""Domain errors as OCI error JSON: one table, one handler."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.api.bodies import BodyTimeout
from dockyard.api.redact import redact_target
from dockyard.auth import sigv4
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
    sigv4.AuthenticationError: (401, "UNAUTHORIZED"),
    e.JsonInvalid: (400, "UNSUPPORTED"),
    e.ImageNotFound: (404, "MANIFEST_UNKNOWN"),  # the SBOM of an unknown tag or digest
    e.ImageArchived: (404, "MANIFEST_UNKNOWN"),  # archived images are not served
    e.ScanQuotaExceeded: (429, "TOOMANYREQUESTS"),
    e.ScanFailed: (422, "UNSUPPORTED"),
    e.UnsupportedImage: (422, "UNSUPPORTED"),
    e.LayerPartTooSmall: (400, "BLOB_UPLOAD_INVALID"),
    e.LayerAlreadyExists: (400, "BLOB_UPLOAD_INVALID"),
    e.EmptyUpload: (400, "BLOB_UPLOAD_INVALID"),
    # The ECR API's own errors: none is raised on /v2 today, but each has an answer
    # should one be, rather than a 500.
    e.RepositoryAlreadyExists: (409, "DENIED"),
    e.RepositoryNotEmpty: (409, "DENIED"),
    e.ImageAlreadyExists: (409, "DENIED"),
    e.ExclusionExists: (409, "DENIED"),
    e.TooManyTags: (400, "UNSUPPORTED"),
    e.ResourceTagInvalid: (400, "UNSUPPORTED"),
    e.LifecyclePolicyInvalid: (400, "UNSUPPORTED"),
    e.PolicyInvalid: (400, "UNSUPPORTED"),
    e.LifecyclePolicyNotFound: (404, "UNSUPPORTED"),
    e.LifecyclePreviewNotFound: (404, "UNSUPPORTED"),
    e.ExclusionNotFound: (404, "UNSUPPORTED"),
    e.ScanNotFound: (404, "MANIFEST_UNKNOWN"),
    # A request the policies refuse: the same AWS sentence as the ECR door's.
    e.AccessDenied: (403, "DENIED"),
    e.RepositoryPolicyNotFound: (404, "UNSUPPORTED"),
    e.RegistryPolicyNotFound: (404, "UNSUPPORTED"),
    e.TemplateAlreadyExists: (409, "DENIED"),
    e.TemplateNotFound: (404, "UNSUPPORTED"),
    e.TemplateInvalid: (400, "UNSUPPORTED"),
    e.NoSuchEntity: (404, "UNSUPPORTED"),
    e.EntityAlreadyExists: (409, "DENIED"),
    e.DeleteConflict: (409, "DENIED"),
    e.LimitExceeded: (400, "DENIED"),
    # A host naming a region not served: no registry by that name, as for an unknown
    # repository (ECR's host name would not resolve at all).
    e.RegionNotServed: (404, "NAME_UNKNOWN"),
    e.ReplicationConfigurationInvalid: (400, "UNSUPPORTED"),
    e.BackfillNotFound: (404, "UNSUPPORTED"),
    # External registries: the API's errors; /v2 never meets them (as backfills).
    e.ExternalRegistryNotFound: (404, "UNSUPPORTED"),
    e.ExternalRegistryAlreadyExists: (409, "DENIED"),
    e.ExternalRegistryInUse: (409, "DENIED"),
    # Pull-through cache rules and their secrets: the API's errors today; the cache's data
    # path may meet some of them on /v2 and should refine these.
    e.CacheRuleAlreadyExists: (409, "DENIED"),
    e.CacheRuleNotFound: (404, "UNSUPPORTED"),
    e.UpstreamUnsupported: (400, "UNSUPPORTED"),
    # A miss the upstream cannot serve now: 503 (distribution's UNAVAILABLE), which clients
    # read as "retry later", since the upstream may be back soon; the message names it.
    e.UpstreamUnavailable: (503, "UNAVAILABLE"),
    # A miss the upstream refused or answered wrongly: a gateway's failure (502), not the
    # client's; waiting does not help.
    e.UpstreamFailed: (502, "UNKNOWN"),
    e.SecretNotFound: (404, "UNSUPPORTED"),
    e.SecretAlreadyExists: (409, "DENIED"),
    e.SecretMarkedForDeletion: (409, "DENIED"),
    e.SecretRequestInvalid: (400, "UNSUPPORTED"),
    e.SecretUndecryptable: (403, "DENIED"),
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


def wire_error(kind: type[e.DockyardError]) -> tuple[int, str]:
    """(HTTP status, OCI code) for an error class: its own entry, else its nearest base's."""
    for cls in kind.__mro__:
        if cls in WIRE:
            return WIRE[cls]
    return 500, "UNKNOWN"


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DockyardError)
    status, code = wire_error(type(exc))
    detail = {k: v for k, v in vars(exc).items() if isinstance(v, str | int)}
    return error_response(status, code, exc.describe(), detail, _headers(exc, request))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, redact_target(request.url.path))
    return error_response(500, "UNKNOWN", "internal server error")


async def handle_disconnect(request: Request, exc: Exception) -> Response:
    """A client that went away mid-body: nothing to answer, nothing wrong here; one line."""
    log.info(
        "%s %s: the client closed the connection before the request body ended",
        request.method,
        redact_target(request.url.path),
    )
    return Response(status_code=400)  # nobody is left to receive it


async def handle_body_timeout(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTimeout)
    path = redact_target(request.url.path)
    log.info("%s %s: %s; connection closed", request.method, path, exc)
    # 408 tells the client to try again; an upload session keeps its last committed offset.
    return error_response(408, "UNSUPPORTED", f"request body timed out: {exc}")
