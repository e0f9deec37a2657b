"""The registry's one error hierarchy.

Classes carry fields, not wire text; each API adapter maps them to its own
wire errors in a single table (``api/oci/errors.py``).

DockyardError
├── NameInvalid            a repository name breaks the grammar or the length limits
├── NameUnknown            the repository does not exist
├── ReferenceInvalid       a tag or digest reference is malformed
├── DigestInvalid          a digest is malformed or does not match the content
├── BlobUnknown            the repository holds no such blob
├── BlobUploadUnknown      no such upload session in this repository
├── BlobUploadInvalid      an upload request is malformed (sizes, ranges)
├── UploadOutOfOrder       a chunk does not start where the session ends
├── RangeNotSatisfiable    a read range lies outside the blob
├── ManifestUnknown        no manifest under that tag or digest
│   └── ManifestArchived   its image is in the archive storage class (or on its way back)
├── ManifestInvalid        a manifest that is not valid JSON / not a known shape
├── ManifestBlobUnknown    a manifest names a blob the repository does not hold
├── ManifestChildUnknown   an index names a manifest the repository does not hold
├── ManifestTooLarge       a manifest over the size limit
├── BlobTooLarge           a blob over the size limit
├── ContentReferenced      a delete that would leave a live manifest pointing at nothing
├── PaginationInvalid      a page size that is not a non-negative number
├── Unsupported            a valid request the registry does not serve
├── InvalidRequest         well-formed, but against the rules (ECR's InvalidParameter)
├── JsonInvalid            a JSON document that is malformed or nests too deeply
├── RepositoryAlreadyExists
├── RepositoryNotEmpty     delete without force of a repository that holds images
├── TagImmutable           an overwrite of an immutable tag
├── ImageAlreadyExists     PutImage of a manifest and tag that are both unchanged
├── TooManyTags            more resource tags than allowed
├── LayerPartTooSmall      a layer part under 5 MiB followed by another part
├── LayerAlreadyExists     completing a layer upload of a blob already held
├── EmptyUpload            completing a layer upload that received nothing
├── ImageNotFound          no image under the given digest or tag
├── ImageArchived          an archived image asked to do what only active images do (scan)
├── ScanNotFound           an image that has no scan (yet)
├── ScanQuotaExceeded      a second BASIC StartImageScan of an image within 24 hours
├── ResourceTagInvalid     a resource tag key or value over its limits
├── LifecyclePolicyInvalid a lifecycle policy text that breaks ECR's rules (InvalidParameter)
├── PolicyInvalid          an IAM policy document that breaks the policy grammar
├── LifecyclePolicyNotFound / LifecyclePreviewNotFound
├── ExclusionExists / ExclusionNotFound   pull-time update exclusions
├── ScanFailed             an image scan that had to stop (a limit, a corrupt or hostile layer)
├── UnsupportedImage       an image the scanner cannot read (an unknown layer media type)
├── AccessDenied           a request the policies do not allow (message in AWS's wording)
│   └── RoleTrustDenied    STS: a role whose trust policy does not let the caller assume it
├── RepositoryPolicyNotFound / RegistryPolicyNotFound   resource policies
├── TemplateAlreadyExists / TemplateNotFound   repository creation templates, by prefix
├── TemplateInvalid        a creation template whose settings do not go together
├── NoSuchEntity           IAM: no user, group, role, policy or inline policy of that name
├── EntityAlreadyExists    IAM: a user, group, role or policy of that name exists
├── DeleteConflict         IAM: a delete of an entity that still has keys, members or policies
├── LimitExceeded          a quota (IAM: two access keys per user; creation templates)
├── TemplateAlreadyExists / TemplateNotFound / TemplateInvalid   creation templates
├── RegionNotServed        a registry host naming a region the deployment does not serve
├── ReplicationConfigurationInvalid   a replication configuration against ECR's rules
├── BackfillNotFound       no replication backfill of that id in the registry
├── ExternalRegistryNotFound / ExternalRegistryAlreadyExists   replication destinations
│                          outside the deployment, by name
├── ExternalRegistryInUse  a delete of an external registry a replication rule names
├── CacheRuleAlreadyExists / CacheRuleNotFound   pull-through cache rules, by prefix
├── UpstreamUnsupported    a pull-through cache upstream Dockyard cannot name the kind of
├── UpstreamUnavailable    a pull-through cache miss the upstream cannot serve now (down,
│                          slow, 429, 5xx), with no cached copy to serve instead
├── UpstreamFailed         a pull-through cache miss the upstream refused or answered wrongly
│                          (credentials refused, a digest mismatch, schema 1)
├── SecretNotFound         no secret of that name or ARN in the registry's account and region
├── SecretAlreadyExists    a secret of that name exists
├── SecretMarkedForDeletion  a secret scheduled for deletion asked to serve or change
├── SecretUndecryptable    a stored secret this node's secrets key does not open
└── SecretRequestInvalid   a secret request the secret's state or its members rule out
"""

