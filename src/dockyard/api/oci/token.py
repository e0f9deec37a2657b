"""``GET /``: a bearer token for Basic credentials, at the URL the challenge's realm names.

ECR challenges with ``Basic realm="https://<registry>/"``, and Basic is all that docker,
podman, skopeo and containerd use. Some clients run the distribution token flow whatever
the challenge's scheme: they GET the realm with the Basic credentials and expect
``{"token": ...}`` (oras-py's default backend does). Answering that request here keeps
the challenge exactly ECR's while those clients work too.

The token names the caller's access key, like the password it is exchanged for: same
rights, checked against the key on every use, expiring within the hour (never after the
password). ``service`` and ``scope`` are accepted and ignored; a token is never narrower
or wider than its password. The token is in the body only; nothing here logs it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.api.oci.auth import basic_password, challenge, split_authorization, unauthorized_body
from dockyard.services import Registry
from dockyard.services.identity import Unauthenticated

# RFC 6749 5.1: responses holding tokens must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def token_endpoint(request: Request) -> Response:
    registry: Registry = request.app.state.registry
    header = next((v for k, v in request.scope["headers"] if k == b"authorization"), None)
    try:
        if header is None:
            raise Unauthenticated("authentication required: send Basic credentials for user AWS")
        scheme, value = split_authorization(header)
        if scheme != "basic":
            # A bearer token must not buy another one: that would outlive its password.
            raise Unauthenticated("use HTTP Basic authentication with user AWS")
        issued = await registry.identity.exchange_password(basic_password(value))
    except Unauthenticated as exc:
        return Response(
            unauthorized_body(exc.describe()),
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": challenge(request.app.state.public_url)},
        )
    return JSONResponse(
        {
            # Both names: clients read one or the other (distribution's token spec).
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at.isoformat().replace("+00:00", "Z"),
        },
        headers=_NO_STORE,
    )
