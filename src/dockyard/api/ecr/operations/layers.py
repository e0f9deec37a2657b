"""The layer API: uploads in parts, availability checks and download URLs."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from dockyard.api.ecr.context import Context
from dockyard.api.ecr.operations import operation
from dockyard.domain.digests import Digest
from dockyard.domain.errors import InvalidRequest

DOWNLOAD_URL_LIFETIME = 3600


def _where(ctx: Context, body: dict[str, Any]) -> dict[str, str]:
    key = ctx.key(body)
    return {"registryId": key.scope.account_id, "repositoryName": key.name.value}


@operation("InitiateLayerUpload")
async def initiate_layer_upload(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    upload_id, part_size = await ctx.registry.layers.initiate(ctx.key(body))
    return {"uploadId": upload_id, "partSize": part_size}


@operation("UploadLayerPart")
async def upload_layer_part(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = base64.b64decode(body["layerPartBlob"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("layerPartBlob must be base64") from None
    last = await ctx.registry.layers.upload_part(
        ctx.key(body), body["uploadId"], int(body["partFirstByte"]), int(body["partLastByte"]), data
    )
    return {**_where(ctx, body), "uploadId": body["uploadId"], "lastByteReceived": last}


@operation("CompleteLayerUpload")
async def complete_layer_upload(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    digest = await ctx.registry.layers.complete(
        ctx.key(body), body["uploadId"], list(body["layerDigests"])
    )
    return {**_where(ctx, body), "uploadId": body["uploadId"], "layerDigest": str(digest)}


@operation("BatchCheckLayerAvailability")
async def batch_check_layer_availability(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    layers, failures = await ctx.registry.layers.availability(
        ctx.key(body), list(body["layerDigests"])
    )
    return {
        "layers": [
            {
                "layerDigest": layer.digest,
                "layerAvailability": "AVAILABLE",
                "layerSize": layer.size,
                "mediaType": layer.media_type,
            }
            for layer in layers
        ],
        "failures": [
            {"layerDigest": d, "failureCode": code, "failureReason": reason}
            for d, code, reason in failures
        ],
    }


@operation("GetDownloadUrlForLayer")
async def get_download_url_for_layer(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    key = ctx.key(body)
    digest = Digest.parse(body["layerDigest"])
    # LayersNotFound when not held; the store's own URL (S3: presigned) when it has one.
    url = await ctx.registry.blobs.download_url(key, digest, DOWNLOAD_URL_LIFETIME)
    if url is not None:
        return {"downloadUrl": url, "layerDigest": str(digest)}
    subject = f"{key.scope.account_id}/{key.scope.region}/{key.name}@{digest}"
    token = ctx.registry.identity.download_token(subject, DOWNLOAD_URL_LIFETIME)
    url = f"{ctx.public_url}/_dockyard/layers/{quote(token)}"
    return {"downloadUrl": url, "layerDigest": str(digest)}