from __future__ import annotations


def image_id_text(digest: str | None, tag: str | None) -> str:
    """An image id as ECR's messages render it: both members, ``null`` for an absent one."""
    return f"{{imageDigest:'{digest or 'null'}', imageTag:'{tag or 'null'}'}}"


class DockyardError(Exception):
    """Base of every error the registry raises on purpose."""

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        return type(self).__name__


class NameInvalid(DockyardError):
    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def describe(self) -> str:
        return f"invalid repository name {self.name!r}: {self.reason}"


class NameUnknown(DockyardError):
    def __init__(self, name: str, registry_id: str) -> None:
        self.name, self.registry_id = name, registry_id

    def describe(self) -> str:
        return (
            f"The repository with name '{self.name}' does not exist in the registry "
            f"with id '{self.registry_id}'"
        )


class ReferenceInvalid(DockyardError):
    def __init__(self, reference: str) -> None:
        self.reference = reference

    def describe(self) -> str:
        return f"invalid tag or digest {self.reference!r}"


class DigestInvalid(DockyardError):
    def __init__(self, digest: str, reason: str) -> None:
        self.digest, self.reason = digest, reason

    def describe(self) -> str:
        return f"digest {self.digest!r}: {self.reason}"


class BlobUnknown(DockyardError):
    def __init__(self, digest: str) -> None:
        self.digest = digest

    def describe(self) -> str:
        return f"blob {self.digest} is not known to this repository"


class BlobUploadUnknown(DockyardError):
    def __init__(self, upload_id: str) -> None:
        self.upload_id = upload_id

    def describe(self) -> str:
        return f"upload {self.upload_id} is not known to this repository"


class BlobUploadInvalid(DockyardError):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class UploadChangedConcurrently(BlobUploadInvalid):
    """Another request (here, in another process or on another node) changed the upload
    between this one's look at it and its own change or commit."""

    def __init__(self, upload_id: str) -> None:
        super().__init__(f"upload {upload_id} was changed concurrently")


class UploadOutOfOrder(DockyardError):
    def __init__(self, upload_id: str, expected_offset: int, got_offset: int) -> None:
        self.upload_id = upload_id
        self.expected_offset, self.got_offset = expected_offset, got_offset

    def describe(self) -> str:
        return (
            f"chunk starts at {self.got_offset} but upload {self.upload_id} "
            f"holds {self.expected_offset} bytes"
        )


class RangeNotSatisfiable(DockyardError):
    def __init__(self, size: int) -> None:
        self.size = size

    def describe(self) -> str:
        return f"requested range is outside the blob of {self.size} bytes"


class ManifestUnknown(DockyardError):
    def __init__(self, reference: str) -> None:
        self.reference = reference

    def describe(self) -> str:
        return f"manifest {self.reference!r} is not known to this repository"


class ManifestArchived(ManifestUnknown):
    """A pull of an archived image: still "unknown" to a pull, but saying why and what to do.

    ``status`` is the image's ``imageStatus``: ARCHIVED, or ACTIVATING while a restore runs.
    """

    def __init__(self, reference: str, repository: str, digest: str, status: str) -> None:
        super().__init__(reference)
        self.repository, self.digest, self.status = repository, digest, status

    def describe(self) -> str:
        if self.status == "ACTIVATING":
            return (
                f"image {self.digest} in repository {self.repository} is being restored from "
                "the archive; pull it again when its imageStatus is ACTIVE"
            )
        return (
            f"image {self.digest} in repository {self.repository} is archived; restore it with "
            f"aws ecr update-image-storage-class --repository-name {self.repository} "
            f"--image-id imageDigest={self.digest} --target-storage-class STANDARD "
            "and pull it again when its imageStatus is ACTIVE"
        )


