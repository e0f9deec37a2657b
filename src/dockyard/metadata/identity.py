"""Accounts, principals, access keys, STS sessions and account settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.domain.errors import EntityAlreadyExists, InvalidRequest
from dockyard.domain.identity import AccessKey, Account, KeyStatus, Principal, PrincipalKind
from dockyard.metadata.common import aware, now
from dockyard.metadata.database import bytewise, insert_or_ignore, reading, upsert, writing
from dockyard.metadata.tables import (
    access_keys,
    account_settings,
    accounts,
    iam_roles,
    principals,
    sts_sessions,
)


@dataclass(frozen=True, slots=True)
class StoredSession:
    """An STS session as stored: its principal (the assumed role), sealed secret, the
    SHA-256 of its token, and when it ends."""

    principal: Principal
    secret_ciphertext: bytes = field(repr=False)
    token_hash: str = field(repr=False)
    source_arn: str
    expires_at: datetime


class IdentityStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ensure_account(self, account_id: str) -> None:
        """Make the account and its root unless they exist (several nodes may at once)."""
        with writing(self._engine) as conn:
            insert_or_ignore(conn, accounts, {"id": account_id, "created_at": now()}, ["id"])
            root = {
                "account_id": account_id,
                "name": "root",
                "kind": PrincipalKind.ROOT.value,
                "created_at": now(),
                "unique_id": account_id,  # a root's UserId is its account id
            }
            insert_or_ignore(conn, principals, root, ["account_id", "name"])

    def accounts(self) -> list[Account]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(accounts.c.id, accounts.c.created_at).order_by(accounts.c.id)
            ).all()
        return [Account(r.id, aware(r.created_at)) for r in rows]

    def account_exists(self, account_id: str) -> bool:
        with reading(self._engine) as conn:
            found = conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first()
        return found is not None

    def account_ids(self) -> list[str]:
        with reading(self._engine) as conn:
            return [
                str(a)
                for a in conn.execute(select(accounts.c.id).order_by(accounts.c.id)).scalars()
            ]

    def create_user(self, account_id: str, name: str, path: str, unique_id: str) -> Principal:
        try:
            with writing(self._engine) as conn:
                conn.execute(
                    insert(principals).values(
                        account_id=account_id,
                        name=name,
                        kind=PrincipalKind.USER.value,
                        created_at=now(),
                        path=path,
                        unique_id=unique_id,
                    )
                )
        except IntegrityError:
            raise EntityAlreadyExists("user", name) from None
        return Principal(account_id, name, PrincipalKind.USER, path, unique_id)

    def principals(self, account_id: str) -> list[Principal]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(
                    principals.c.name, principals.c.kind, principals.c.path, principals.c.unique_id
                )
                .where(principals.c.account_id == account_id)
                .order_by(bytewise(principals.c.name))
            ).all()
        return [
            Principal(account_id, r.name, PrincipalKind(r.kind), r.path, r.unique_id) for r in rows
        ]

    def add_key(self, principal: Principal, access_key_id: str, ciphertext: bytes) -> None:
        with writing(self._engine) as conn:
            self._add_key(conn, principal, access_key_id, ciphertext, first=False)

    def add_first_key(self, principal: Principal, access_key_id: str, ciphertext: bytes) -> bool:
        """Add the key only if the principal has none yet (of nodes starting at once, one
        adds the root's key); False when it had one."""
        with writing(self._engine) as conn:
            return self._add_key(conn, principal, access_key_id, ciphertext, first=True)

    @staticmethod
    def _add_key(
        conn: Connection, principal: Principal, access_key_id: str, ciphertext: bytes, first: bool
    ) -> bool:
        # The principal's row stays locked to the end: adds for one principal take turns.
        pid = conn.execute(
            select(principals.c.id)
            .where(
                principals.c.account_id == principal.account_id,
                principals.c.name == principal.name,
            )
            .with_for_update()
        ).scalar()
        if pid is None:
            raise InvalidRequest(f"no principal {principal.name!r} in {principal.account_id}")
        if (
            first
            and conn.execute(
                select(access_keys.c.id).where(access_keys.c.principal_id == pid).limit(1)
            ).first()
        ):
            return False
        conn.execute(
            insert(access_keys).values(
                id=access_key_id,
                principal_id=pid,
                secret_ciphertext=ciphertext,
                status=KeyStatus.ACTIVE.value,
                created_at=now(),
            )
        )
        return True

    def key(self, access_key_id: str) -> tuple[AccessKey, bytes] | None:
        """A key with its encrypted secret, or None when no such key exists."""
        with reading(self._engine) as conn:
            row = conn.execute(
                select(
                    access_keys.c.secret_ciphertext,
                    access_keys.c.status,
                    access_keys.c.created_at,
                    principals.c.account_id,
                    principals.c.name,
                    principals.c.kind,
                    principals.c.path,
                    principals.c.unique_id,
                )
                .join(principals, principals.c.id == access_keys.c.principal_id)
                .where(access_keys.c.id == access_key_id)
            ).first()
        if row is None:
            return None
        principal = Principal(
            row.account_id, row.name, PrincipalKind(row.kind), row.path, row.unique_id
        )
        key = AccessKey(access_key_id, principal, KeyStatus(row.status), aware(row.created_at))
        return key, bytes(row.secret_ciphertext)

    def keys(self, principal: Principal) -> list[AccessKey]:
        with reading(self._engine) as conn:
            rows = conn.execute(
                select(access_keys.c.id, access_keys.c.status, access_keys.c.created_at)
                .join(principals, principals.c.id == access_keys.c.principal_id)
                .where(
                    principals.c.account_id == principal.account_id,
                    principals.c.name == principal.name,
                )
                .order_by(access_keys.c.created_at)
            ).all()
        return [AccessKey(r.id, principal, KeyStatus(r.status), aware(r.created_at)) for r in rows]

    def key_count(self, principal: Principal) -> int:
        with reading(self._engine) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(access_keys)
                    .join(principals, principals.c.id == access_keys.c.principal_id)
                    .where(
                        principals.c.account_id == principal.account_id,
                        principals.c.name == principal.name,
                    )
                ).scalar_one()
            )

    def set_key_status(self, access_key_id: str, status: KeyStatus) -> bool:
        with writing(self._engine) as conn:
            changed = conn.execute(
                update(access_keys)
                .where(access_keys.c.id == access_key_id)
                .values(status=status.value)
            ).rowcount
        return bool(changed)

    def delete_key(self, access_key_id: str) -> bool:
        with writing(self._engine) as conn:
            removed = conn.execute(
                delete(access_keys).where(access_keys.c.id == access_key_id)
            ).rowcount
        return bool(removed)

    # STS sessions -----------------------------------------------------------

    def add_session(
        self,
        access_key_id: str,
        account_id: str,
        role_name: str,
        session_name: str,
        source_arn: str,
        secret_ciphertext: bytes,
        token_hash: str,
        expires_at: datetime,
    ) -> None:
        with writing(self._engine) as conn:
            role_id = conn.execute(
                select(iam_roles.c.id).where(
                    iam_roles.c.account_id == account_id, iam_roles.c.name == role_name
                )
            ).scalar()
            if role_id is None:
                raise InvalidRequest(f"no role {role_name!r} in {account_id}")
            conn.execute(
                insert(sts_sessions).values(
                    access_key_id=access_key_id,
                    account_id=account_id,
                    secret_ciphertext=secret_ciphertext,
                    token_hash=token_hash,
                    role_id=role_id,
                    session_name=session_name,
                    source_arn=source_arn,
                    created_at=now(),
                    expires_at=expires_at,
                )
            )
            # Expired sessions are of no use to anyone: each new one clears them away.
            conn.execute(delete(sts_sessions).where(sts_sessions.c.expires_at < now()))

    def session(self, access_key_id: str) -> StoredSession | None:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(
                    sts_sessions.c.account_id,
                    sts_sessions.c.secret_ciphertext,
                    sts_sessions.c.token_hash,
                    sts_sessions.c.session_name,
                    sts_sessions.c.source_arn,
                    sts_sessions.c.expires_at,
                    iam_roles.c.name,
                    iam_roles.c.path,
                    iam_roles.c.unique_id,
                )
                .join(iam_roles, iam_roles.c.id == sts_sessions.c.role_id)
                .where(sts_sessions.c.access_key_id == access_key_id)
            ).first()
        if row is None:
            return None
        principal = Principal(
            row.account_id,
            row.name,
            PrincipalKind.ASSUMED_ROLE,
            row.path,
            row.unique_id,
            row.session_name,
        )
        return StoredSession(
            principal,
            bytes(row.secret_ciphertext),
            row.token_hash,
            row.source_arn,
            aware(row.expires_at),
        )

    def setting(self, account_id: str, region: str, name: str) -> str | None:
        with reading(self._engine) as conn:
            value = conn.execute(
                select(account_settings.c.value).where(
                    account_settings.c.account_id == account_id,
                    account_settings.c.region == region,
                    account_settings.c.name == name,
                )
            ).scalar()
        return None if value is None else str(value)

    def put_setting(self, account_id: str, region: str, name: str, value: str) -> None:
        with writing(self._engine) as conn:
            upsert(
                conn,
                account_settings,
                {"account_id": account_id, "region": region, "name": name, "value": value},
                ["account_id", "region", "name"],
            )
