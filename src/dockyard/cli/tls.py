"""A renewed certificate taken up without a restart.

cert-manager, certbot and their kind replace the certificate and key files in place before
the old ones expire. Each server process looks at the files every ``tls_reload_interval``
and, when either changed, loads the pair into its live TLS context: connections made from
then on get the new certificate, open ones keep theirs. A pair that does not load (caught
half-written, or wrong) is logged and the old one kept; the next change is tried again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl

log = logging.getLogger(__name__)


def _stamp(*paths: str) -> tuple[tuple[int, int, int], ...] | None:
    try:
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in map(os.stat, paths))
    except OSError:
        return None


async def watch_certificate(context: ssl.SSLContext, cert: str, key: str, every: float) -> None:
    """Reload ``cert`` and ``key`` into ``context`` whenever they change; runs until
    cancelled."""
    loaded = _stamp(cert, key)
    while True:
        await asyncio.sleep(every)
        now = _stamp(cert, key)
        if now is None or now == loaded:
            continue
        loaded = now  # a change after this look is seen at the next one
        try:
            # Tried on a context of its own first: a certificate that loads into the live
            # context beside a key that does not match it would break every handshake.
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            log.warning(
                "TLS certificate %s changed but does not load (%s); serving the one before",
                cert,
                exc,
            )
        else:
            log.info("TLS certificate %s reloaded", cert)