class ManifestInvalid(DockyardError):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return f"manifest invalid: {self.reason}"


class ManifestBlobUnknown(DockyardError):
    def __init__(self, digest: str) -> None:
        self.digest = digest

    def describe(self) -> str:
        return f"manifest references blob {self.digest}, which this repository does not hold"


class ManifestTooLarge(DockyardError):
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def describe(self) -> str:
        return f"manifest is larger than the limit of {self.limit} bytes"


class BlobTooLarge(DockyardError):
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def describe(self) -> str:
        return f"blob is larger than the limit of {self.limit} bytes"


class ContentReferenced(DockyardError):
    def __init__(self, digest: str, referrer: str) -> None:
        self.digest, self.referrer = digest, referrer

    def describe(self) -> str:
        return f"{self.digest} is still referenced by manifest {self.referrer}"


class Unsupported(DockyardError):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class PaginationInvalid(DockyardError):
    def __init__(self, value: str) -> None:
        self.value = value

    def describe(self) -> str:
        return f"invalid page size {self.value!r}"


class ManifestChildUnknown(DockyardError):
    def __init__(self, digest: str) -> None:
        self.digest = digest

    def describe(self) -> str:
        return f"index references manifest {self.digest}, which this repository does not hold"


class InvalidRequest(DockyardError):
    """A request that is well-formed but asks for something the rules forbid."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class JsonInvalid(DockyardError):
    """JSON that cannot be read: malformed, or nested deeper than the registry accepts.

    Callers that parse a particular document (a manifest, a policy) re-raise it as that
    document's own error; ``reason`` says what is wrong, never quoting the input.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return f"invalid JSON: {self.reason}"


class RepositoryAlreadyExists(DockyardError):
    def __init__(self, name: str, registry_id: str) -> None:
        self.name, self.registry_id = name, registry_id

    def describe(self) -> str:
        return (
            f"The repository with name '{self.name}' already exists in the registry "
            f"with id '{self.registry_id}'"
        )


class RepositoryNotEmpty(DockyardError):
    def __init__(self, name: str, registry_id: str) -> None:
        self.name, self.registry_id = name, registry_id

    def describe(self) -> str:
        return (
            f"The repository with name '{self.name}' in registry with id '{self.registry_id}' "
            "cannot be deleted because it still contains images"
        )


class TagImmutable(DockyardError):
    def __init__(self, tag: str, repository: str) -> None:
        self.tag, self.repository = tag, repository

    def describe(self) -> str:
        return (
            f"The image tag '{self.tag}' already exists in the '{self.repository}' repository "
            "and cannot be overwritten because the tag is immutable."
        )


class ImageAlreadyExists(DockyardError):
    def __init__(self, digest: str, tag: str | None, repository: str, registry_id: str) -> None:
        self.digest, self.tag = digest, tag
        self.repository, self.registry_id = repository, registry_id

    def describe(self) -> str:
        # ECR's wording: "in registry with id", without "the" (unlike its other messages).
        tag = f" and tag '{self.tag}'" if self.tag else ""
        return (
            f"Image with digest '{self.digest}'{tag} already exists in the repository "
            f"with name '{self.repository}' in registry with id '{self.registry_id}'"
        )


class TooManyTags(DockyardError):
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def describe(self) -> str:
        return f"a resource can have at most {self.limit} tags"


class LayerPartTooSmall(DockyardError):
    def __init__(self, upload_id: str, size: int) -> None:
        self.upload_id, self.size = upload_id, size

    def describe(self) -> str:
        return f"layer part of {self.size} bytes is smaller than 5 MiB and was not the last part"


class LayerAlreadyExists(DockyardError):
    def __init__(self, digest: str) -> None:
        self.digest = digest

    def describe(self) -> str:
        return f"The layer '{self.digest}' already exists in the repository"


