"""Native TLS: ``--tls-cert`` and ``--tls-key`` serve HTTPS on the registry's one port, to
clients that verify the certificate (skopeo with a CA of its own, boto3, httpx)."""

from __future__ import annotations

import gzip
import json
import random
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from cryptography import x509

from tests.support.ecr import login_password, make_client
from tests.support.images import OCI_LAYER_GZIP, Blob, image_from_layers, write_oci_layout
from tests.support.servers import DockyardProcess
from tests.support.tls import make_certificates
from tests.support.tools import sha256_file, skopeo

pytestmark = pytest.mark.timeout(180)


class HttpsDockyard(DockyardProcess):
    scheme = "https"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, certificates: tuple[Path, Path, Path]
) -> Iterator[HttpsDockyard]:
    ca, cert, key = certificates
    proc = HttpsDockyard(
        tmp_path_factory.mktemp("tls-data"),
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
        open_access=False,
        env={"DOCKYARD_WORKERS": "2"},
    )
    proc.verify = ssl.create_default_context(cafile=str(ca))
    with proc.serving():
        yield proc


def _ecr(server: HttpsDockyard, ca: Path) -> Any:
    return make_client(server.url, verify=str(ca))


def test_the_ecr_api_and_the_login_endpoint_are_https(
    server: HttpsDockyard, certificates: tuple[Path, Path, Path]
) -> None:
    ecr = _ecr(server, certificates[0])
    made = ecr.create_repository(repositoryName="tls/app")["repository"]
    assert made["repositoryUri"] == f"{server.host}/tls/app"
    login = ecr.get_authorization_token()["authorizationData"][0]
    assert login["proxyEndpoint"] == server.url
    # The challenge names the HTTPS realm, so a client logs in where it asked.
    challenge = httpx.get(f"{server.url}/v2/", verify=server.verify)
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith(f'Basic realm="{server.url}"')


