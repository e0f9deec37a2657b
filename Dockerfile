# Dockyard's container image: `docker build -t dockyard .` at the repository root.
# The deployments in deploy/ (compose and Helm) run this image.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOCKYARD_DATA_DIR=/var/lib/dockyard

# Every dependency ships a manylinux wheel for CPython 3.11, so no compiler is needed.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src

# A fixed uid/gid so volume ownership and Kubernetes' runAsUser/fsGroup can name it.
RUN groupadd --system --gid 10001 dockyard \
    && useradd --system --uid 10001 --gid dockyard --no-create-home \
       --home-dir /var/lib/dockyard --shell /usr/sbin/nologin dockyard \
    && install -d -o dockyard -g dockyard -m 0700 /var/lib/dockyard

USER 10001:10001
WORKDIR /var/lib/dockyard
EXPOSE 5000

# The slim image has no curl: ask /livez with the standard library, on the configured port.
# HTTPS when DOCKYARD_TLS_CERT is set (in a container, set TLS by environment, not in a
# config file); the certificate names the public host, not loopback, so it is not checked.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, ssl, urllib.request; tls = bool(os.environ.get('DOCKYARD_TLS_CERT')); urllib.request.urlopen('%s://127.0.0.1:%s/livez' % ('https' if tls else 'http', os.environ.get('DOCKYARD_PORT', '5000')), timeout=4, context=ssl._create_unverified_context() if tls else None)"]

ENTRYPOINT ["dockyard"]
CMD ["serve", "--host", "0.0.0.0"]