class EmptyUpload(DockyardError):
    def __init__(self, upload_id: str) -> None:
        self.upload_id = upload_id

    def describe(self) -> str:
        return f"The upload '{self.upload_id}' has no parts"


class ImageNotFound(DockyardError):
    """``digest`` and ``tag`` as the request gave them (either may be absent)."""

    def __init__(
        self, digest: str | None, tag: str | None, repository: str, registry_id: str
    ) -> None:
        self.digest, self.tag = digest, tag
        self.repository, self.registry_id = repository, registry_id

    def describe(self) -> str:
        return (
            f"The image with imageId {image_id_text(self.digest, self.tag)} does not exist "
            f"within the repository with name '{self.repository}' "
            f"in the registry with id '{self.registry_id}'"
        )


class ImageArchived(DockyardError):
    def __init__(self, digest: str, repository: str, registry_id: str) -> None:
        self.digest, self.repository, self.registry_id = digest, repository, registry_id

    def describe(self) -> str:
        return (
            f"The image with imageId {image_id_text(self.digest, None)} in the repository "
            f"with name '{self.repository}' in the registry with id '{self.registry_id}' "
            "is archived; restore it (UpdateImageStorageClass to STANDARD) to scan it"
        )


class ScanNotFound(DockyardError):
    """No scan of the image with ``digest`` (the digest the request resolved to)."""

    def __init__(self, digest: str, repository: str, registry_id: str) -> None:
        self.digest, self.repository, self.registry_id = digest, repository, registry_id

    def describe(self) -> str:
        return (
            f"Image scan does not exist for the image with '{image_id_text(self.digest, None)}' "
            f"in the repository with name '{self.repository}' "
            f"in the registry with id '{self.registry_id}'"
        )


class ScanQuotaExceeded(DockyardError):
    """A BASIC scan of ``digest`` was started less than a day ago (ECR's per-image quota)."""

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def describe(self) -> str:
        return "The scan quota per image has been exceeded. Wait and try again."


class ResourceTagInvalid(DockyardError):
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class LifecyclePolicyInvalid(DockyardError):
    """A lifecycle policy text that ECR would refuse; ``reason`` names the problem."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class PolicyInvalid(DockyardError):
    """An IAM policy document (identity, resource or trust) that IAM or ECR would refuse;
    ``message`` names the problem (IAM's MalformedPolicyDocument, ECR's InvalidParameter)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def describe(self) -> str:
        return self.message


class LifecyclePolicyNotFound(DockyardError):
    def __init__(self, repository: str, registry_id: str) -> None:
        self.repository, self.registry_id = repository, registry_id

    def describe(self) -> str:
        return (
            f"Lifecycle policy does not exist for the repository with name '{self.repository}' "
            f"in the registry with id '{self.registry_id}'"
        )


class LifecyclePreviewNotFound(DockyardError):
    def __init__(self, repository: str, registry_id: str) -> None:
        self.repository, self.registry_id = repository, registry_id

    def describe(self) -> str:
        return (
            f"There is no lifecycle policy preview for the repository with name "
            f"'{self.repository}' in the registry with id '{self.registry_id}'"
        )


class ExclusionExists(DockyardError):
    def __init__(self, principal_arn: str) -> None:
        self.principal_arn = principal_arn

    def describe(self) -> str:
        return f"A pull time update exclusion already exists for {self.principal_arn}"


class ExclusionNotFound(DockyardError):
    def __init__(self, principal_arn: str) -> None:
        self.principal_arn = principal_arn

    def describe(self) -> str:
        return f"No pull time update exclusion exists for {self.principal_arn}"


class ScanFailed(DockyardError):
    """An image scan that had to stop; the scan ends FAILED with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class UnsupportedImage(DockyardError):
    """An image the scanner cannot read; the scan ends UNSUPPORTED_IMAGE with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class AccessDenied(DockyardError):
    """A request no policy allows, or one a policy denies; ``message`` is AWS's sentence
    ("User: <arn> is not authorized to perform: <action> on resource: <arn> because ...")."""

    def __init__(self, message: str) -> None:
        self.message = message

    def describe(self) -> str:
        return self.message


