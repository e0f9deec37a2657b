"""What a registry client is given: credentials and options. Apart from the client because
services build them at import and in settings, and the client's HTTP stack (httpx, about
7 MiB per process) should load only in a process that talks to another registry."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

__all__ = ["ClientOptions", "Credentials"]

MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password for a remote registry (or for its token service)."""

    username: str
    password: str = field(repr=False)

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Timeouts (seconds) and sizes of a registry client."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # longest silence while an answer (or a blob) arrives
    write_timeout: float = 60.0  # longest stall while a request body is sent
    pool_timeout: float = 60.0  # longest wait for a free connection
    max_connections: int = 16
    # Blobs up to this size are pushed in one PUT; larger ones in PATCH chunks of this size.
    chunk_size: int = 16 * MiB
    max_manifest_bytes: int = 4 * MiB
    max_redirects: int = 5
    # A blob download whose connection drops resumes (Range) at most this many times.
    resume_attempts: int = 3
    user_agent: str = "dockyard"
    # HTTPS_PROXY / NO_PROXY and SSL_CERT_FILE from the environment, as other tools read
    # them: a server that reaches registries through an egress proxy or a private CA.
    trust_env: bool = True
    # Check the registry's TLS certificate. Off only on an operator's explicit word (an
    # external registry registered as insecure, behind a self-signed certificate).
    verify_tls: bool = True
