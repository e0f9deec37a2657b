"""Content metadata: which blobs and manifests each repository holds, and its tags.

Methods are synchronous (SQLAlchemy's blocking API); the services call them in
worker threads. Each public method is one transaction, so a crash at any point
leaves either the whole change or none of it: a tag is written in the same
transaction that checks its manifest's blobs are held.

Concurrent writers (threads, worker processes, nodes) are decided by the database: the
primary keys of blobs, links, manifests and tags, with inserts that wait for and yield to
a concurrent insert of the same key (``ON CONFLICT``), or a transaction run again once the
winner has committed (``write_retrying``); rows a transaction relies on are locked against
deletion until it ends. A writer that makes a reference GC decides by holds GC off
(``hold_off_gc``) for its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from dockyard.domain.digests import Digest
from dockyard.domain.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    ContentReferenced,
    ManifestArchived,
    ManifestBlobUnknown,
    ManifestChildUnknown,
    ManifestInvalid,
    ManifestUnknown,
    TagImmutable,
)
from dockyard.domain.immutability import MutabilityRule, TagMutability
from dockyard.domain.names import Reference, Tag
from dockyard.domain.records import (
    NewManifest,
    Page,
    PutOutcome,
    Referrer,
    RepositoryKey,
    StoredManifest,
    UploadState,
)
from dockyard.metadata.common import (
    PageQueries,
    aware,
    bound_page,
    in_repository_param,
    key_params,
    now,
    page_queries,
    require_repository,
)
from dockyard.metadata.database import (
    bytewise,
    dialect_statements,
    hold_off_gc,
    reading,
    reads_are_local,
    write_retrying,
    writing,
)
from dockyard.metadata.tables import (
    blobs,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
    uploads,
)

_MEDIA_TYPE_LENGTH = 255


class ContentStore:
    """Blobs, uploads, manifests, tags and referrers of repositories."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.reads_are_local = reads_are_local(engine)

    def close(self) -> None:
        self._engine.dispose()

    # Blobs --------------------------------------------------------------

    def blob_size(self, key: RepositoryKey, digest: Digest) -> int:
        """The size of a blob the repository holds; raises when it holds none."""
        return self.blob_link(key, digest)[0]

    def blob_link(self, key: RepositoryKey, digest: Digest) -> tuple[int, datetime]:
        """Size and link time of a blob the repository holds; raises when it holds none."""
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(_BLOB_LINK, {**key_params(key), "digest": str(digest)}).first()
            if row is None:
                require_repository(conn, key)
                raise BlobUnknown(str(digest))
            return int(row.size), aware(row.linked_at)

    def renew_link(self, key: RepositoryKey, digest: Digest) -> None:
        """Restart a link's GC grace period: a client is about to rely on it."""
        with writing(self._engine) as conn:
            hold_off_gc(conn)
            repository_id = require_repository(conn, key)
            conn.execute(
                _RELINK,
                {"b_repository_id": repository_id, "b_digest": str(digest), "b_linked_at": now()},
            )

    def link_blob(self, key: RepositoryKey, digest: Digest, size: int) -> None:
        with writing(self._engine) as conn:
            hold_off_gc(conn)
            self._link(conn, require_repository(conn, key), digest, size)

    @staticmethod
    def _link(conn: Connection, repository_id: int, digest: Digest, size: int) -> None:
        """The caller holds GC off (``hold_off_gc``, first thing in its transaction)."""
        stamp = now()
        name = str(digest)
        row = {"digest": name, "size": size, "created_at": stamp}
        if conn.execute(_ADD_BLOB[conn.dialect.name], row).first() is None:
            # Referenced again: whatever GC marked is no longer garbage.
            conn.execute(_UNDOOM_BLOB, {"b_digest": name})
        # Uploaded again: a manifest is probably on its way, so the grace period that
        # protects it from GC starts again.
        link = {"repository_id": repository_id, "digest": name, "linked_at": stamp}
        conn.execute(_LINK[conn.dialect.name], link)

    def mount_blob(self, source: RepositoryKey, target: RepositoryKey, digest: Digest) -> bool:
        """Link a blob ``source`` holds into ``target`` in one transaction; False if none."""
        return self._link_held(_HELD_SIZE, key_params(source), target, digest)

    def adopt_blob(self, target: RepositoryKey, digest: Digest) -> bool:
        """Link into ``target`` a blob that some repository, of any registry, holds; False
        when none does. For a caller that knows ``target`` may hold that content: the bytes
        are the same wherever they are linked, and a linked blob is never collected."""
        return self._link_held(_ANY_HOLDER_SIZE, {}, target, digest)

    def _link_held(
        self, held: Select[Any], params: dict[str, Any], target: RepositoryKey, digest: Digest
    ) -> bool:
        """Link ``digest`` into ``target`` if ``held`` (a size query) finds a link to it."""
        with writing(self._engine) as conn:
            hold_off_gc(conn)
            size = conn.execute(held, {**params, "digest": str(digest)}).scalar()
            if size is None:
                return False
            self._link(conn, require_repository(conn, target), digest, int(size))
        return True

    def unlink_blob(self, key: RepositoryKey, digest: Digest) -> None:
        with writing(self._engine) as conn:
            repository_id = require_repository(conn, key)
            # Lock the link first: a manifest naming it now waits, or has committed and
            # is seen below.
            conn.execute(
                select(repository_blobs.c.digest)
                .where(
                    repository_blobs.c.repository_id == repository_id,
                    repository_blobs.c.digest == str(digest),
                )
                .with_for_update()
            )
            referrer = _referenced_by(conn, repository_id, digest, "blob")
            if referrer is not None:
                raise ContentReferenced(str(digest), referrer)
            removed = conn.execute(
                delete(repository_blobs).where(
                    repository_blobs.c.repository_id == repository_id,
                    repository_blobs.c.digest == str(digest),
                )
            ).rowcount
            if not removed:
                raise BlobUnknown(str(digest))

    # Uploads ------------------------------------------------------------

    def create_upload(self, key: RepositoryKey, upload_id: str) -> UploadState:
        stamp = now()
        with writing(self._engine) as conn:
            inserted = conn.execute(
                _INSERT_UPLOAD, {**key_params(key), "upload_id": upload_id, "stamp": stamp}
            ).first()
            if inserted is None:
                require_repository(conn, key)
        return UploadState(upload_id, key.name, 0, stamp)

    def get_upload(self, key: RepositoryKey, upload_id: str) -> UploadState:
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(_UPLOAD, {**key_params(key), "upload_id": upload_id}).first()
            if row is None:
                require_repository(conn, key)
                raise BlobUploadUnknown(upload_id)
        return UploadState(
            upload_id, key.name, int(row.offset), aware(row.started_at), row.last_part_size
        )

    def advance_upload(self, upload_id: str, expected: int, offset: int) -> bool:
        """Move an upload's committed offset, only if nobody else moved it meanwhile."""
        with writing(self._engine) as conn:
            moved = conn.execute(
                _ADVANCE_UPLOAD,
                {
                    "b_id": upload_id,
                    "b_expected": expected,
                    "b_offset": offset,
                    "b_last_part_size": offset - expected,
                    "b_updated_at": now(),
                },
            ).rowcount
        return bool(moved)

    def finish_upload(
        self, key: RepositoryKey, upload_id: str, digest: Digest, size: int, recorded: int
    ) -> bool:
        """End the upload and link its blob, only if its recorded offset is still ``recorded``
        (the offset before a closing chunk, which thus needs no transaction of its own)."""
        with writing(self._engine) as conn:
            hold_off_gc(conn)
            repository_id = conn.execute(
                _FINISH_UPLOAD, {"upload_id": upload_id, "recorded": recorded}
            ).scalar()
            if repository_id is None:
                require_repository(conn, key)
                return False
            self._link(conn, repository_id, digest, size)
        return True

    def delete_upload(self, upload_id: str) -> bool:
        with writing(self._engine) as conn:
            return bool(conn.execute(_DELETE_UPLOAD, {"upload_id": upload_id}).rowcount)

    # Manifests and tags --------------------------------------------------

    def put_manifest(
        self,
        key: RepositoryKey,
        manifest: NewManifest,
        tags_to_set: Sequence[Tag],
        idempotent_repush: bool,
    ) -> PutOutcome:
        """Store a manifest (and point tags at it) if everything it names is held.

        One transaction checks references and tag immutability and writes, so of
        concurrent pushes to an immutable tag exactly one wins, and a push naming
        several tags sets all of them or none.
        """
        tags_to_set = sorted(set(tags_to_set), key=lambda t: t.value)  # one lock order

        def put(conn: Connection) -> PutOutcome:
            return self._put_manifest(conn, key, manifest, tags_to_set, idempotent_repush)

        # Of two pushes of one tag or one manifest at once on PostgreSQL, the second fails
        # on the key the first inserted; run again, it sees the first's rows.
        return write_retrying(self._engine, put)

    def _put_manifest(
        self,
        conn: Connection,
        key: RepositoryKey,
        manifest: NewManifest,
        tags_to_set: Sequence[Tag],
        idempotent_repush: bool,
    ) -> PutOutcome:
        hold_off_gc(conn)
        repository = conn.execute(_REPOSITORY_RULE, key_params(key)).first()
        if repository is None:
            require_repository(conn, key)
        assert repository is not None
        repository_id = repository.id
        # Held until commit: a delete of this manifest waits for this push, or this push
        # finds it gone and stores it again.
        held = conn.execute(
            _MANIFEST_ID, {"repository_id": repository_id, "digest": str(manifest.digest)}
        ).first()
        if held is None:
            # A manifest already held needs no check: its references keep what it names
            # (a link or child a manifest names is neither unlinked nor collected).
            self._check_references(conn, repository_id, manifest)
        stamp = now()
        rule = MutabilityRule(
            TagMutability(repository.tag_mutability),
            tuple(repository.mutability_filters or ()),
        )
        # Every tag is checked before anything is written.
        current: dict[Tag, int | None] = {}
        for tag in tags_to_set:
            found = conn.execute(
                _TAG_TARGET, {"repository_id": repository_id, "name": tag.value}
            ).first()
            current[tag] = None if found is None else found.manifest_id
            # By digest: on PostgreSQL the tag may have been committed, with this very
            # manifest, after the lookup above (which then inserts it, loses on its key
            # and runs again).
            repush = (
                idempotent_repush and found is not None and found.digest == str(manifest.digest)
            )
            if found is not None and rule.is_immutable(tag.value) and not repush:
                raise TagImmutable(tag.value, key.name.value)
        restored = False
        if held is None:
            manifest_id = self._insert_manifest(conn, repository_id, manifest, stamp)
        else:
            manifest_id = int(held.id)
            if held.image_status != "ACTIVE":
                # Pushing an archived image again restores it.
                restored = bool(
                    conn.execute(
                        _RESTORE_MANIFEST, {"b_id": manifest_id, "b_activated_at": stamp}
                    ).rowcount
                )
        tag_moved = False
        for tag, previous in current.items():
            if previous != manifest_id:
                self._set_tag(
                    conn, repository_id, tag, manifest_id, stamp, exists=previous is not None
                )
                tag_moved = True
        return PutOutcome(manifest.digest, manifest.subject, held is None, tag_moved, restored)

    @staticmethod
    def _insert_manifest(
        conn: Connection, repository_id: int, manifest: NewManifest, stamp: datetime
    ) -> int:
        # The columns hold 255 characters (RFC 6838's limit); PostgreSQL refuses more.
        for what, media_type in (
            ("mediaType", manifest.media_type),
            ("artifactType", manifest.artifact_type),
            ("config mediaType", manifest.config_media_type),
        ):
            if media_type is not None and len(media_type) > _MEDIA_TYPE_LENGTH:
                raise ManifestInvalid(f"{what} longer than {_MEDIA_TYPE_LENGTH} characters")
        size = manifest.layers_size
        if manifest.children:
            largest = conn.execute(
                _LARGEST_CHILD,
                {"repository_id": repository_id, "digests": [str(d) for d in manifest.children]},
            ).scalar()
            size = int(largest or 0)
        manifest_id = int(
            conn.execute(
                _INSERT_MANIFEST,
                {
                    "repository_id": repository_id,
                    "digest": str(manifest.digest),
                    "media_type": manifest.media_type,
                    "artifact_type": manifest.artifact_type,
                    "subject_digest": str(manifest.subject) if manifest.subject else None,
                    "annotations": manifest.annotations,
                    "size": len(manifest.payload),
                    "payload": manifest.payload,
                    "pushed_at": stamp,
                    "image_size": size,
                    "config_media_type": manifest.config_media_type,
                },
            ).scalar_one()
        )
        references = {(str(d), "blob") for d in manifest.blobs}
        references |= {(str(d), "manifest") for d in manifest.children}
        if references:
            conn.execute(
                _INSERT_REFERENCES,
                [{"manifest_id": manifest_id, "digest": d, "kind": k} for d, k in references],
            )
        return manifest_id

    @staticmethod
    def _check_references(conn: Connection, repository_id: int, manifest: NewManifest) -> None:
        missing = _first_missing(conn, _HELD_BLOBS, repository_id, manifest.blobs)
        if missing is not None:
            raise ManifestBlobUnknown(str(missing))
        missing = _first_missing(conn, _HELD_MANIFESTS, repository_id, manifest.children)
        if missing is not None:
            raise ManifestChildUnknown(str(missing))

    @staticmethod
    def _set_tag(
        conn: Connection,
        repository_id: int,
        tag: Tag,
        manifest_id: int,
        stamp: datetime,
        exists: bool,
    ) -> None:
        if exists:
            conn.execute(
                _MOVE_TAG,
                {
                    "b_repository_id": repository_id,
                    "b_name": tag.value,
                    "b_manifest_id": manifest_id,
                    "b_updated_at": stamp,
                },
            )
        else:
            conn.execute(
                _INSERT_TAG,
                {
                    "repository_id": repository_id,
                    "name": tag.value,
                    "manifest_id": manifest_id,
                    "updated_at": stamp,
                },
            )

    def check_repository(self, key: RepositoryKey) -> None:
        """Raise NameUnknown unless the repository exists."""
        with reading(self._engine) as conn:
            require_repository(conn, key)

    def get_manifest(
        self, key: RepositoryKey, reference: Reference, with_payload: bool = True
    ) -> StoredManifest:
        query = _MANIFEST_LOOKUPS[(isinstance(reference, Tag), with_payload)]
        with reading(self._engine, single_statement=True) as conn:
            row = conn.execute(query, {**key_params(key), "reference": str(reference)}).first()
            if row is None:
                require_repository(conn, key)
                raise ManifestUnknown(str(reference))
        if row.image_status != "ACTIVE":
            # Archived images cannot be pulled; the error says so, and how to restore one.
            raise ManifestArchived(str(reference), key.name.value, row.digest, row.image_status)
        return StoredManifest(
            digest=Digest.parse(row.digest),
            media_type=row.media_type,
            size=int(row.size),
            payload=bytes(row.payload) if with_payload else None,
        )

    def list_tags(self, key: RepositoryKey, last: str | None, limit: int | None) -> Page:
        with reading(self._engine) as conn:
            repository_id = require_repository(conn, key)
        params: dict[str, Any] = {"repository_id": repository_id}
        if last:
            params["last"] = last
        return bound_page(self._engine, _TAG_PAGES[bool(last)], params, limit)

    def referrers(self, key: RepositoryKey, subject: Digest) -> list[Referrer]:
        with reading(self._engine) as conn:
            repository_id = require_repository(conn, key)
            rows = conn.execute(
                select(
                    manifests.c.digest,
                    manifests.c.media_type,
                    manifests.c.size,
                    manifests.c.artifact_type,
                    manifests.c.annotations,
                )
                .where(
                    manifests.c.repository_id == repository_id,
                    manifests.c.subject_digest == str(subject),
                )
                .order_by(manifests.c.id)
            ).all()
        return [
            Referrer(
                digest=Digest.parse(r.digest),
                media_type=r.media_type,
                size=int(r.size),
                artifact_type=r.artifact_type,
                annotations=dict(r.annotations or {}),
            )
            for r in rows
        ]

    def delete_manifest(self, key: RepositoryKey, digest: Digest) -> None:
        with writing(self._engine) as conn:
            repository_id = require_repository(conn, key)
            # Locked first, so a push naming it as a child, or tagging it, comes wholly
            # before this delete (and is seen below) or after it (and finds it gone).
            manifest_id = conn.execute(
                select(manifests.c.id)
                .where(
                    manifests.c.repository_id == repository_id,
                    manifests.c.digest == str(digest),
                )
                .with_for_update()
            ).scalar()
            if manifest_id is None:
                raise ManifestUnknown(str(digest))
            parent = _referenced_by(conn, repository_id, digest, "manifest")
            if parent is not None:
                raise ContentReferenced(str(digest), parent)
            conn.execute(delete(tags).where(tags.c.manifest_id == manifest_id))
            conn.execute(
                delete(manifest_references).where(manifest_references.c.manifest_id == manifest_id)
            )
            conn.execute(delete(manifests).where(manifests.c.id == manifest_id))

    def delete_tag(self, key: RepositoryKey, tag: Tag) -> None:
        with writing(self._engine) as conn:
            repository_id = require_repository(conn, key)
            removed = conn.execute(
                delete(tags).where(tags.c.repository_id == repository_id, tags.c.name == tag.value)
            ).rowcount
            if not removed:
                raise ManifestUnknown(tag.value)