class RepositoryPolicyNotFound(DockyardError):
    def __init__(self, repository: str, registry_id: str) -> None:
        self.repository, self.registry_id = repository, registry_id

    def describe(self) -> str:
        return (
            f"Repository policy does not exist for the repository with name "
            f"'{self.repository}' in the registry with id '{self.registry_id}'"
        )


class RegistryPolicyNotFound(DockyardError):
    def __init__(self, registry_id: str) -> None:
        self.registry_id = registry_id

    def describe(self) -> str:
        return f"Registry policy does not exist in the registry with id '{self.registry_id}'"


class RoleTrustDenied(AccessDenied):
    """AssumeRole refused: the role does not exist or its trust policy does not name the
    caller (STS answers both alike, so as not to reveal which roles exist)."""

    def __init__(self, caller_arn: str, role_arn: str) -> None:
        self.caller_arn, self.role_arn = caller_arn, role_arn
        super().__init__(
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role_arn}"
        )


class NoSuchEntity(DockyardError):
    """``entity`` is "user", "group", "role", "policy" (``name`` its ARN) or, for inline
    policies, "user policy", "group policy", "role policy"."""

    def __init__(self, entity: str, name: str) -> None:
        self.entity, self.name = entity, name

    def describe(self) -> str:
        if self.entity == "policy":
            return f"Policy {self.name} does not exist or is not attachable."
        if self.entity == "access key":
            return f"The Access Key with id {self.name} cannot be found."
        return f"The {self.entity} with name {self.name} cannot be found."


class EntityAlreadyExists(DockyardError):
    def __init__(self, entity: str, name: str) -> None:
        self.entity, self.name = entity, name

    def describe(self) -> str:
        if self.entity == "policy":
            return f"A policy called {self.name} already exists. Duplicate names are not allowed."
        return f"{self.entity.capitalize()} with name {self.name} already exists."


class DeleteConflict(DockyardError):
    """``what`` must go first ("delete access keys", "delete policies", "remove users from
    group", "detach all policies"), or "attachments" for a policy still attached."""

    def __init__(self, what: str) -> None:
        self.what = what

    def describe(self) -> str:
        if self.what == "attachments":
            return "Cannot delete a policy attached to entities."
        return f"Cannot delete entity, must {self.what} first."


class LimitExceeded(DockyardError):
    def __init__(self, quota: str, limit: int) -> None:
        self.quota, self.limit = quota, limit

    def describe(self) -> str:
        return f"Cannot exceed quota for {self.quota}: {self.limit}"


class TemplateAlreadyExists(DockyardError):
    def __init__(self, prefix: str, registry_id: str) -> None:
        self.prefix, self.registry_id = prefix, registry_id

    def describe(self) -> str:
        return (
            f"The repository creation template with prefix '{self.prefix}' already exists "
            f"in the registry with id '{self.registry_id}'"
        )


class TemplateNotFound(DockyardError):
    def __init__(self, prefix: str, registry_id: str) -> None:
        self.prefix, self.registry_id = prefix, registry_id

    def describe(self) -> str:
        return (
            f"The repository creation template with prefix '{self.prefix}' does not exist "
            f"in the registry with id '{self.registry_id}'"
        )


class TemplateInvalid(DockyardError):
    """A creation template ECR would refuse as a whole (ValidationException): no use in
    ``appliedFor``, a ``customRoleArn`` that is no role of the registry's account."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason


class RegionNotServed(DockyardError):
    def __init__(self, region: str, host: str) -> None:
        self.region, self.host = region, host

    def describe(self) -> str:
        return f"no registry here serves region '{self.region}' (host {self.host})"


class ReplicationConfigurationInvalid(DockyardError):
    """A replication configuration the model allows but ECR's rules do not (a destination
    that is the source itself, more unique destinations than allowed)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason

    def describe(self) -> str:
        return f"Invalid parameter at '{self.where}' failed to satisfy constraint: '{self.reason}'"


class BackfillNotFound(DockyardError):
    def __init__(self, backfill_id: str, registry_id: str) -> None:
        self.backfill_id, self.registry_id = backfill_id, registry_id

    def describe(self) -> str:
        return (
            f"The replication backfill with id '{self.backfill_id}' does not exist "
            f"in the registry with id '{self.registry_id}'"
        )


