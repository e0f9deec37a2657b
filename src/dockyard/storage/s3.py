"""Blobs as objects in an S3 bucket (Amazon S3, SeaweedFS, MinIO, ...).

Layout, every key under the configured prefix:

- ``blobs/<algorithm>/<first two hex>/<hex>``: a committed blob, one object.
- ``uploads/<id>/state``: the upload's state, a small JSON object (part size, length, which
  write stored each part and the tail). Its time is the upload's last write or commit.
- ``uploads/<id>/part-<k>-<token>``: bytes ``[k*P, (k+1)*P)`` of the upload, exactly P
  bytes, stored by the write ``token``.
- ``uploads/<id>/tail-<token>``: the bytes past the last whole part (fewer than P).

Everything about an upload lives in the bucket, nothing in the process: any node can
continue, read, commit or abort an upload another node started. An OCI chunk of any size
at any offset maps onto fixed parts of P bytes (at least S3's 5 MiB minimum): a write at
offset ``o`` starts again at part ``o // P``, reading back that part's kept head first, and
each full part is stored as its own object while the next one is being received. What is
left below P bytes at the end of a request is stored as a tail object. Every write names its
objects with a token of its own and overwrites none: the state object, written last and only
if no other write changed it meanwhile (a conditional PUT), is what makes the write take
effect. So a write that fails part way leaves the upload as it was, and two nodes writing one
upload at once (a client retrying a request elsewhere) cannot mix their bytes: the second to
finish is refused. Bytes wait on local disk, in a temporary file per part while it fills,
never in memory. An upload is listed by whichever of its objects is left, so one whose first
write (before any state) or whose abort was cut short is still found and aborted.

A commit copies the first ``size`` bytes server side into the blob's key: a CopyObject when
they are one whole object, else a multipart upload whose parts are UploadPartCopy's of the
upload's part objects (each P bytes, the last one shorter). CopyObject and
CompleteMultipartUpload replace an object atomically, so readers see the whole blob or none,
and concurrent commits of one digest leave one intact blob. The blob's LastModified is the
commit's time (garbage collection reads it through ``blobs()``); S3 keeps it to the second.

A commit interrupted by a crash may leave an incomplete multipart upload on a blob's key,
invisible to listings; a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import json
import re
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import botocore.session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from dockyard.domain.digests import Digest, lookup_digest
from dockyard.domain.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    UploadChangedConcurrently,
    UploadOutOfOrder,
)
from dockyard.storage.base import Observer
from dockyard.storage.names import checked_digest, checked_upload_id, is_upload_id
from dockyard.storage.recent import Recent
from dockyard.storage.s3config import S3Config, S3Unavailable

MiB = 1 << 20
MIN_PART = 5 * MiB  # S3's smallest part but the last
MAX_PART = 5 << 30  # S3's largest part, and CopyObject's largest source
MAX_PARTS = 10_000  # S3's most parts in one multipart upload

_READ_CHUNK = 1 << 20
_WRITE_BATCH = 1 << 20
_COPY_THREADS = 8
_STATE_VERSION = 1
_SEEN_MOST = 4096  # upload states a process remembers (a few hundred bytes each)
# The names this store gives an upload's objects (see the layout above).
_UPLOAD_OBJECT = re.compile(r"state|part-[0-9]{5,}-[0-9a-f]+|tail-[0-9a-f]+")
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})


@dataclass(frozen=True, slots=True)
class _State:
    part_size: int
    length: int
    tail: str | None  # token of the tail object, None when length is a multiple of part_size
    # (first part, token) of each write that stored parts: it stored them up to the next's.
    runs: tuple[tuple[int, str], ...] = ()
    etag: str | None = field(default=None, compare=False)  # of the object it was read from

    @property
    def parts(self) -> int:
        return self.length // self.part_size

    @property
    def tail_size(self) -> int:
        return self.length % self.part_size

    def token_of(self, index: int) -> str:
        """The token of the write that stored part ``index``."""
        found = bisect.bisect_right(self.runs, (index, "\uffff")) - 1
        if not 0 <= index < self.parts or found < 0:
            raise BlobUploadInvalid(f"upload state names no part {index}")
        return self.runs[found][1]

    def encode(self) -> bytes:
        return json.dumps(
            {
                "version": _STATE_VERSION,
                "part_size": self.part_size,
                "length": self.length,
                "tail": self.tail,
                "runs": [list(run) for run in self.runs],
            }
        ).encode()

    @classmethod
    def decode(cls, data: bytes, etag: str | None) -> _State:
        document = json.loads(data)
        if document.get("version") != _STATE_VERSION:
            raise BlobUploadInvalid(f"upload state of unknown version {document.get('version')}")
        runs = tuple((int(first), str(token)) for first, token in document["runs"])
        return cls(
            int(document["part_size"]), int(document["length"]), document["tail"], runs, etag
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _describe(error: ClientError) -> str:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"{_code(error) or 'error'} (HTTP {status})"


class S3BlobStore:
    def __init__(self, config: S3Config, client: Any = None) -> None:
        if not config.bucket:
            raise ValueError("the s3 storage backend needs a bucket")
        if not MIN_PART <= config.part_size <= MAX_PART:
            raise ValueError(f"s3 part size must be {MIN_PART}-{MAX_PART} bytes")
        self._config = config
        self._bucket = config.bucket
        self._prefix = config.key_prefix()
        self._part_size = config.part_size
        self._client = client if client is not None else make_client(config)
        # The state each upload had when this process last wrote or read it: what a commit
        # copies, so that it copies the bytes the caller checked (see commit_upload).
        self._seen: Recent[_State] = Recent(_SEEN_MOST)
        # Conditional PUTs (If-Match, If-None-Match) guard the upload state; botocore before
        # 1.35.5x cannot send them, and a service that does not know them says so once.
        put = self._client.meta.service_model.operation_model("PutObject")
        self._conditional = "IfMatch" in put.input_shape.members

    # --- names ----------------------------------------------------------------------------

    def _blob_key(self, digest: Digest) -> str:
        digest = checked_digest(digest)
        return f"{self._prefix}blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    def _upload_prefix(self, upload_id: str) -> str:
        return f"{self._prefix}uploads/{checked_upload_id(upload_id)}/"

    def _state_key(self, upload_id: str) -> str:
        return self._upload_prefix(upload_id) + "state"

    def _part_key(self, upload_id: str, index: int, token: str) -> str:
        return f"{self._upload_prefix(upload_id)}part-{index:05d}-{token}"

    def _tail_key(self, upload_id: str, token: str) -> str:
        return f"{self._upload_prefix(upload_id)}tail-{token}"

    # --- the bucket -----------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet (a first start); check access."""
        try:
            self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as error:
            if _code(error) not in _NO_BUCKET:
                raise S3Unavailable(f"s3 bucket {self._bucket!r}: {_describe(error)}") from None
        except BotoCoreError as error:
            raise S3Unavailable(f"s3 bucket {self._bucket!r}: {error}") from None
        arguments: dict[str, Any] = {"Bucket": self._bucket}
        if self._config.region and self._config.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self._config.region}
        try:
            self._client.create_bucket(**arguments)
        except ClientError as error:
            if _code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise S3Unavailable(
                    f"cannot create s3 bucket {self._bucket!r}: {_describe(error)}"
                ) from None
        except BotoCoreError as error:
            raise S3Unavailable(f"cannot create s3 bucket {self._bucket!r}: {error}") from None

    # --- blobs ----------------------------------------------------------------------------

    async def size(self, digest: Digest) -> int | None:
        key = self._blob_key(digest)
        return await asyncio.to_thread(self._object_size, key)

    def _object_size(self, key: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            raise
        return int(head["ContentLength"])

    def local_path(self, digest: Digest) -> Path | None:
        checked_digest(digest)
        return None

    async def presigned_url(self, digest: Digest, expires_in: int) -> str | None:
        key = self._blob_key(digest)
        if not self._config.presign:
            return None
        url: str = await asyncio.to_thread(
            self._client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=expires_in,
        )
        return url

    async def read(
        self, digest: Digest, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        key = self._blob_key(digest)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"bad range: offset {offset}, length {length}")
        if length == 0:
            if await asyncio.to_thread(self._object_size, key) is None:
                raise BlobUnknown(str(digest))
            return
        try:
            async for chunk in self._stream(key, offset, length):
                yield chunk
        except _Missing:
            raise BlobUnknown(str(digest)) from None

    async def _stream(self, key: str, offset: int, length: int | None) -> AsyncIterator[bytes]:
        """The object's bytes from ``offset``, ``length`` of them; _Missing when absent."""
        body = await asyncio.to_thread(self._open_body, key, offset, length)
        if body is None:
            return
        try:
            while True:
                chunk = await asyncio.to_thread(body.read, _READ_CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def _open_body(self, key: str, offset: int, length: int | None) -> Any:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if offset or length is not None:
            last = "" if length is None else str(offset + length - 1)
            arguments["Range"] = f"bytes={offset}-{last}"
        try:
            return self._client.get_object(**arguments)["Body"]
        except ClientError as error:
            code = _code(error)
            if code in _NOT_FOUND:
                raise _Missing(key) from None
            if code in ("InvalidRange", "416"):
                return None  # at or past the end of an object that is there
            raise

    async def delete(self, digest: Digest) -> None:
        key = self._blob_key(digest)
        await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=key)

    # --- uploads: state -------------------------------------------------------------------

    def _load_state(self, upload_id: str) -> _State | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._state_key(upload_id))
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return None
            raise
        with contextlib.closing(response["Body"]) as body:
            return _State.decode(body.read(), response.get("ETag"))

    def _save_state(self, upload_id: str, state: _State, seen: _State | None) -> _State:
        """Write ``state`` if the state object is still ``seen`` (None: if there is none yet);
        the state as written. Another node's write in between (a client retrying a request
        elsewhere while the first still runs) makes this one fail rather than mix the two."""
        arguments: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": self._state_key(upload_id),
            "Body": state.encode(),
            "ContentType": "application/json",
        }
        if self._conditional:
            if seen is None:
                arguments["IfNoneMatch"] = "*"
            elif seen.etag is not None:
                arguments["IfMatch"] = seen.etag
        try:
            response = self._client.put_object(**arguments)
        except ClientError as error:
            code = _code(error)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise UploadChangedConcurrently(upload_id) from None
            if code in _NOT_FOUND:  # If-Match on a state deleted meanwhile
                raise BlobUploadUnknown(upload_id) from None
            if code not in ("NotImplemented", "501") or not self._conditional:
                raise
            self._conditional = False  # a service without conditional writes
            return self._save_state(upload_id, state, seen)
        return dataclasses.replace(state, etag=response.get("ETag"))

    def _pieces(self, upload_id: str, state: _State, size: int) -> list[tuple[str, int, int]]:
        """The objects holding the upload's first ``size`` bytes, in order:
        (key, bytes wanted from its start, the object's whole size)."""
        pieces = []
        whole_parts, rest = divmod(size, state.part_size)
        for index in range(whole_parts):
            key = self._part_key(upload_id, index, state.token_of(index))
            pieces.append((key, state.part_size, state.part_size))
        if rest:
            if whole_parts < state.parts:
                key = self._part_key(upload_id, whole_parts, state.token_of(whole_parts))
                pieces.append((key, rest, state.part_size))
            else:
                assert state.tail is not None
                key = self._tail_key(upload_id, state.tail)
                pieces.append((key, rest, state.tail_size))
        return pieces

    async def _state_holding(self, upload_id: str, size: int) -> _State:
        checked_upload_id(upload_id)
        state = await asyncio.to_thread(self._load_state, upload_id)
        if state is None:
            raise BlobUploadUnknown(upload_id)
        if size < 0 or size > state.length:
            raise BlobUploadInvalid(f"upload {upload_id} holds {state.length} bytes, not {size}")
        return state

    # --- uploads: writes ------------------------------------------------------------------

    async def write_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        observe: Observer,
        limit: int,
    ) -> int:
        checked_upload_id(upload_id)
        seen = await asyncio.to_thread(self._load_state, upload_id)
        if seen is None:
            if offset != 0:
                raise UploadOutOfOrder(upload_id, 0, offset)
            # Written with the first bytes' objects (a write cut short leaves them listed
            # under the upload, for an abort to find).
            state = _State(self._part_size, 0, None)
        else:
            state = seen
        if offset < 0 or offset > state.length:
            raise UploadOutOfOrder(upload_id, state.length, offset)
        limit = min(limit, state.part_size * MAX_PARTS)
        writer = _PartWriter(self, upload_id, state, offset)
        written = 0
        try:
            batch: list[bytes] = []
            batched = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                if offset + written + len(chunk) > limit:
                    raise BlobTooLarge(limit)
                written += len(chunk)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH:
                    await writer.add(b"".join(batch), observe)
                    batch, batched = [], 0
            if batch:
                await writer.add(b"".join(batch), observe)
            if written == 0 and offset == state.length:
                new = state  # nothing discarded, nothing added: only the time moves
            else:
                new = await writer.finish(offset + written)
            saved = await asyncio.to_thread(self._save_state, upload_id, new, seen)
        except BaseException:
            await writer.discard()  # its own objects, which no state names
            raise
        finally:
            await writer.close()
        self._seen.put(upload_id, saved)
        await asyncio.to_thread(self._drop_stale, upload_id, state, new, writer.first)
        return written

    def _put_file(self, key: str, handle: BinaryIO) -> None:
        handle.seek(0)
        self._client.put_object(Bucket=self._bucket, Key=key, Body=handle)

    def _copy_head(self, key: str, size: int, handle: BinaryIO) -> None:
        """The first ``size`` bytes of object ``key`` into ``handle``, streamed."""
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=key, Range=f"bytes=0-{size - 1}"
            )
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise BlobUploadInvalid(
                    f"upload object {key} is gone: the upload was changed concurrently or aborted"
                ) from None
            raise
        copied = 0
        with contextlib.closing(response["Body"]) as body:
            while chunk := body.read(_READ_CHUNK):
                handle.write(chunk)
                copied += len(chunk)
        if copied != size:
            raise BlobUploadInvalid(f"upload object {key} holds {copied} bytes, not {size}")

    def _drop_stale(self, upload_id: str, old: _State, new: _State, first: int) -> None:
        """Objects the old state named and the new one does not, the write having started
        again at part ``first`` (best effort: an abort removes whatever is left)."""
        keys = [
            self._part_key(upload_id, index, old.token_of(index))
            for index in range(first, old.parts)
        ]
        if old.tail is not None and old.tail != new.tail:
            keys.append(self._tail_key(upload_id, old.tail))
        with contextlib.suppress(ClientError):
            self._delete_keys(keys)

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            if len(batch) == 1:
                self._client.delete_object(Bucket=self._bucket, Key=batch[0])
                continue
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors = [e for e in response.get("Errors", []) if e.get("Code") not in _NOT_FOUND]
            if errors:
                raise ClientError(
                    {"Error": {"Code": errors[0].get("Code"), "Message": str(errors[0])}},
                    "DeleteObjects",
                )

    # --- uploads: reads, commits, aborts --------------------------------------------------

    async def read_upload(
        self, upload_id: str, length: int, offset: int = 0
    ) -> AsyncIterator[bytes]:
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        state = await self._state_holding(upload_id, length)
        self._seen.put(upload_id, state)
        position = 0  # where the current piece starts in the upload
        for key, wanted, _whole in self._pieces(upload_id, state, length):
            start, position = max(offset - position, 0), position + wanted
            if start >= wanted:
                continue  # wholly before ``offset``
            try:
                async for chunk in self._stream(key, start, wanted - start):
                    yield chunk
            except _Missing:
                raise BlobUploadInvalid(f"upload {upload_id} lost its object {key}") from None

    async def commit_upload(self, upload_id: str, digest: Digest, size: int) -> None:
        """Copy the upload's first ``size`` bytes under ``digest``: those of the state this
        process last wrote or read, the bytes its caller hashed. Another node may have
        written the upload since (two clients on one upload at once); its objects are not
        the ones checked, and the state's objects are never overwritten, so the copy takes
        the checked bytes or fails because the later write removed them."""
        target = self._blob_key(digest)
        state = self._seen.get(checked_upload_id(upload_id))
        if state is None or not 0 <= size <= state.length:
            state = await self._state_holding(upload_id, size)  # none seen here: a restart
        pieces = self._pieces(upload_id, state, size)
        try:
            await asyncio.to_thread(self._materialize, target, pieces)
        except ClientError as error:
            if _code(error) not in _NOT_FOUND:
                raise
            raise UploadChangedConcurrently(upload_id) from None
        # The upload's time is that of its last write or commit (unless it changed meanwhile).
        with contextlib.suppress(BlobUploadInvalid, BlobUploadUnknown):
            await asyncio.to_thread(self._save_state, upload_id, state, state)

    def _materialize(self, target: str, pieces: list[tuple[str, int, int]]) -> None:
        """Make ``target`` hold the pieces' bytes, all at once, copying server side."""
        if not pieces:
            self._client.put_object(Bucket=self._bucket, Key=target, Body=b"")
            return
        if len(pieces) == 1 and pieces[0][1] == pieces[0][2]:
            self._client.copy_object(
                Bucket=self._bucket,
                Key=target,
                CopySource={"Bucket": self._bucket, "Key": pieces[0][0]},
            )
            return
        started = self._client.create_multipart_upload(Bucket=self._bucket, Key=target)
        multipart = started["UploadId"]

        def copy(numbered: tuple[int, tuple[str, int, int]]) -> dict[str, Any]:
            number, (source, wanted, _whole) = numbered
            copied = self._client.upload_part_copy(
                Bucket=self._bucket,
                Key=target,
                UploadId=multipart,
                PartNumber=number,
                CopySource={"Bucket": self._bucket, "Key": source},
                CopySourceRange=f"bytes=0-{wanted - 1}",
            )
            return {"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(min(_COPY_THREADS, len(pieces))) as pool:
                parts = list(pool.map(copy, enumerate(pieces, start=1)))
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=target,
                UploadId=multipart,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=target, UploadId=multipart
                )
            raise

    async def abort_upload(self, upload_id: str) -> None:
        prefix = self._upload_prefix(upload_id)
        self._seen.put(upload_id, None)
        await asyncio.to_thread(self._abort, prefix)

    def _abort(self, prefix: str) -> None:
        # Any object left lists the upload (``uploads``), so an abort cut short is found and
        # done again: the objects may go in any order, in as few requests as S3 allows.
        self._delete_keys([entry["Key"] for page in self._pages(prefix) for entry in page])

    # --- listings -------------------------------------------------------------------------

    def _pages(self, prefix: str) -> Iterator[list[dict[str, Any]]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            yield page.get("Contents", [])

    async def _listing(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        pages = self._pages(prefix)
        while True:
            page = await asyncio.to_thread(next, pages, None)
            if page is None:
                return
            for entry in page:
                yield entry

    async def blobs(self) -> AsyncIterator[tuple[Digest, int, float]]:
        root = self._prefix + "blobs/"
        async for entry in self._listing(root):
            parts = entry["Key"][len(root) :].split("/")
            if len(parts) != 3 or parts[1] != parts[2][:2]:
                continue  # not a name a blob can have
            digest = lookup_digest(f"{parts[0]}:{parts[2]}")
            if digest is None:
                continue
            yield digest, int(entry["Size"]), entry["LastModified"].timestamp()

    async def uploads(self) -> AsyncIterator[tuple[str, float]]:
        """Every upload any object is left of, with its newest object's time: one whose
        first write or whose abort was cut short has objects but no state."""
        root = self._prefix + "uploads/"
        current: str | None = None
        newest = 0.0
        async for entry in self._listing(root):  # in key order: an upload's keys together
            upload_id, _, name = entry["Key"][len(root) :].partition("/")
            if not is_upload_id(upload_id) or not _UPLOAD_OBJECT.fullmatch(name):
                continue
            if upload_id != current:
                if current is not None:
                    yield current, newest
                current, newest = upload_id, 0.0
            newest = max(newest, entry["LastModified"].timestamp())
        if current is not None:
            yield current, newest


class _Missing(Exception):
    """An object that is not there (a blob or an upload's piece, said by the caller)."""


class _PartWriter:
    """Fills P-byte parts from a write's bytes, each in a temporary file, and stores each
    full one as a part object named with the write's token while the next one fills (one
    upload in flight); what is left at the end becomes the write's tail object."""

    def __init__(self, store: S3BlobStore, upload_id: str, state: _State, offset: int) -> None:
        self._store = store
        self._upload_id = upload_id
        self._state = state
        self._offset = offset
        self._size = state.part_size
        self.first = offset // state.part_size  # the first part this write stores again
        self._index = self.first  # the part being filled
        self._token = uuid.uuid4().hex[:16]
        self._file: BinaryIO | None = None
        self._filled = 0
        self._pending: asyncio.Future[None] | None = None
        self._stored: list[str] = []  # keys this write has put

    def _head_source(self) -> tuple[str, int] | None:
        """The object holding the kept head of the first part written, and the head's size."""
        head = self._offset - self.first * self._size
        if not head:
            return None
        state = self._state
        if self.first < state.parts:
            token = state.token_of(self.first)
            return self._store._part_key(self._upload_id, self.first, token), head
        assert state.tail is not None
        return self._store._tail_key(self._upload_id, state.tail), head

    def _open(self) -> BinaryIO:
        handle: BinaryIO = tempfile.TemporaryFile(  # noqa: SIM115 - closed by the writer
            dir=self._store._config.temp_dir
        )
        return handle

    def _start(self) -> None:
        """Open the first part's file, holding the head it keeps (runs in a thread)."""
        self._file = self._open()
        source = self._head_source()
        if source is not None:
            self._store._copy_head(source[0], source[1], self._file)
            self._filled = source[1]

    def _absorb(self, data: bytes, observe: Observer) -> list[tuple[int, BinaryIO]]:
        """Observe ``data`` and add it to the parts; returns the parts it filled (in a thread)."""
        observe(data)
        if self._file is None:
            self._start()
        full = []
        view = memoryview(data)
        while view:
            assert self._file is not None
            room = self._size - self._filled
            self._file.write(view[:room])
            self._filled += min(room, len(view))
            view = view[room:]
            if self._filled == self._size:
                full.append((self._index, self._file))
                self._index += 1
                self._file, self._filled = self._open(), 0
        return full

    async def add(self, data: bytes, observe: Observer) -> None:
        for index, handle in await asyncio.to_thread(self._absorb, data, observe):
            await self._settle()
            key = self._store._part_key(self._upload_id, index, self._token)
            self._stored.append(key)
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._put, key, handle))

    def _put(self, key: str, handle: BinaryIO) -> None:
        try:
            self._store._put_file(key, handle)
        finally:
            handle.close()

    async def _settle(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def finish(self, length: int) -> _State:
        """Store what is left below a whole part as the tail; the upload's state after the
        write, holding ``length`` bytes."""
        await self._settle()
        if self._file is None:
            await asyncio.to_thread(self._start)  # a write of no bytes: keep just the head
        assert self._file is not None
        tail = None
        if self._filled:
            tail = self._token
            key = self._store._tail_key(self._upload_id, tail)
            self._stored.append(key)
            await asyncio.to_thread(self._store._put_file, key, self._file)
        old = self._state
        runs = tuple(run for run in old.runs if run[0] < self.first)
        if length // self._size > self.first:
            runs += ((self.first, self._token),)
        return _State(old.part_size, length, tail, runs)

    async def close(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(BaseException):
                await self._pending
            self._pending = None
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None

    async def discard(self) -> None:
        """Remove the objects this write stored (best effort: an abort removes the rest)."""
        await self.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._store._delete_keys, self._stored)


_session: Any = None
_session_lock = threading.Lock()


def make_client(config: S3Config) -> Any:
    """A botocore S3 client for ``config``: thread safe, called from worker threads.

    One botocore session serves every client of the process, so its service models are
    read once (a client of a new session takes a good half second to make).
    """
    global _session
    with _session_lock:
        if _session is None:
            _session = botocore.session.Session()
        client = _session.create_client(
            "s3",
            region_name=config.region or None,
            endpoint_url=config.endpoint_url or None,
            aws_access_key_id=config.access_key_id or None,
            aws_secret_access_key=config.secret_access_key or None,
            config=Config(
                signature_version="s3v4",
                # S3-compatible services answer on one host: bucket in the path.
                s3={"addressing_style": "path" if config.endpoint_url else "auto"},
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=64,
                connect_timeout=10,
                read_timeout=120,
            ),
        )
    client.meta.events.register("before-send.s3", _no_continue_without_body)
    return client


def _no_continue_without_body(request: Any, **_kwargs: Any) -> None:
    """No ``Expect: 100-continue`` on a request without a body: there is nothing to hold
    back, and after one such PUT a Go server (SeaweedFS) leaves the connection's next PUT
    waiting until the client's read timeout."""
    if request.headers.get("Content-Length") in ("0", b"0"):
        request.headers.pop("Expect", None)
