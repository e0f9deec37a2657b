"""Probes for load balancers and orchestrators, unauthenticated and cheap.

``/livez``: the process answers (restart it when it does not). ``/healthz``: it
can do its work, i.e. reaches the database and the blob store (stop sending it
traffic when it cannot; restarting would not help).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.services import Registry


async def livez(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def healthz(request: Request) -> Response:
    registry: Registry = request.app.state.registry
    checks = await registry.health()
    healthy = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