class ExternalRegistryNotFound(DockyardError):
    def __init__(self, name: str, registry_id: str) -> None:
        self.name, self.registry_id = name, registry_id

    def describe(self) -> str:
        return (
            f"The external registry '{self.name}' does not exist in the registry with id "
            f"'{self.registry_id}'"
        )


class ExternalRegistryAlreadyExists(DockyardError):
    def __init__(self, name: str, registry_id: str) -> None:
        self.name, self.registry_id = name, registry_id

    def describe(self) -> str:
        return (
            f"An external registry named '{self.name}' already exists in the registry with "
            f"id '{self.registry_id}'"
        )


class ExternalRegistryInUse(DockyardError):
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return (
            f"The external registry '{self.name}' is a destination of the replication "
            "configuration: remove it from the rules first"
        )


class CacheRuleAlreadyExists(DockyardError):
    def __init__(self, prefix: str, registry_id: str) -> None:
        self.prefix, self.registry_id = prefix, registry_id

    def describe(self) -> str:
        return (
            f"A pull through cache rule with the ecrRepositoryPrefix '{self.prefix}' already "
            f"exists in the registry with id '{self.registry_id}'"
        )


class CacheRuleNotFound(DockyardError):
    def __init__(self, prefix: str, registry_id: str) -> None:
        self.prefix, self.registry_id = prefix, registry_id

    def describe(self) -> str:
        return (
            f"The pull through cache rule with the ecrRepositoryPrefix '{self.prefix}' does "
            f"not exist in the registry with id '{self.registry_id}'"
        )


class UpstreamUnsupported(DockyardError):
    """An upstream registry URL that is none of the kinds ECR knows and no http(s) URL of a
    registry of any kind either."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason

    def describe(self) -> str:
        return f"Unsupported upstream registry '{self.url[:256]}': {self.reason}"


class UpstreamUnavailable(DockyardError):
    """A pull-through cache miss while the upstream cannot answer (unreachable, slower than
    the timeout, rate limiting, a server error): nothing cached to serve instead. Waiting
    may help, so the wire answer says "try again" (503)."""

    def __init__(self, upstream: str, what: str, reason: str) -> None:
        self.upstream, self.what, self.reason = upstream, what, reason

    def describe(self) -> str:
        return (
            f"{self.what} is not cached, and the upstream registry {self.upstream} is "
            f"unavailable: {self.reason}"
        )


class UpstreamFailed(DockyardError):
    """A pull-through cache miss the upstream answered in a way waiting will not change:
    the rule's credentials refused, content that is not what was asked for, a manifest
    kind Dockyard does not store."""

    def __init__(self, upstream: str, what: str, reason: str) -> None:
        self.upstream, self.what, self.reason = upstream, what, reason

    def describe(self) -> str:
        return f"{self.what} could not be fetched from the upstream registry {self.upstream}: " + (
            self.reason
        )


class SecretNotFound(DockyardError):
    """``secret_id`` is what the request named (a name or an ARN), never a value."""

    def __init__(self, secret_id: str, what: str = "secret") -> None:
        self.secret_id, self.what = secret_id, what

    def describe(self) -> str:
        return f"Dockyard's Secrets Manager can't find the {self.what} '{self.secret_id[:2048]}'"


class SecretAlreadyExists(DockyardError):
    def __init__(self, name: str, detail: str = "") -> None:
        self.name, self.detail = name, detail

    def describe(self) -> str:
        return self.detail or f"A secret named '{self.name}' already exists"


class SecretMarkedForDeletion(DockyardError):
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        # Tools match AWS's wording ("because it was marked for deletion") to tell a
        # secret on its way out from a failure: Terraform's provider does.
        return (
            "You can't perform this operation on the secret because it was marked for "
            f"deletion: '{self.name}' serves no value and takes no change until it is gone "
            "or restored"
        )


class SecretUndecryptable(DockyardError):
    """The stored value does not open with this node's secrets key (a node started with
    another key than the one that sealed it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return (
            f"The value of the secret '{self.name}' cannot be decrypted with this server's "
            "secrets key"
        )


class SecretRequestInvalid(DockyardError):
    """Secrets Manager's InvalidRequestException: members that cannot go together, or a
    request the secret's state rules out."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def describe(self) -> str:
        return self.reason
