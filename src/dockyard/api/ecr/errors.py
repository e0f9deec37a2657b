"""Domain errors as ECR's wire errors: one table, plus per-operation refinements.

The status of each error comes from ECR's model through the shared ``ErrorMap`` (400, or 500
for ``ServerException``); ``STATUS`` gives those of the front end's errors, which the model
does not define.
"""

from __future__ import annotations

from dockyard.api.aws.errors import ErrorMap
from dockyard.api.ecr.context import AccessDenied
from dockyard.api.ecr.shapes import load_model
from dockyard.auth import sigv4
from dockyard.auth.tokens import TokenInvalid
from dockyard.domain import errors as e
from dockyard.services.identity import Unauthenticated

# error class -> ECR __type (the status is 400 unless STATUS says otherwise)
WIRE: dict[type[e.DockyardError], str] = {
    e.NameUnknown: "RepositoryNotFoundException",
    e.NameInvalid: "InvalidParameterException",
    e.RepositoryAlreadyExists: "RepositoryAlreadyExistsException",
    e.RepositoryNotEmpty: "RepositoryNotEmptyException",
    e.TagImmutable: "ImageTagAlreadyExistsException",
    e.ImageAlreadyExists: "ImageAlreadyExistsException",
    e.ImageNotFound: "ImageNotFoundException",
    e.TooManyTags: "TooManyTagsException",
    e.ResourceTagInvalid: "InvalidTagParameterException",
    e.InvalidRequest: "InvalidParameterException",
    e.ReferenceInvalid: "InvalidParameterException",
    e.DigestInvalid: "InvalidParameterException",
    e.ManifestInvalid: "InvalidParameterException",
    e.ManifestTooLarge: "InvalidParameterException",
    e.ManifestBlobUnknown: "LayersNotFoundException",
    e.ManifestChildUnknown: "ReferencedImagesNotFoundException",
    e.ManifestUnknown: "ImageNotFoundException",
    e.BlobUnknown: "LayersNotFoundException",
    e.BlobTooLarge: "LimitExceededException",
    e.BlobUploadUnknown: "UploadNotFoundException",
    e.BlobUploadInvalid: "InvalidLayerPartException",
    e.UploadOutOfOrder: "InvalidLayerPartException",
    e.LayerPartTooSmall: "LayerPartTooSmallException",
    e.LayerAlreadyExists: "LayerAlreadyExistsException",
    e.EmptyUpload: "EmptyUploadException",
    e.ContentReferenced: "InvalidParameterException",
    e.PaginationInvalid: "InvalidParameterException",
    e.Unsupported: "UnsupportedCommandException",
    e.LifecyclePolicyInvalid: "InvalidParameterException",
    e.PolicyInvalid: "InvalidParameterException",
    e.LifecyclePolicyNotFound: "LifecyclePolicyNotFoundException",
    e.LifecyclePreviewNotFound: "LifecyclePolicyPreviewNotFoundException",
    e.ExclusionExists: "ExclusionAlreadyExistsException",
    e.ExclusionNotFound: "ExclusionNotFoundException",
    AccessDenied: "AccessDeniedException",
    e.AccessDenied: "AccessDeniedException",
    e.RepositoryPolicyNotFound: "RepositoryPolicyNotFoundException",
    e.RegistryPolicyNotFound: "RegistryPolicyNotFoundException",
    e.TemplateAlreadyExists: "TemplateAlreadyExistsException",
    e.TemplateNotFound: "TemplateNotFoundException",
    e.TemplateInvalid: "ValidationException",
    e.ReplicationConfigurationInvalid: "InvalidParameterException",
    # A Dockyard extension's error, defined with the extension's shapes.
    e.BackfillNotFound: "ReplicationBackfillNotFoundException",
    e.ExternalRegistryNotFound: "ExternalRegistryNotFoundException",
    e.ExternalRegistryAlreadyExists: "ExternalRegistryAlreadyExistsException",
    e.ExternalRegistryInUse: "ExternalRegistryInUseException",
    e.CacheRuleAlreadyExists: "PullThroughCacheRuleAlreadyExistsException",
    e.CacheRuleNotFound: "PullThroughCacheRuleNotFoundException",
    e.UpstreamUnsupported: "UnsupportedUpstreamRegistryException",
    # The data path's, should an ECR operation meet one: ECR's own words for them.
    e.UpstreamUnavailable: "UnableToGetUpstreamImageException",
    e.UpstreamFailed: "UnableToGetUpstreamImageException",
    # A rule's credentialArn, as ECR judges the secret it names.
    e.SecretNotFound: "SecretNotFoundException",
    e.SecretMarkedForDeletion: "UnableToAccessSecretException",
    e.SecretRequestInvalid: "UnableToAccessSecretException",
    e.SecretUndecryptable: "UnableToDecryptSecretValueException",
    e.SecretAlreadyExists: "InvalidParameterException",  # Secrets Manager's, should ECR meet it
    # IAM's errors, should an ECR operation meet one.
    e.NoSuchEntity: "InvalidParameterException",
    e.EntityAlreadyExists: "InvalidParameterException",
    e.DeleteConflict: "InvalidParameterException",
    e.LimitExceeded: "LimitExceededException",
    sigv4.ExpiredToken: "ExpiredTokenException",
    e.ScanNotFound: "ScanNotFoundException",
    e.ScanQuotaExceeded: "LimitExceededException",
    e.ImageArchived: "ImageArchivedException",
    e.UnsupportedImage: "UnsupportedImageTypeException",
    e.JsonInvalid: "InvalidParameterException",
    e.RangeNotSatisfiable: "InvalidParameterException",
    e.ScanFailed: "UnsupportedImageTypeException",
    e.RegionNotServed: "InvalidParameterException",  # /v2's; the API refuses the signature
    TokenInvalid: "UnrecognizedClientException",
    Unauthenticated: "UnrecognizedClientException",
    sigv4.MissingAuthentication: "MissingAuthenticationTokenException",
    sigv4.IncompleteSignature: "IncompleteSignatureException",
    sigv4.UnknownAccessKey: "UnrecognizedClientException",
    sigv4.InvalidSignature: "InvalidSignatureException",
    sigv4.AuthenticationError: "UnrecognizedClientException",  # any credential failure
}

# The same domain error means something more specific in some operations.
BY_OPERATION: dict[str, dict[type[e.DockyardError], str]] = {
    "PutImage": {e.DigestInvalid: "ImageDigestDoesNotMatchException"},
    "CompleteLayerUpload": {e.DigestInvalid: "InvalidLayerException"},
}

STATUS: dict[str, int] = {
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "AccessDeniedException": 403,
    "ExpiredTokenException": 403,
    "ServerException": 500,
}


def wire_message(exc: e.DockyardError) -> str:
    """ECR's message for ``exc``."""
    if isinstance(exc, e.LifecyclePolicyInvalid):
        # ECR's own wrapping of lifecycle validation failures.
        return (
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
            f"'Lifecycle policy validation failure: {exc.describe()}'"
        )
    return exc.describe()


def wire_error(exc: e.DockyardError, operation: str | None) -> tuple[str, int]:
    """(``__type``, HTTP status) for a domain error raised by ``operation``."""
    return ERRORS.wire_error(exc, operation)


ERRORS = ErrorMap(
    model=load_model(),
    table=WIRE,
    fallback="ServerException",
    by_operation=BY_OPERATION,
    message=wire_message,
    statuses=STATUS,
)
