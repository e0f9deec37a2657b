"""IAM and STS: accounts, users, access keys, groups, roles, policies, and AssumeRole.

One service for both doors that manage identities (the IAM/STS query API and ``dockyard
iam``). Methods are named after IAM's operations, take the ``caller`` first (its account is
where the entity lives) and return the domain's dataclasses. ``identity_policies`` is what
authorization reads: the policy documents that apply to a principal.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dockyard.domain import managed_policies
from dockyard.domain.errors import (
    InvalidRequest,
    LimitExceeded,
    NoSuchEntity,
    RoleTrustDenied,
)
from dockyard.domain.identity import (
    ACCOUNT_ID,
    GROUP_ID_PREFIX,
    POLICY_ID_PREFIX,
    ROLE_ID_PREFIX,
    AccessKey,
    Account,
    AssumedRole,
    AttachedPolicy,
    Caller,
    CallerIdentity,
    Group,
    InlinePolicy,
    KeyStatus,
    ManagedPolicy,
    NewAccessKey,
    OwnerKind,
    Principal,
    PrincipalKind,
    Role,
    User,
    parse_role_arn,
    policy_arn_parts,
    valid_name,
    valid_path,
)
from dockyard.domain.policy import PolicyKind, parse_policy
from dockyard.metadata import IdentityStore
from dockyard.metadata.iam import IamStore
from dockyard.services.authorization import (
    ASSUME_ROLE,
    NO_FACTS,
    Authorizer,
    RequestFacts,
    Target,
)
from dockyard.services.identity import Identity, NewKey, new_unique_id
from dockyard.services.threads import blocking

MAX_ACCESS_KEYS = 2  # IAM's AccessKeysPerUser quota
MAX_POLICY_LENGTH = {"inline": 10240, "managed": 6144, "trust": 2048}  # IAM's quotas
# STS's bounds on DurationSeconds; role chaining (a role session assuming a role) caps at
# an hour whatever the role allows.
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 12 * 3600
CHAINED_SESSION_SECONDS = 3600
_SESSION_NAME_LIMIT = 64
# AWS-managed policies are not stored; they show these as their id and dates.
_AWS_POLICY_ID = "ANPA" + "AWSMANAGED" + "0" * 7
_AWS_EPOCH = datetime(2015, 10, 2, 17, 0, tzinfo=UTC)


def _validate_policy(document: str, kind: str) -> None:
    """PolicyInvalid (naming the problem) unless ``document`` is a policy of
    ``kind``: "inline", "managed" (identity policies) or "trust"; LimitExceeded over IAM's
    size quota for that kind."""
    if len(document) > MAX_POLICY_LENGTH[kind]:
        raise LimitExceeded(f"{kind.capitalize()}PolicySize", MAX_POLICY_LENGTH[kind])
    language = PolicyKind.TRUST if kind == "trust" else PolicyKind.IDENTITY
    parse_policy(document, kind=language)


def _aws_managed(arn: str) -> ManagedPolicy | None:
    """The AWS-managed policy ``arn`` names, if Dockyard knows it."""
    found = managed_policies.by_arn(arn)
    if found is None:
        return None
    return ManagedPolicy(
        "aws",
        found.name,
        found.path,
        _AWS_POLICY_ID,
        found.document,
        found.version,
        found.description,
        _AWS_EPOCH,
        _AWS_EPOCH,
    )


class Iam:
    def __init__(self, identity_store: IdentityStore, store: IamStore, identity: Identity) -> None:
        self._accounts = identity_store
        self._store = store
        self._identity = identity
        # Called after every change to whose policies apply to whom, so that this node's
        # decision cache never outlives the change (other nodes wait out its short TTL).
        self.on_change: Callable[[], None] = lambda: None
        # The one policy decision (registry.authz), which reads trust policies from here:
        # wired after both exist. AssumeRole is decided by it like any other request.
        self.authorizer: Authorizer | None = None

    async def _change(self, write: Callable[..., object], *args: object) -> None:
        await blocking(write, *args)
        self.on_change()

    # Accounts -----------------------------------------------------------------

    async def create_account(self, account_id: str | None = None) -> tuple[Account, NewKey]:
        """A new account with a root access key (shown once); a random id unless given."""
        if account_id is None:
            account_id = "".join(secrets.choice("0123456789") for _ in range(12))
        if not ACCOUNT_ID.fullmatch(account_id):
            raise InvalidRequest(f"an account id is 12 digits, not {account_id!r}")
        if await blocking(self._accounts.account_exists, account_id):
            raise InvalidRequest(f"account {account_id} exists")
        key = await blocking(self._identity.bootstrap, account_id, None)
        assert key is not None
        found = [a for a in await self.list_accounts() if a.account_id == account_id]
        return found[0], key

    async def list_accounts(self) -> list[Account]:
        return await blocking(self._accounts.accounts)

    # Users ----------------------------------------------------------------------

    async def create_user(self, caller: Caller, user_name: str, path: str = "/") -> User:
        await blocking(self._identity.create_user, caller.account_id, user_name, path)
        return await self.get_user(caller, user_name)

    async def get_user(self, caller: Caller, user_name: str | None = None) -> User:
        """The named user, or (no name) the calling user itself."""
        return await blocking(
            self._store.user, caller.account_id, self._user_name(caller, user_name)
        )

    async def list_users(self, caller: Caller, path_prefix: str = "/") -> list[User]:
        return await blocking(self._store.users, caller.account_id, path_prefix)

    async def delete_user(self, caller: Caller, user_name: str) -> None:
        await self._change(self._store.delete_user, caller.account_id, user_name)
        self._identity.forget_cached()

    @staticmethod
    def _user_name(caller: Caller, user_name: str | None) -> str:
        if user_name is not None:
            return user_name
        if caller.principal.kind is not PrincipalKind.USER:
            raise InvalidRequest("Must specify userName when calling with non-User credentials")
        return caller.principal.name

    # Access keys ------------------------------------------------------------------

    async def _key_owner(self, caller: Caller, user_name: str | None) -> Principal:
        """Whose keys a call means: the named user, or the caller's own (root included)."""
        if user_name is None and caller.principal.kind is PrincipalKind.ROOT:
            return caller.principal
        user = await blocking(
            self._store.user, caller.account_id, self._user_name(caller, user_name)
        )
        return user.principal

    async def create_access_key(self, caller: Caller, user_name: str | None = None) -> NewAccessKey:
        owner = await self._key_owner(caller, user_name)
        if await blocking(self._identity.key_count, owner) >= MAX_ACCESS_KEYS:
            raise LimitExceeded("AccessKeysPerUser", MAX_ACCESS_KEYS)
        made = await blocking(self._identity.create_key, owner)
        keys = await blocking(self._identity.keys, owner)
        key = next(k for k in keys if k.access_key_id == made.access_key_id)
        return NewAccessKey(key, made.secret_access_key)

    async def list_access_keys(
        self, caller: Caller, user_name: str | None = None
    ) -> list[AccessKey]:
        owner = await self._key_owner(caller, user_name)
        return await blocking(self._identity.keys, owner)

    async def _own_key(self, caller: Caller, access_key_id: str, user_name: str | None) -> None:
        owner = await self._key_owner(caller, user_name)
        if not any(
            k.access_key_id == access_key_id for k in await blocking(self._identity.keys, owner)
        ):
            raise NoSuchEntity("access key", access_key_id)

    async def update_access_key(
        self,
        caller: Caller,
        access_key_id: str,
        status: KeyStatus,
        user_name: str | None = None,
    ) -> None:
        await self._own_key(caller, access_key_id, user_name)
        await blocking(self._identity.set_key_status, access_key_id, status)

    async def delete_access_key(
        self, caller: Caller, access_key_id: str, user_name: str | None = None
    ) -> None:
        await self._own_key(caller, access_key_id, user_name)
        await blocking(self._identity.delete_key, access_key_id)

    # Groups ----------------------------------------------------------------------------

    async def create_group(self, caller: Caller, group_name: str, path: str = "/") -> Group:
        _check_name("group", group_name, 128)
        _check_path(path)
        return await blocking(
            self._store.create_group,
            caller.account_id,
            group_name,
            path,
            new_unique_id(GROUP_ID_PREFIX),
        )

    async def get_group(self, caller: Caller, group_name: str) -> tuple[Group, list[User]]:
        group = await blocking(self._store.group, caller.account_id, group_name)
        members = await blocking(self._store.group_members, caller.account_id, group_name)
        return group, members

    async def list_groups(self, caller: Caller, path_prefix: str = "/") -> list[Group]:
        return await blocking(self._store.groups, caller.account_id, path_prefix)

    async def delete_group(self, caller: Caller, group_name: str) -> None:
        await self._change(self._store.delete_group, caller.account_id, group_name)

    async def add_user_to_group(self, caller: Caller, group_name: str, user_name: str) -> None:
        await self._change(self._store.add_member, caller.account_id, group_name, user_name)

    async def remove_user_from_group(self, caller: Caller, group_name: str, user_name: str) -> None:
        await self._change(self._store.remove_member, caller.account_id, group_name, user_name)

    async def list_groups_for_user(self, caller: Caller, user_name: str) -> list[Group]:
        return await blocking(self._store.groups_for_user, caller.account_id, user_name)

    # Roles -----------------------------------------------------------------------------

    async def create_role(
        self,
        caller: Caller,
        role_name: str,
        assume_role_policy_document: str,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int = 3600,
    ) -> Role:
        _check_name("role", role_name, 64)
        _check_path(path)
        _validate_policy(assume_role_policy_document, "trust")
        if not 3600 <= max_session_duration <= MAX_SESSION_SECONDS:
            raise InvalidRequest(
                "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy "
                f"constraint: Member must have value between 3600 and {MAX_SESSION_SECONDS}"
            )
        if description is not None and len(description) > 1000:
            raise InvalidRequest("The description of a role is at most 1000 characters")
        role = Role(
            caller.account_id,
            role_name,
            path,
            new_unique_id(ROLE_ID_PREFIX),
            assume_role_policy_document,
            max_session_duration,
            description,
            datetime.now(UTC),
        )
        await self._change(self._store.create_role, role)
        return role

    async def get_role(self, caller: Caller, role_name: str) -> Role:
        return await blocking(self._store.role, caller.account_id, role_name)

    async def trust_policy(self, role_arn: str) -> str | None:
        """The trust policy of the role ``role_arn`` names; None when there is none."""
        found = parse_role_arn(role_arn)
        if found is None:
            return None
        try:
            role = await blocking(self._store.role, found.account_id, found.name)
        except NoSuchEntity:
            return None
        return role.trust_policy if role.path == found.path else None

    async def list_roles(self, caller: Caller, path_prefix: str = "/") -> list[Role]:
        return await blocking(self._store.roles, caller.account_id, path_prefix)

    async def update_assume_role_policy(
        self, caller: Caller, role_name: str, policy_document: str
    ) -> None:
        _validate_policy(policy_document, "trust")
        await self._change(
            self._store.update_trust_policy, caller.account_id, role_name, policy_document
        )

    async def delete_role(self, caller: Caller, role_name: str) -> None:
        await self._change(self._store.delete_role, caller.account_id, role_name)
        self._identity.forget_cached()

    # Inline policies ------------------------------------------------------------------

    async def put_inline_policy(
        self, caller: Caller, kind: OwnerKind, owner: str, policy_name: str, document: str
    ) -> None:
        _check_name("policy", policy_name, 128)
        _validate_policy(document, "inline")
        await self._change(
            self._store.put_inline, kind, caller.account_id, owner, policy_name, document
        )

    async def get_inline_policy(
        self, caller: Caller, kind: OwnerKind, owner: str, policy_name: str
    ) -> InlinePolicy:
        return await blocking(self._store.inline, kind, caller.account_id, owner, policy_name)

    async def delete_inline_policy(
        self, caller: Caller, kind: OwnerKind, owner: str, policy_name: str
    ) -> None:
        await self._change(self._store.delete_inline, kind, caller.account_id, owner, policy_name)

    async def _list_inline(self, caller: Caller, kind: OwnerKind, owner: str) -> list[str]:
        return await blocking(self._store.inline_names, kind, caller.account_id, owner)

    async def put_user_policy(
        self, caller: Caller, user_name: str, policy_name: str, policy_document: str
    ) -> None:
        await self.put_inline_policy(
            caller, OwnerKind.USER, user_name, policy_name, policy_document
        )

    async def get_user_policy(
        self, caller: Caller, user_name: str, policy_name: str
    ) -> InlinePolicy:
        return await self.get_inline_policy(caller, OwnerKind.USER, user_name, policy_name)

    async def delete_user_policy(self, caller: Caller, user_name: str, policy_name: str) -> None:
        await self.delete_inline_policy(caller, OwnerKind.USER, user_name, policy_name)

    async def list_user_policies(self, caller: Caller, user_name: str) -> list[str]:
        return await self._list_inline(caller, OwnerKind.USER, user_name)

    async def put_group_policy(
        self, caller: Caller, group_name: str, policy_name: str, policy_document: str
    ) -> None:
        await self.put_inline_policy(
            caller, OwnerKind.GROUP, group_name, policy_name, policy_document
        )

    async def get_group_policy(
        self, caller: Caller, group_name: str, policy_name: str
    ) -> InlinePolicy:
        return await self.get_inline_policy(caller, OwnerKind.GROUP, group_name, policy_name)

    async def delete_group_policy(self, caller: Caller, group_name: str, policy_name: str) -> None:
        await self.delete_inline_policy(caller, OwnerKind.GROUP, group_name, policy_name)

    async def list_group_policies(self, caller: Caller, group_name: str) -> list[str]:
        return await self._list_inline(caller, OwnerKind.GROUP, group_name)

    async def put_role_policy(
        self, caller: Caller, role_name: str, policy_name: str, policy_document: str
    ) -> None:
        await self.put_inline_policy(
            caller, OwnerKind.ROLE, role_name, policy_name, policy_document
        )

    async def get_role_policy(
        self, caller: Caller, role_name: str, policy_name: str
    ) -> InlinePolicy:
        return await self.get_inline_policy(caller, OwnerKind.ROLE, role_name, policy_name)

    async def delete_role_policy(self, caller: Caller, role_name: str, policy_name: str) -> None:
        await self.delete_inline_policy(caller, OwnerKind.ROLE, role_name, policy_name)

    async def list_role_policies(self, caller: Caller, role_name: str) -> list[str]:
        return await self._list_inline(caller, OwnerKind.ROLE, role_name)

    # Managed policies -------------------------------------------------------------------

    async def create_policy(
        self,
        caller: Caller,
        policy_name: str,
        policy_document: str,
        path: str = "/",
        description: str | None = None,
    ) -> ManagedPolicy:
        _check_name("policy", policy_name, 128)
        _check_path(path)
        _validate_policy(policy_document, "managed")
        now = datetime.now(UTC)
        policy = ManagedPolicy(
            caller.account_id,
            policy_name,
            path,
            new_unique_id(POLICY_ID_PREFIX),
            policy_document,
            "v1",
            description,
            now,
            now,
        )
        await blocking(self._store.create_policy, policy)
        return policy

    async def get_policy(self, caller: Caller, policy_arn: str) -> ManagedPolicy:
        """A customer-managed policy of the caller's account, or an AWS-managed one."""
        parts = policy_arn_parts(policy_arn)
        if parts is None:
            raise InvalidRequest(f"ARN {policy_arn} is not valid.")
        account, path, name = parts
        if account == "aws":
            found = _aws_managed(policy_arn)
            if found is None:
                raise NoSuchEntity("policy", policy_arn)
            return found
        if account != caller.account_id:
            raise NoSuchEntity("policy", policy_arn)
        return await blocking(self._store.policy, account, path, name, policy_arn)

    async def delete_policy(self, caller: Caller, policy_arn: str) -> None:
        parts = policy_arn_parts(policy_arn)
        if parts is None:
            raise InvalidRequest(f"ARN {policy_arn} is not valid.")
        account, path, name = parts
        if account != caller.account_id:
            raise NoSuchEntity("policy", policy_arn)
        await self._change(self._store.delete_policy, account, path, name, policy_arn)

    async def list_policies(
        self,
        caller: Caller,
        scope: str = "All",
        only_attached: bool = False,
        path_prefix: str = "/",
    ) -> list[ManagedPolicy]:
        """Customer-managed policies (scope "Local"), the AWS-managed ones Dockyard knows
        (scope "AWS"), or both ("All", IAM's default)."""
        if scope not in ("All", "AWS", "Local"):
            raise InvalidRequest(f"scope must be All, AWS or Local, not {scope!r}")
        found: list[ManagedPolicy] = []
        if scope in ("All", "AWS"):
            counts = await blocking(self._store.attachment_counts, caller.account_id)
            for arn in managed_policies.MANAGED_POLICIES:
                aws = _aws_managed(arn)
                if aws is not None and aws.path.startswith(path_prefix):
                    found.append(replace(aws, attachment_count=counts.get(arn, 0)))
        if scope in ("All", "Local"):
            found += await blocking(self._store.policies, caller.account_id, path_prefix)
        if only_attached:
            found = [p for p in found if p.attachment_count > 0]
        return found

    async def attach_policy(
        self, caller: Caller, kind: OwnerKind, owner: str, policy_arn: str
    ) -> None:
        await self.get_policy(caller, policy_arn)  # NoSuchEntity for a policy not attachable
        await self._change(self._store.attach, kind, caller.account_id, owner, policy_arn)

    async def detach_policy(
        self, caller: Caller, kind: OwnerKind, owner: str, policy_arn: str
    ) -> None:
        await self._change(self._store.detach, kind, caller.account_id, owner, policy_arn)

    async def _attached(self, caller: Caller, kind: OwnerKind, owner: str) -> list[AttachedPolicy]:
        arns = await blocking(self._store.attached, kind, caller.account_id, owner)
        return [AttachedPolicy(arn.rpartition("/")[2], arn) for arn in arns]

    async def attach_user_policy(self, caller: Caller, user_name: str, policy_arn: str) -> None:
        await self.attach_policy(caller, OwnerKind.USER, user_name, policy_arn)

    async def detach_user_policy(self, caller: Caller, user_name: str, policy_arn: str) -> None:
        await self.detach_policy(caller, OwnerKind.USER, user_name, policy_arn)

    async def list_attached_user_policies(
        self, caller: Caller, user_name: str
    ) -> list[AttachedPolicy]:
        return await self._attached(caller, OwnerKind.USER, user_name)

    async def attach_group_policy(self, caller: Caller, group_name: str, policy_arn: str) -> None:
        await self.attach_policy(caller, OwnerKind.GROUP, group_name, policy_arn)

    async def detach_group_policy(self, caller: Caller, group_name: str, policy_arn: str) -> None:
        await self.detach_policy(caller, OwnerKind.GROUP, group_name, policy_arn)

    async def list_attached_group_policies(
        self, caller: Caller, group_name: str
    ) -> list[AttachedPolicy]:
        return await self._attached(caller, OwnerKind.GROUP, group_name)

    async def attach_role_policy(self, caller: Caller, role_name: str, policy_arn: str) -> None:
        await self.attach_policy(caller, OwnerKind.ROLE, role_name, policy_arn)

    async def detach_role_policy(self, caller: Caller, role_name: str, policy_arn: str) -> None:
        await self.detach_policy(caller, OwnerKind.ROLE, role_name, policy_arn)

    async def list_attached_role_policies(
        self, caller: Caller, role_name: str
    ) -> list[AttachedPolicy]:
        return await self._attached(caller, OwnerKind.ROLE, role_name)

    # What authorization reads -------------------------------------------------------------

    async def identity_policies(self, who: Caller | Principal) -> list[tuple[str, str]]:
        """(policy id, document) of every identity policy that applies to ``who``: a user's
        inline and attached policies and those of its groups; for a role session, the
        role's. Inline ids name their owner ("user/alice/Name", "group/ci/Name"); attached
        ones are the policy ARN. A root has none (it needs none in its own account)."""
        principal = who.principal if isinstance(who, Caller) else who
        if principal.kind is PrincipalKind.ROOT:
            return []
        kind = OwnerKind.ROLE if principal.kind is PrincipalKind.ASSUMED_ROLE else OwnerKind.USER
        sources = await blocking(
            self._store.policy_sources, kind, principal.account_id, principal.name
        )
        documents = await blocking(
            self._store.policy_documents, principal.account_id, sources.attached
        )
        found = list(sources.inline)
        for arn in sources.attached:
            aws = _aws_managed(arn)
            text = documents.get(arn) or (aws.document if aws is not None else "")
            if text:
                found.append((arn, text))
        return found

    # STS ------------------------------------------------------------------------------------

    async def assume_role(
        self,
        caller: Caller,
        role_arn: str,
        role_session_name: str,
        duration_seconds: int = 3600,
        facts: RequestFacts = NO_FACTS,
    ) -> AssumedRole:
        """Temporary credentials for ``role_arn`` (any account's role whose trust policy
        names the caller), valid for ``duration_seconds``."""
        if not valid_name(role_session_name, _SESSION_NAME_LIMIT) or len(role_session_name) < 2:
            raise InvalidRequest(
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* "
                "and have length between 2 and 64"
            )
        if not MIN_SESSION_SECONDS <= duration_seconds <= MAX_SESSION_SECONDS:
            raise InvalidRequest(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
                f"constraint: Member must have value between {MIN_SESSION_SECONDS} "
                f"and {MAX_SESSION_SECONDS}"
            )
        target = parse_role_arn(role_arn)
        if target is None:
            raise InvalidRequest(f"{role_arn} is not a valid role ARN")
        # The role's trust policy must allow the caller, and so must the caller's identity
        # policies unless the trust policy names the caller itself (a missing role has no
        # trust policy: refused alike, so as not to reveal which roles exist).
        asked = Target(ASSUME_ROLE, role_arn, target.account_id)
        if self.authorizer is None or not await self.authorizer.allows(caller, asked, facts):
            raise RoleTrustDenied(caller.arn, role_arn)
        try:
            role = await blocking(self._store.role, target.account_id, target.name)
        except NoSuchEntity:
            raise RoleTrustDenied(caller.arn, role_arn) from None
        if duration_seconds > role.max_session_duration:
            raise InvalidRequest(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        if caller.principal.kind is PrincipalKind.ASSUMED_ROLE and (
            duration_seconds > CHAINED_SESSION_SECONDS
        ):
            raise InvalidRequest(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        principal = Principal(
            role.account_id,
            role.name,
            PrincipalKind.ASSUMED_ROLE,
            role.path,
            role.role_id,
            role_session_name,
        )
        # Whole seconds, as STS reports them.
        now = datetime.fromtimestamp(int(self._identity.clock()), UTC)
        expires = now + timedelta(seconds=duration_seconds)
        credentials = await blocking(self._identity.start_session, principal, caller.arn, expires)
        return AssumedRole(credentials, principal)

    async def get_caller_identity(self, caller: Caller) -> CallerIdentity:
        return CallerIdentity(caller.user_id, caller.account_id, caller.arn)


def _check_name(entity: str, name: str, limit: int) -> None:
    if not valid_name(name, limit):
        raise InvalidRequest(
            f"The specified value for {entity}Name is invalid. It must contain only "
            "alphanumeric characters and/or the following: +=,.@_-"
        )


def _check_path(path: str) -> None:
    if not valid_path(path):
        raise InvalidRequest(
            "The specified value for path is invalid. It must begin and end with / and "
            "contain only alphanumeric characters and/or / characters."
        )
