"""IAM entities: users as IAM sees them, groups, roles, managed and inline policies.

Every lookup is by (account, name), as IAM's API names things. Inline policies and
attachments point at their owner by (kind, integer id); IAM refuses to delete an owner
that still has any, so the store checks that here, in the same transaction as the delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import DeleteConflict, EntityAlreadyExists, NoSuchEntity
from dockyard.domain.identity import (
    Group,
    InlinePolicy,
    ManagedPolicy,
    OwnerKind,
    PrincipalKind,
    Role,
    User,
)
from dockyard.metadata.common import aware, now, starts_with
from dockyard.metadata.database import bytewise, insert_or_ignore, reading, upsert, writing
from dockyard.metadata.tables import (
    access_keys,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_managed_policies,
    iam_policy_attachments,
    iam_roles,
    principals,
)

_OWNER_TABLES: dict[OwnerKind, Table] = {
    OwnerKind.USER: principals,
    OwnerKind.GROUP: iam_groups,
    OwnerKind.ROLE: iam_roles,
}


@dataclass(frozen=True, slots=True)
class PolicySources:
    """What makes up a principal's identity policies: inline documents by an id that names
    their owner ("user/alice/PolicyName"), and the ARNs of attached managed policies."""

    inline: list[tuple[str, str]]
    attached: list[str]


def _user(account_id: str, row: Any) -> User:
    return User(account_id, row.name, row.path, row.unique_id or "", aware(row.created_at))


def _group(row: Any) -> Group:
    return Group(row.account_id, row.name, row.path, row.unique_id, aware(row.created_at))


_USER_COLUMNS = (
    principals.c.name,
    principals.c.path,
    principals.c.unique_id,
    principals.c.created_at,
)
_GROUP_COLUMNS = (
    iam_groups.c.account_id,
    iam_groups.c.name,
    iam_groups.c.path,
    iam_groups.c.unique_id,
    iam_groups.c.created_at,
)


def _role(row: Any) -> Role:
    return Role(
        row.account_id,
        row.name,
        row.path,
        row.unique_id,
        row.trust_policy,
        row.max_session_duration,
        row.description,
        aware(row.created_at),
    )


_ROLE_COLUMNS = (
    iam_roles.c.account_id,
    iam_roles.c.name,
    iam_roles.c.path,
    iam_roles.c.unique_id,
    iam_roles.c.trust_policy,
    iam_roles.c.max_session_duration,
    iam_roles.c.description,
    iam_roles.c.created_at,
)
_POLICY_COLUMNS = (
    iam_managed_policies.c.account_id,
    iam_managed_policies.c.name,
    iam_managed_policies.c.path,
    iam_managed_policies.c.unique_id,
    iam_managed_policies.c.document,
    iam_managed_policies.c.default_version,
    iam_managed_policies.c.description,
    iam_managed_policies.c.created_at,
    iam_managed_policies.c.updated_at,
)


def _policy(
    row: Any,
) -> ManagedPolicy:
    account_id, name, path, unique_id, document, version, description, created, updated = (
        row.account_id,
        row.name,
        row.path,
        row.unique_id,
        row.document,
        row.default_version,
        row.description,
        row.created_at,
        row.updated_at,
    )
    return ManagedPolicy(
        account_id,
        name,
        path,
        unique_id,
        document,
        version,
        description,
        aware(created),
        aware(updated),
    )


class IamStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Owners -----------------------------------------------------------------

    @staticmethod
    def _owner_id(conn: Connection, kind: OwnerKind, account_id: str, name: str) -> int:
        table = _OWNER_TABLES[kind]
        query = select(table.c.id).where(table.c.account_id == account_id, table.c.name == name)
        if kind is OwnerKind.USER:
            query = query.where(principals.c.kind == PrincipalKind.USER.value)
        found = conn.execute(query).scalar()
        if found is None:
            raise NoSuchEntity(kind.value, name)
        return int(found)

    @staticmethod
    def _check_no_policies(conn: Connection, kind: OwnerKind, owner_id: int) -> None:
        for table, what in (
            (iam_inline_policies, "delete policies"),
            (iam_policy_attachments, "detach all policies"),
        ):
            held = conn.execute(
                select(table.c.owner_id)
                .where(table.c.owner_kind == kind.value, table.c.owner_id == owner_id)
                .limit(1)
            ).first()
            if held is not None:
                raise DeleteConflict(what)

    # Users ------------------------------------------------------------------

    def user(self, account_id: str, name: str) -> User:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(*_USER_COLUMNS).where(
                    principals.c.account_id == account_id,
                    principals.c.name == name,
                    principals.c.kind == PrincipalKind.USER.value,
                )
            ).first()
        if row is None:
            raise NoSuchEntity("user", name)
        return _user(account_id, row)

    def users(self, account_id: str, path_prefix: str = "/") -> list[User]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(*_USER_COLUMNS)
                .where(
                    principals.c.account_id == account_id,
                    principals.c.kind == PrincipalKind.USER.value,
                    starts_with(principals.c.path, path_prefix),
                )
                .order_by(bytewise(principals.c.name))
            ).all()
        return [_user(account_id, r) for r in rows]

    def delete_user(self, account_id: str, name: str) -> None:
        """IAM's DeleteUser: refused while the user has keys, policies or groups."""
        with writing(self._engine) as conn:
            owner = self._owner_id(conn, OwnerKind.USER, account_id, name)
            if conn.execute(
                select(access_keys.c.id).where(access_keys.c.principal_id == owner).limit(1)
            ).first():
                raise DeleteConflict("delete access keys")
            self._check_no_policies(conn, OwnerKind.USER, owner)
            if conn.execute(
                select(iam_group_members.c.group_id)
                .where(iam_group_members.c.principal_id == owner)
                .limit(1)
            ).first():
                raise DeleteConflict("remove user from group")
            conn.execute(delete(principals).where(principals.c.id == owner))

    # Groups -----------------------------------------------------------------

    def create_group(self, account_id: str, name: str, path: str, unique_id: str) -> Group:
        created = now()
        try:
            with writing(self._engine) as conn:
                conn.execute(
                    insert(iam_groups).values(
                        account_id=account_id,
                        name=name,
                        path=path,
                        unique_id=unique_id,
                        created_at=created,
                    )
                )
        except IntegrityError:
            raise EntityAlreadyExists("group", name) from None
        return Group(account_id, name, path, unique_id, created)

    def group(self, account_id: str, name: str) -> Group:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(*_GROUP_COLUMNS).where(
                    iam_groups.c.account_id == account_id, iam_groups.c.name == name
                )
            ).first()
        if row is None:
            raise NoSuchEntity("group", name)
        return _group(row)

    def groups(self, account_id: str, path_prefix: str = "/") -> list[Group]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(*_GROUP_COLUMNS)
                .where(
                    iam_groups.c.account_id == account_id,
                    starts_with(iam_groups.c.path, path_prefix),
                )
                .order_by(bytewise(iam_groups.c.name))
            ).all()
        return [_group(r) for r in rows]

    def delete_group(self, account_id: str, name: str) -> None:
        with writing(self._engine) as conn:
            owner = self._owner_id(conn, OwnerKind.GROUP, account_id, name)
            if conn.execute(
                select(iam_group_members.c.principal_id)
                .where(iam_group_members.c.group_id == owner)
                .limit(1)
            ).first():
                raise DeleteConflict("remove users from group")
            self._check_no_policies(conn, OwnerKind.GROUP, owner)
            conn.execute(delete(iam_groups).where(iam_groups.c.id == owner))

    def add_member(self, account_id: str, group: str, user: str) -> None:
        with writing(self._engine) as conn:
            group_id = self._owner_id(conn, OwnerKind.GROUP, account_id, group)
            user_id = self._owner_id(conn, OwnerKind.USER, account_id, user)
            # Adding a member twice is no error in IAM.
            row = {"group_id": group_id, "principal_id": user_id, "added_at": now()}
            insert_or_ignore(conn, iam_group_members, row, ["group_id", "principal_id"])

    def remove_member(self, account_id: str, group: str, user: str) -> None:
        with writing(self._engine) as conn:
            group_id = self._owner_id(conn, OwnerKind.GROUP, account_id, group)
            user_id = self._owner_id(conn, OwnerKind.USER, account_id, user)
            conn.execute(
                delete(iam_group_members).where(
                    iam_group_members.c.group_id == group_id,
                    iam_group_members.c.principal_id == user_id,
                )
            )

    def groups_for_user(self, account_id: str, user: str) -> list[Group]:
        with reading(self._engine) as conn:
            user_id = self._owner_id(conn, OwnerKind.USER, account_id, user)
            rows = conn.execute(
                select(*_GROUP_COLUMNS)
                .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.id)
                .where(iam_group_members.c.principal_id == user_id)
                .order_by(bytewise(iam_groups.c.name))
            ).all()
        return [_group(r) for r in rows]

    def group_members(self, account_id: str, group: str) -> list[User]:
        with reading(self._engine) as conn:
            group_id = self._owner_id(conn, OwnerKind.GROUP, account_id, group)
            rows = conn.execute(
                select(*_USER_COLUMNS)
                .join(iam_group_members, iam_group_members.c.principal_id == principals.c.id)
                .where(iam_group_members.c.group_id == group_id)
                .order_by(bytewise(principals.c.name))
            ).all()
        return [_user(account_id, r) for r in rows]

    # Roles ------------------------------------------------------------------

    def create_role(self, role: Role) -> None:
        try:
            with writing(self._engine) as conn:
                conn.execute(
                    insert(iam_roles).values(
                        account_id=role.account_id,
                        name=role.name,
                        path=role.path,
                        unique_id=role.role_id,
                        trust_policy=role.trust_policy,
                        max_session_duration=role.max_session_duration,
                        description=role.description,
                        created_at=role.created_at,
                    )
                )
        except IntegrityError:
            raise EntityAlreadyExists("role", role.name) from None

    def role(self, account_id: str, name: str) -> Role:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(*_ROLE_COLUMNS).where(
                    iam_roles.c.account_id == account_id, iam_roles.c.name == name
                )
            ).first()
        if row is None:
            raise NoSuchEntity("role", name)
        return _role(row)

    def roles(self, account_id: str, path_prefix: str = "/") -> list[Role]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(*_ROLE_COLUMNS)
                .where(
                    iam_roles.c.account_id == account_id,
                    starts_with(iam_roles.c.path, path_prefix),
                )
                .order_by(bytewise(iam_roles.c.name))
            ).all()
        return [_role(r) for r in rows]

    def update_trust_policy(self, account_id: str, name: str, document: str) -> None:
        with writing(self._engine) as conn:
            owner = self._owner_id(conn, OwnerKind.ROLE, account_id, name)
            conn.execute(
                update(iam_roles).where(iam_roles.c.id == owner).values(trust_policy=document)
            )

    def delete_role(self, account_id: str, name: str) -> None:
        """Refused while policies remain; the role's sessions go with it (cascade)."""
        with writing(self._engine) as conn:
            owner = self._owner_id(conn, OwnerKind.ROLE, account_id, name)
            self._check_no_policies(conn, OwnerKind.ROLE, owner)
            conn.execute(delete(iam_roles).where(iam_roles.c.id == owner))

    # Customer-managed policies ----------------------------------------------

    def create_policy(self, policy: ManagedPolicy) -> None:
        try:
            with writing(self._engine) as conn:
                conn.execute(
                    insert(iam_managed_policies).values(
                        account_id=policy.account_id,
                        name=policy.name,
                        path=policy.path,
                        unique_id=policy.policy_id,
                        description=policy.description,
                        default_version=policy.default_version,
                        document=policy.document,
                        created_at=policy.created_at,
                        updated_at=policy.updated_at,
                    )
                )
        except IntegrityError:
            raise EntityAlreadyExists("policy", policy.name) from None

    def policy(self, account_id: str, path: str, name: str, arn: str) -> ManagedPolicy:
        """The customer-managed policy ``arn`` names (its parts given apart)."""
        with reading(self._engine) as conn:
            row = conn.execute(
                select(*_POLICY_COLUMNS).where(
                    iam_managed_policies.c.account_id == account_id,
                    iam_managed_policies.c.name == name,
                    iam_managed_policies.c.path == path,
                )
            ).first()
            if row is None:
                raise NoSuchEntity("policy", arn)
            count = conn.execute(
                select(func.count()).where(iam_policy_attachments.c.policy_arn == arn)
            ).scalar_one()
        return replace(_policy(row), attachment_count=int(count))

    def policies(self, account_id: str, path_prefix: str = "/") -> list[ManagedPolicy]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(*_POLICY_COLUMNS)
                .where(
                    iam_managed_policies.c.account_id == account_id,
                    starts_with(iam_managed_policies.c.path, path_prefix),
                )
                .order_by(bytewise(iam_managed_policies.c.name))
            ).all()
            counts = self._counts(conn, account_id)
        listed = [_policy(r) for r in rows]
        return [replace(p, attachment_count=int(counts.get(p.arn, 0))) for p in listed]

    def attachment_counts(self, account_id: str) -> dict[str, int]:
        """How many users, groups and roles of ``account_id`` each policy ARN is attached to."""
        with reading(self._engine) as conn:
            return self._counts(conn, account_id)

    @staticmethod
    def _counts(conn: Connection, account_id: str) -> dict[str, int]:
        return {
            str(arn): int(n)
            for arn, n in conn.execute(
                select(iam_policy_attachments.c.policy_arn, func.count())
                .where(iam_policy_attachments.c.account_id == account_id)
                .group_by(iam_policy_attachments.c.policy_arn)
            ).all()
        }

    def policy_documents(self, account_id: str, arns: Sequence[str]) -> dict[str, str]:
        """The documents of the customer-managed policies of ``account_id`` among ``arns``."""
        if not arns:
            return {}
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(*_POLICY_COLUMNS).where(iam_managed_policies.c.account_id == account_id)
            ).all()
        wanted = set(arns)
        return {p.arn: p.document for p in map(_policy, rows) if p.arn in wanted}

    def delete_policy(self, account_id: str, path: str, name: str, arn: str) -> None:
        with writing(self._engine) as conn:
            found = conn.execute(
                select(iam_managed_policies.c.id).where(
                    iam_managed_policies.c.account_id == account_id,
                    iam_managed_policies.c.name == name,
                    iam_managed_policies.c.path == path,
                )
            ).scalar()
            if found is None:
                raise NoSuchEntity("policy", arn)
            attached = conn.execute(
                select(iam_policy_attachments.c.owner_id)
                .where(iam_policy_attachments.c.policy_arn == arn)
                .limit(1)
            ).first()
            if attached is not None:
                raise DeleteConflict("attachments")
            conn.execute(delete(iam_managed_policies).where(iam_managed_policies.c.id == found))

    # Inline policies ----------------------------------------------------------

    def put_inline(
        self, kind: OwnerKind, account_id: str, owner: str, name: str, document: str
    ) -> None:
        with writing(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            row = {
                "owner_kind": kind.value,
                "owner_id": owner_id,
                "name": name,
                "account_id": account_id,
                "document": document,
                "updated_at": now(),
            }
            upsert(
                conn,
                iam_inline_policies,
                row,
                ["owner_kind", "owner_id", "name"],
                update=["document", "updated_at"],
            )

    def inline(self, kind: OwnerKind, account_id: str, owner: str, name: str) -> InlinePolicy:
        with reading(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            document = conn.execute(
                select(iam_inline_policies.c.document).where(
                    iam_inline_policies.c.owner_kind == kind.value,
                    iam_inline_policies.c.owner_id == owner_id,
                    iam_inline_policies.c.name == name,
                )
            ).scalar()
        if document is None:
            raise NoSuchEntity(f"{kind.value} policy", name)
        return InlinePolicy(kind, owner, name, str(document))

    def delete_inline(self, kind: OwnerKind, account_id: str, owner: str, name: str) -> None:
        with writing(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            removed = conn.execute(
                delete(iam_inline_policies).where(
                    iam_inline_policies.c.owner_kind == kind.value,
                    iam_inline_policies.c.owner_id == owner_id,
                    iam_inline_policies.c.name == name,
                )
            ).rowcount
        if not removed:
            raise NoSuchEntity(f"{kind.value} policy", name)

    def inline_names(self, kind: OwnerKind, account_id: str, owner: str) -> list[str]:
        with reading(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            names = conn.execute(
                select(iam_inline_policies.c.name)
                .where(
                    iam_inline_policies.c.owner_kind == kind.value,
                    iam_inline_policies.c.owner_id == owner_id,
                )
                .order_by(bytewise(iam_inline_policies.c.name))
            ).scalars()
            return [str(n) for n in names]

    # Attachments ----------------------------------------------------------------

    def attach(self, kind: OwnerKind, account_id: str, owner: str, arn: str) -> None:
        with writing(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            # Attaching twice is no error in IAM.
            row = {
                "owner_kind": kind.value,
                "owner_id": owner_id,
                "policy_arn": arn,
                "account_id": account_id,
                "attached_at": now(),
            }
            insert_or_ignore(
                conn, iam_policy_attachments, row, ["owner_kind", "owner_id", "policy_arn"]
            )

    def detach(self, kind: OwnerKind, account_id: str, owner: str, arn: str) -> None:
        with writing(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            removed = conn.execute(
                delete(iam_policy_attachments).where(
                    iam_policy_attachments.c.owner_kind == kind.value,
                    iam_policy_attachments.c.owner_id == owner_id,
                    iam_policy_attachments.c.policy_arn == arn,
                )
            ).rowcount
        if not removed:
            raise NoSuchEntity("policy", arn)

    def attached(self, kind: OwnerKind, account_id: str, owner: str) -> list[str]:
        with reading(self._engine) as conn:
            owner_id = self._owner_id(conn, kind, account_id, owner)
            arns = conn.execute(
                select(iam_policy_attachments.c.policy_arn)
                .where(
                    iam_policy_attachments.c.owner_kind == kind.value,
                    iam_policy_attachments.c.owner_id == owner_id,
                )
                .order_by(
                    iam_policy_attachments.c.attached_at,
                    bytewise(iam_policy_attachments.c.policy_arn),
                )
            ).scalars()
            return [str(a) for a in arns]

    # What authorization reads ---------------------------------------------------

    def policy_sources(self, kind: OwnerKind, account_id: str, name: str) -> PolicySources:
        """A user's inline and attached policies and its groups' (``kind`` USER), or a
        role's (``kind`` ROLE), in one read transaction. An owner gone is no policies."""
        with reading(self._engine) as conn:
            try:
                owner_id = self._owner_id(conn, kind, account_id, name)
            except NoSuchEntity:
                return PolicySources([], [])
            owners: list[tuple[str, int, str]] = [(kind.value, owner_id, f"{kind.value}/{name}")]
            if kind is OwnerKind.USER:
                groups = conn.execute(
                    select(iam_groups.c.id, iam_groups.c.name)
                    .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.id)
                    .where(iam_group_members.c.principal_id == owner_id)
                    .order_by(bytewise(iam_groups.c.name))
                ).all()
                owners += [(OwnerKind.GROUP.value, g.id, f"group/{g.name}") for g in groups]
            inline: list[tuple[str, str]] = []
            attached: list[str] = []
            for owner_kind, oid, label in owners:
                rows = conn.execute(
                    select(iam_inline_policies.c.name, iam_inline_policies.c.document)
                    .where(
                        iam_inline_policies.c.owner_kind == owner_kind,
                        iam_inline_policies.c.owner_id == oid,
                    )
                    .order_by(bytewise(iam_inline_policies.c.name))
                ).all()
                inline += [(f"{label}/{r.name}", str(r.document)) for r in rows]
                attached += [
                    str(a)
                    for a in conn.execute(
                        select(iam_policy_attachments.c.policy_arn)
                        .where(
                            iam_policy_attachments.c.owner_kind == owner_kind,
                            iam_policy_attachments.c.owner_id == oid,
                        )
                        .order_by(bytewise(iam_policy_attachments.c.policy_arn))
                    ).scalars()
                ]
        return PolicySources(inline, list(dict.fromkeys(attached)))