def _first_missing(
    conn: Connection, held_query: Select[Any], repository_id: int, digests: tuple[Digest, ...]
) -> Digest | None:
    """The first of ``digests`` the repository does not hold; ``held_query`` is
    ``_HELD_BLOBS`` or ``_HELD_MANIFESTS``. The rows found stay locked against deletion
    until the transaction ends (``FOR KEY SHARE`` on PostgreSQL; SQLite's one writer
    excludes everyone anyway): a delete of a link or a child manifest that races a
    manifest naming it comes wholly before or after it."""
    if not digests:
        return None
    held = set(
        conn.execute(
            held_query,
            {"repository_id": repository_id, "digests": list({str(d) for d in digests})},
        ).scalars()
    )
    return next((d for d in digests if str(d) not in held), None)


def _referenced_by(conn: Connection, repository_id: int, digest: Digest, kind: str) -> str | None:
    """A manifest of the repository that needs ``digest`` (as a blob or a child), if any."""
    found = conn.execute(
        select(manifests.c.digest)
        .join(manifest_references, manifest_references.c.manifest_id == manifests.c.id)
        .where(
            manifests.c.repository_id == repository_id,
            manifest_references.c.digest == str(digest),
            manifest_references.c.kind == kind,
        )
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def _manifest_lookup(by_tag: bool, with_payload: bool) -> Select[Any]:
    columns: list[Any] = [
        manifests.c.digest,
        manifests.c.media_type,
        manifests.c.size,
        manifests.c.image_status,
    ]
    if with_payload:
        columns.append(manifests.c.payload)
    query = select(*columns).join(repositories, repositories.c.id == manifests.c.repository_id)
    reference: BindParameter[str] = bindparam("reference")
    if by_tag:
        query = query.join(
            tags, and_(tags.c.manifest_id == manifests.c.id, tags.c.name == reference)
        )
    else:
        query = query.where(manifests.c.digest == reference)
    return query.where(in_repository_param())


# Every pull runs one of these: built once, so a request pays for neither building the
# statement nor computing its cache key (together about a third of a pull's CPU).
_MANIFEST_LOOKUPS = {
    (by_tag, with_payload): _manifest_lookup(by_tag, with_payload)
    for by_tag in (True, False)
    for with_payload in (True, False)
}


# The statements of pushes (blob checks, uploads, links, manifests and tags), built once
# like the lookups above: building them and their cache keys anew cost more CPU than
# running them. Bound names in UPDATEs start with ``b_``: SQLAlchemy reserves column names
# for the SET clause. Inserts are ``insert(table)`` run with a row of column values.

_BLOB_LINK = (
    select(blobs.c.size, repository_blobs.c.linked_at)
    .select_from(
        repositories.join(
            repository_blobs, repository_blobs.c.repository_id == repositories.c.id
        ).join(blobs, blobs.c.digest == repository_blobs.c.digest)
    )
    .where(in_repository_param(), repository_blobs.c.digest == bindparam("digest"))
)

_HELD_SIZE = (
    select(blobs.c.size)
    .join(repository_blobs, repository_blobs.c.digest == blobs.c.digest)
    .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
    .where(in_repository_param(), blobs.c.digest == bindparam("digest"))
)

_ANY_HOLDER_SIZE = (
    select(blobs.c.size)
    .join(repository_blobs, repository_blobs.c.digest == blobs.c.digest)
    .where(blobs.c.digest == bindparam("digest"))
    .limit(1)
)

# A blob row unless there is one (a row back when it was inserted); a concurrent insert
# of the same digest is waited for, not failed on.
_ADD_BLOB = dialect_statements(
    lambda insert_: (
        insert_(blobs)
        .on_conflict_do_nothing(index_elements=[blobs.c.digest])
        .returning(blobs.c.digest)
    )
)

_UNDOOM_BLOB = (
    update(blobs)
    .where(blobs.c.digest == bindparam("b_digest"), blobs.c.doomed_at.is_not(None))
    .values(doomed_at=None)
)


def _link_statement(insert_: Any) -> Any:
    statement = insert_(repository_blobs)
    return statement.on_conflict_do_update(
        index_elements=[repository_blobs.c.repository_id, repository_blobs.c.digest],
        set_={"linked_at": statement.excluded.linked_at},
    )


# A link, or a new link time for the one there is.
_LINK = dialect_statements(_link_statement)

_RELINK = (
    update(repository_blobs)
    .where(
        repository_blobs.c.repository_id == bindparam("b_repository_id"),
        repository_blobs.c.digest == bindparam("b_digest"),
    )
    .values(linked_at=bindparam("b_linked_at"))
)

# The repository's id comes from its key in the same statement: no row back when there
# is no such repository.
_INSERT_UPLOAD = (
    insert(uploads)
    .from_select(
        ["id", "repository_id", "offset", "started_at", "updated_at"],
        select(
            bindparam("upload_id", type_=uploads.c.id.type),
            repositories.c.id,
            literal(0, uploads.c.offset.type),
            bindparam("stamp", type_=uploads.c.started_at.type),
            bindparam("stamp", type_=uploads.c.updated_at.type),
        ).where(in_repository_param()),
    )
    .returning(uploads.c.id)
)

_UPLOAD = (
    select(uploads.c.offset, uploads.c.started_at, uploads.c.last_part_size)
    .join(repositories, repositories.c.id == uploads.c.repository_id)
    .where(uploads.c.id == bindparam("upload_id"), in_repository_param())
)

_ADVANCE_UPLOAD = (
    update(uploads)
    .where(uploads.c.id == bindparam("b_id"), uploads.c.offset == bindparam("b_expected"))
    .values(
        offset=bindparam("b_offset"),
        last_part_size=bindparam("b_last_part_size"),
        updated_at=bindparam("b_updated_at"),
    )
)

_DELETE_UPLOAD = delete(uploads).where(uploads.c.id == bindparam("upload_id"))
# The upload's repository comes back, to link the blob into.
_FINISH_UPLOAD = _DELETE_UPLOAD.where(uploads.c.offset == bindparam("recorded")).returning(
    uploads.c.repository_id
)

_REPOSITORY_RULE = select(
    repositories.c.id, repositories.c.tag_mutability, repositories.c.mutability_filters
).where(in_repository_param())

# FOR KEY SHARE on PostgreSQL (nothing on SQLite): the rows a push relies on cannot be
# deleted before it commits; updates of them (pull times, link times) are not held up.
_MANIFEST_ID = (
    select(manifests.c.id, manifests.c.image_status)
    .where(
        manifests.c.repository_id == bindparam("repository_id"),
        manifests.c.digest == bindparam("digest"),
    )
    .with_for_update(read=True, key_share=True)
)

_HELD_BLOBS = (
    select(repository_blobs.c.digest)
    .where(
        repository_blobs.c.repository_id == bindparam("repository_id"),
        repository_blobs.c.digest.in_(bindparam("digests", expanding=True)),
    )
    .with_for_update(read=True, key_share=True)
)

_HELD_MANIFESTS = (
    select(manifests.c.digest)
    .where(
        manifests.c.repository_id == bindparam("repository_id"),
        manifests.c.digest.in_(bindparam("digests", expanding=True)),
    )
    .with_for_update(read=True, key_share=True)
)

_LARGEST_CHILD = select(func.max(manifests.c.image_size)).where(
    manifests.c.repository_id == bindparam("repository_id"),
    manifests.c.digest.in_(bindparam("digests", expanding=True)),
)

_INSERT_MANIFEST = insert(manifests).returning(manifests.c.id)

_INSERT_REFERENCES = insert(manifest_references)

_RESTORE_MANIFEST = (
    update(manifests)
    .where(manifests.c.id == bindparam("b_id"), manifests.c.image_status != "ACTIVE")
    .values(image_status="ACTIVE", activated_at=bindparam("b_activated_at"))
)

_TAG_TARGET = (
    select(tags.c.manifest_id, manifests.c.digest)
    .join(manifests, manifests.c.id == tags.c.manifest_id)
    .where(tags.c.repository_id == bindparam("repository_id"), tags.c.name == bindparam("name"))
)

_MOVE_TAG = (
    update(tags)
    .where(tags.c.repository_id == bindparam("b_repository_id"), tags.c.name == bindparam("b_name"))
    .values(manifest_id=bindparam("b_manifest_id"), updated_at=bindparam("b_updated_at"))
)

_INSERT_TAG = insert(tags)


def _tag_page(after: bool) -> PageQueries:
    query = select(tags.c.name).where(tags.c.repository_id == bindparam("repository_id"))
    if after:
        query = query.where(bytewise(tags.c.name) > bindparam("last"))
    return page_queries(query.order_by(bytewise(tags.c.name)))


# Tag lists, from the first tag or after ``last``.
_TAG_PAGES = {after: _tag_page(after) for after in (False, True)}