def test_skopeo_pushes_and_pulls_checking_the_certificate(
    server: HttpsDockyard, certificates: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ca, _, _ = certificates
    trusted = tmp_path / "certs.d"
    trusted.mkdir()
    (trusted / "ca.crt").write_bytes(ca.read_bytes())
    # Big enough that its body is many TLS records (the plain-HTTP path sends it with
    # sendfile, which must never be used on an encrypted connection).
    # Compressed already, so skopeo pushes it as it is.
    data = gzip.compress(random.Random("tls-layer").randbytes(24 << 20), compresslevel=1)
    layer = Blob(OCI_LAYER_GZIP, data)
    image = image_from_layers([layer])
    layout = write_oci_layout(tmp_path / "layout", {"v1": image})
    ecr = _ecr(server, ca)
    ecr.create_repository(repositoryName="tls/pushed")
    # The usual guard of a repository that must never be reached in the clear: it holds here.
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": insecure}
    ecr.set_repository_policy(
        repositoryName="tls/pushed",
        policyText=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
        force=True,  # it would lock out a caller in the clear, which is the point
    )
    creds = f"AWS:{login_password(ecr)}"
    target = f"docker://{server.host}/tls/pushed:v1"

    untrusted = skopeo(
        "copy", "--dest-creds", creds, f"oci:{layout}:v1", target, check=False
    )  # fmt: skip
    assert untrusted.returncode != 0
    assert "certificate" in untrusted.stderr, untrusted.stderr

    skopeo(
        "copy", "--dest-cert-dir", str(trusted), "--dest-creds", creds, f"oci:{layout}:v1", target
    )
    pulled = tmp_path / "pulled"
    skopeo("copy", "--src-cert-dir", str(trusted), "--src-creds", creds, target, f"oci:{pulled}:v1")
    blob = pulled / "blobs" / "sha256" / layer.digest[7:]
    assert sha256_file(blob) == layer.digest

    with httpx.Client(base_url=server.url, verify=server.verify, auth=("AWS", creds[4:])) as v2:
        part = v2.get(f"/v2/tls/pushed/blobs/{layer.digest}", headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == layer.data[1000:2000]


def test_plain_http_on_the_https_port_is_refused_and_harmless(server: HttpsDockyard) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{server.host}/v2/", timeout=5)
    assert httpx.get(f"{server.url}/v2/", verify=server.verify).status_code == 401
    assert "Traceback" not in server.log_text()


def test_an_idle_pooled_connection_does_not_hold_a_drain(
    tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    proc = HttpsDockyard(
        tmp_path / "data", extra_args=["--tls-cert", str(cert), "--tls-key", str(key)]
    )
    proc.verify = ssl.create_default_context(cafile=str(ca))
    proc.start_ready()
    # As a client's connection pool keeps one: a request answered, then nothing, never
    # reading again (so never answering the server's close_notify).
    with socket.create_connection(("127.0.0.1", proc.port)) as raw:
        pooled = proc.verify.wrap_socket(raw, server_hostname="127.0.0.1")
        pooled.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {proc.host}\r\n\r\n".encode())
        assert pooled.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert proc.stop(timeout=25) == 0
        # uvloop's own wait for the peer's close_notify is 30 s.
        assert time.monotonic() - started < 10


def _served_serial(port: int, trusted: ssl.SSLContext) -> int:
    raw = socket.create_connection(("127.0.0.1", port))
    with trusted.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_a_renewed_certificate_is_served_without_a_restart(
    tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(cert.read_bytes())
    live_key.write_bytes(key.read_bytes())
    new_ca, new_cert, new_key = make_certificates(tmp_path / "renewed")
    both = ssl.create_default_context(cadata=ca.read_text() + new_ca.read_text())
    proc = HttpsDockyard(
        tmp_path / "data",
        extra_args=["--tls-cert", str(live_cert), "--tls-key", str(live_key)],
        env={"DOCKYARD_WORKERS": "2", "DOCKYARD_TLS_RELOAD_INTERVAL": "1s"},
    )
    proc.verify = both
    with proc.serving():
        # Both workers up (each loads the pair as it starts), so that what follows is
        # their reloading, not a late start.
        deadline = time.monotonic() + 30
        while proc.log_text().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, proc.log_text()[-3000:]
            time.sleep(0.1)
        old = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
        renewed = x509.load_pem_x509_certificate(new_cert.read_bytes()).serial_number
        assert _served_serial(proc.port, both) == old

        # A half-written pair is not taken up: the one before goes on being served.
        live_cert.write_bytes(new_cert.read_bytes()[:100])
        time.sleep(2.5)
        assert {_served_serial(proc.port, both) for _ in range(6)} == {old}
        assert "does not load" in proc.log_text()

        # Replaced as cert-manager and certbot do, by renaming the new files in place.
        for new, live in ((new_key, live_key), (new_cert, live_cert)):
            staged = live.with_suffix(".new")
            staged.write_bytes(new.read_bytes())
            staged.rename(live)
        deadline = time.monotonic() + 10
        served = set()
        while time.monotonic() < deadline:
            # Several connections, so that both worker processes answer.
            served = {_served_serial(proc.port, both) for _ in range(8)}
            if served == {renewed}:
                break
            time.sleep(0.3)
        assert served == {renewed}
        assert httpx.get(f"{proc.url}/v2/", verify=both).status_code == 200


def test_a_worker_replaced_mid_renewal_serves_the_node_s_first_pair(
    tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    live_cert = tmp_path / "live.crt"
    live_cert.write_bytes(cert.read_bytes())
    proc = HttpsDockyard(
        tmp_path / "data",
        extra_args=["--tls-cert", str(live_cert), "--tls-key", str(key)],
        env={"DOCKYARD_WORKERS": "2", "DOCKYARD_TLS_RELOAD_INTERVAL": "1h"},
    )
    proc.verify = ssl.create_default_context(cafile=str(ca))
    with proc.serving():
        node = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while proc.log_text().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, proc.log_text()[-3000:]
            time.sleep(0.1)
        # The files caught half-written just as a worker dies: its replacement cannot load
        # them. It must neither refuse connections nor, failing again and again, stop the node.
        live_cert.write_bytes(cert.read_bytes()[:100])
        victim = node.children()[0]
        victim.kill()
        victim.wait(10)
        failures: list[str] = []
        until = time.monotonic() + 8  # past the supervisor's five quick exits
        while time.monotonic() < until:
            try:
                _served_serial(proc.port, proc.verify)
            except OSError as exc:
                failures.append(repr(exc))
        assert not failures, failures[:5]
        assert "serving the one the node started with" in proc.log_text()
        assert len(node.children()) == 2 and proc.running


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--tls-cert", "{cert}"], "tls_cert and tls_key go together"),
        (["--tls-cert", "{cert}", "--tls-key", "{ca}"], "does not load"),
        (["--tls-cert", "{missing}", "--tls-key", "{key}"], "does not load"),
    ],
)
def test_tls_settings_that_cannot_work_stop_the_server_saying_why(
    certificates: tuple[Path, Path, Path], tmp_path: Path, args: list[str], said: str
) -> None:
    ca, cert, key = certificates
    paths = {"ca": ca, "cert": cert, "key": key, "missing": tmp_path / "none.crt"}
    argv = [a.format(**paths) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "serve", "--data-dir", str(tmp_path / "d"), *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
