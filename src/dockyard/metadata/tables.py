"""The schema. Blobs are global (content-addressed); everything else hangs off a
repository, which is keyed by (account, region, name)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _repository_id(primary_key: bool) -> Column[int]:
    """The owning repository; its rows go with it."""
    return Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("tag_mutability", String(32), nullable=False, server_default="MUTABLE"),
    Column("mutability_filters", JSON, nullable=False, server_default="[]"),
    Column("scan_on_push", Boolean, nullable=False, server_default="0"),
    Column("encryption_type", String(16), nullable=False, server_default="AES256"),
    Column("kms_key", String(2048)),
    # Resource tags (ECR's Key/Value pairs), in the order they were added.
    Column("resource_tags", JSON, nullable=False, server_default="{}"),
    UniqueConstraint("account_id", "region", "name"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("digest", String(200), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set by GC when nothing references the blob; any new reference clears it.
    Column("doomed_at", DateTime(timezone=True)),
)

repository_blobs = Table(
    "repository_blobs",
    metadata,
    _repository_id(primary_key=True),
    Column("digest", String(200), ForeignKey("blobs.digest"), primary_key=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
)

manifests = Table(
    "manifests",
    metadata,
    Column("id", Integer, primary_key=True),
    _repository_id(primary_key=False),
    Column("digest", String(200), nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("artifact_type", String(255)),
    Column("subject_digest", String(200)),
    Column("annotations", JSON, nullable=False),
    Column("size", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("pushed_at", DateTime(timezone=True), nullable=False),
    # ECR's imageSizeInBytes: the layers as stored (an index: its largest image).
    Column("image_size", BigInteger, nullable=False, server_default="0"),
    Column("config_media_type", String(255)),
    Column("last_pulled_at", DateTime(timezone=True)),
    Column("image_status", String(16), nullable=False, server_default="ACTIVE"),
    Column("archived_at", DateTime(timezone=True)),
    Column("activated_at", DateTime(timezone=True)),
    UniqueConstraint("repository_id", "digest"),
    Index(None, "repository_id", "subject_digest"),
)

# What a manifest needs to stay pullable: its blobs (kind "blob") and, for an
# index, its child manifests (kind "manifest").
manifest_references = Table(
    "manifest_references",
    metadata,
    Column(
        "manifest_id",
        Integer,
        ForeignKey("manifests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(200), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Index(None, "digest"),
)

tags = Table(
    "tags",
    metadata,
    _repository_id(primary_key=True),
    Column("name", String(300), primary_key=True),
    Column("manifest_id", Integer, ForeignKey("manifests.id"), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "manifest_id"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(64), primary_key=True),
    _repository_id(primary_key=False),
    Column("offset", BigInteger, nullable=False),
    # ECR's layer API refuses a part after one smaller than 5 MiB.
    Column("last_part_size", BigInteger),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

principals = Table(
    "principals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # "root" or "user"
    Column("created_at", DateTime(timezone=True), nullable=False),
    # IAM's Path and UserId ("AIDA..."); rows older than IAM get theirs from migration 0006.
    Column("path", String(512), nullable=False, server_default="/"),
    Column("unique_id", String(32), unique=True),
    UniqueConstraint("account_id", "name"),
)

# Secret keys are needed to check SigV4 signatures, so they are kept, but only
# encrypted under a key that lives outside the database.
access_keys = Table(
    "access_keys",
    metadata,
    Column("id", String(128), primary_key=True),
    Column(
        "principal_id", Integer, ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    ),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # "Active" or "Inactive"
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# IAM is global (no region), as in AWS: every IAM row is keyed by its account alone.
# Groups, roles and customer-managed policies have an integer key for joins and IAM's
# own id ("AGPA...", "AROA...", "ANPA...") as unique_id.
iam_groups = Table(
    "iam_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False, server_default="/"),
    Column("unique_id", String(32), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "name"),
)

iam_group_members = Table(
    "iam_group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("iam_groups.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "principal_id", Integer, ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index(None, "principal_id"),
)

iam_roles = Table(
    "iam_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("path", String(512), nullable=False, server_default="/"),
    Column("unique_id", String(32), nullable=False, unique=True),
    Column("trust_policy", Text, nullable=False),
    Column("max_session_duration", Integer, nullable=False, server_default="3600"),
    Column("description", String(1000)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "name"),
)

# Customer-managed policies. One stored version (the default); AWS-managed policies
# live in code, so attachments name a policy by ARN.
iam_managed_policies = Table(
    "iam_managed_policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False, server_default="/"),
    Column("unique_id", String(32), nullable=False, unique=True),
    Column("description", String(1000)),
    Column("default_version", String(16), nullable=False, server_default="v1"),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "name"),
)

# Inline policies and attachments belong to a user (principals.id), a group or a role:
# owner_kind says which table owner_id points into. IAM refuses to delete an owner that
# still has either, so no row outlives its owner.
iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("owner_kind", String(8), primary_key=True),  # "user", "group" or "role"
    Column("owner_id", Integer, primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

iam_policy_attachments = Table(
    "iam_policy_attachments",
    metadata,
    Column("owner_kind", String(8), primary_key=True),
    Column("owner_id", Integer, primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("attached_at", DateTime(timezone=True), nullable=False),
    Index(None, "policy_arn"),
)

# STS sessions: temporary keys ("ASIA...") of an assumed role. The secret is sealed like
# an access key's; the session token is kept only as its SHA-256.
sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("role_id", Integer, ForeignKey("iam_roles.id", ondelete="CASCADE"), nullable=False),
    Column("session_name", String(64), nullable=False),
    Column("source_arn", String(2048), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index(None, "expires_at"),
)

account_settings = Table(
    "account_settings",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", String(64), nullable=False),
)

# One queue for all background work (GC, lifecycle, later scans and replication).
# A node claims a job by taking a lease; a lease that runs out makes it claimable again.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(512)),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # queued, running, done, failed
    Column("run_after", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("result", JSON),
    Column("error", Text),
    Column("duration_seconds", Float),  # of the run that finished it (done or failed)
    Index(None, "state", "run_after"),
    Index(None, "kind", "key"),
    # One queued or running job per kind and key: the rule that dedupes keyed jobs.
    Index(
        "uq_jobs_pending_kind_key",
        "kind",
        "key",
        unique=True,
        sqlite_where=text("state IN ('queued', 'running')"),
        postgresql_where=text("state IN ('queued', 'running')"),
    ),
)

lifecycle_policies = Table(
    "lifecycle_policies",
    metadata,
    _repository_id(primary_key=True),
    Column("text", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_evaluated_at", DateTime(timezone=True)),
)

# Resource policies: one per repository (SetRepositoryPolicy), one per registry.
repository_policies = Table(
    "repository_policies",
    metadata,
    _repository_id(primary_key=True),
    Column("text", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

registry_policies = Table(
    "registry_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("text", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

lifecycle_previews = Table(
    "lifecycle_previews",
    metadata,
    _repository_id(primary_key=True),
    Column("status", String(16), nullable=False),
    Column("policy_text", Text, nullable=False),
    Column("results", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What lifecycle did, kept after the repository is gone: the operator's record.
lifecycle_actions = Table(
    "lifecycle_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("repository", String(256), nullable=False),
    Column("rule_priority", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("digest", String(200), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "account_id", "region", "repository"),
)

pull_time_exclusions = Table(
    "pull_time_exclusions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("principal_arn", String(2048), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The vulnerability database: OSV records by id (the JSON matching needs, and the severity
# computed at import), and the (ecosystem, normalised package name) index scans look up by.
vuln_records = Table(
    "vuln_records",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("modified", DateTime(timezone=True), nullable=False),
    Column("withdrawn", DateTime(timezone=True)),
    # SHA-256 of the stored JSON: importing the same record again changes nothing.
    Column("digest", String(64), nullable=False),
    Column("record", JSON, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("cvss_score", Float),
    Column("cvss_vector", String(512)),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

vuln_packages = Table(
    "vuln_packages",
    metadata,
    Column("ecosystem", String(128), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column(
        "record_id",
        String(255),
        ForeignKey("vuln_records.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index(None, "record_id"),
)

# One row per import: what it read and changed, and the newest record date it held.
vuln_imports = Table(
    "vuln_imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("records", Integer, nullable=False),
    Column("invalid", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("data_modified", DateTime(timezone=True)),
)

# The latest scan of each image: its status, findings, and the inventory (for SBOMs).
image_scans = Table(
    "image_scans",
    metadata,
    _repository_id(primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("description", Text),
    Column("scan_type", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("source_updated_at", DateTime(timezone=True)),
    Column("counts", JSON, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("inventory", JSON),
)

registry_scanning = Table(
    "registry_scanning",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("scan_type", String(16), nullable=False),
    Column("rules", JSON, nullable=False),
)

# Repository creation templates, per registry, named by their prefix (``ROOT`` or a
# repository-name prefix without its trailing "/").
repository_creation_templates = Table(
    "repository_creation_templates",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("prefix", String(256), primary_key=True),
    Column("description", String(256)),
    Column("applied_for", JSON, nullable=False),
    Column("tag_mutability", String(32), nullable=False),
    Column("mutability_filters", JSON, nullable=False),
    Column("encryption_type", String(16), nullable=False),
    Column("kms_key", String(2048)),
    # Key -> value, in the order given.
    Column("resource_tags", JSON, nullable=False),
    Column("repository_policy", Text),
    Column("lifecycle_policy", Text),
    Column("custom_role_arn", String(2048)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Replication (ECR's PutReplicationConfiguration), one configuration per registry: its
# rules as the API gives them ({"destinations": [{"region", "registryId"}],
# "repositoryFilters": [{"filter", "filterType"}]}), an empty list for none.
replication_configurations = Table(
    "replication_configurations",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("rules", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Each image's replication to each destination, as last recorded. ``destination`` is the
# destination's id (``registry:<account>:<region>`` for a registry of this deployment;
# other kinds name themselves there), so a destination kind adds no column to the key.
replication_statuses = Table(
    "replication_statuses",
    metadata,
    _repository_id(primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("destination", String(512), primary_key=True),
    Column("destination_kind", String(32), nullable=False),
    Column("destination_account", String(12)),
    Column("destination_region", String(32)),
    Column("status", String(16), nullable=False),
    Column("failure_code", String(64)),
    Column("last_error", Text),
    # Runs since it was last queued: a transient failure on the last run allowed is final.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

# Backfills (a Dockyard extension): replication of images pushed before a rule covered
# them. The walk over the registry queues one item per image and destination; each
# item's outcome is written when its replication ends.
replication_backfills = Table(
    "replication_backfills",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("repository", String(256)),
    Column("filters", JSON, nullable=False),
    Column("walked", Boolean, nullable=False, server_default="0"),
    Column("stopped", Boolean, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "account_id", "region", "created_at"),
)

replication_backfill_items = Table(
    "replication_backfill_items",
    metadata,
    Column(
        "backfill_id",
        String(36),
        ForeignKey("replication_backfills.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("repository", String(256), primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("destination", String(512), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("failure_code", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# External registries (Dockyard's replication destinations outside the deployment), one
# per (account, region, name). A password is sealed with the secrets key, as access-key
# secrets are; a ``credential_arn`` names a Secrets Manager secret instead.
external_registries = Table(
    "external_registries",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("insecure", Boolean, nullable=False, server_default="0"),
    Column("username", String(256)),
    Column("password_ciphertext", LargeBinary),
    Column("credential_arn", String(2048)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What replication created at a destination: a manifest (by digest) that the destination
# repository did not hold before a replication of the source repository put it there.
# Delete propagation deletes only these; the rows go with the source repository.
replication_replicas = Table(
    "replication_replicas",
    metadata,
    _repository_id(primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("destination", String(512), primary_key=True),
    Column("destination_repository", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Pull-through cache rules, one per (account, region, ecrRepositoryPrefix). ``upstream_kind``
# is botocore's UpstreamRegistry value, or "generic" for any OCI registry by URL.
pull_through_cache_rules = Table(
    "pull_through_cache_rules",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("prefix", String(64), primary_key=True),
    Column("upstream_kind", String(64), nullable=False),
    Column("upstream_url", String(2048), nullable=False),
    Column("upstream_prefix", String(64)),
    Column("credential_arn", String(1024)),
    Column("custom_role_arn", String(2048)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The pull-through cache's data path (services/pullthrough.py). A flight is one fetch from
# an upstream that every node and process joins rather than repeats: its row is a lease,
# renewed while the fetch runs, taken over when it expires; ``progress`` is how many bytes
# of a blob sit in its upload, so that waiting clients anywhere are sent them at once.
cache_flights = Table(
    "cache_flights",
    metadata,
    Column("name", String(512), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # running, done, failed
    Column("upload_id", String(128)),
    Column("progress", BigInteger, nullable=False),
    Column("error", String(1024)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Manifests fetched from an upstream and served while their image is being stored (a
# manifest is stored only once everything it names is): the row goes when it is stored.
cache_manifests = Table(
    "cache_manifests",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("repository", String(256), primary_key=True),
    Column("digest", String(200), primary_key=True),
    Column("media_type", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
)

# What a cached tag was upstream when last asked, and when: asked again after the
# re-check interval only.
cache_tags = Table(
    "cache_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("repository", String(256), primary_key=True),
    Column("tag", String(128), primary_key=True),
    Column("digest", String(200), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)

# Per rule (by prefix): pulls served from the cache, pulls that went upstream, upstream
# failures (dockyard cache status).
cache_stats = Table(
    "cache_stats",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("prefix", String(64), primary_key=True),
    Column("hits", BigInteger, nullable=False),
    Column("misses", BigInteger, nullable=False),
    Column("upstream_errors", BigInteger, nullable=False),
    Column("last_error", String(1024)),
    Column("last_error_at", DateTime(timezone=True)),
)

# Secrets Manager's secrets, one per (account, region, name). A name is held by one secret at
# a time, scheduled for deletion or not; ``suffix`` makes its ARN its own.
secrets = Table(
    "secrets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(512), nullable=False),
    Column("suffix", String(6), nullable=False),
    Column("description", String(2048)),
    Column("kms_key_id", String(2048)),
    # [[key, value], ...] in the order given.
    Column("tags", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("deletion_date", DateTime(timezone=True)),
    UniqueConstraint("account_id", "region", "name"),
)

# A secret's versions that carry a stage label. The value is sealed with the secrets key, as
# access-key secrets are; ``binary`` says it was SecretBinary (sealed as base64 text).
secret_versions = Table(
    "secret_versions",
    metadata,
    Column("secret_id", Integer, ForeignKey("secrets.id", ondelete="CASCADE"), primary_key=True),
    Column("version_id", String(64), primary_key=True),
    Column("stages", JSON, nullable=False),
    Column("binary", Boolean, nullable=False),
    Column("value_ciphertext", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
