"""The deployment files (Dockerfile, deploy/compose, deploy/helm) agree with the code.

No container engine or helm runs here, so these tests read the files: every ``dockyard``
option and ``DOCKYARD_*`` variable they use is one the code knows, and the values they give
pass the real settings validation; probes point at /healthz and /livez; the nodes share
their keys; the pieces point at each other (ports, names, credentials). The Helm chart is
rendered by ``helm_render`` (a Go-template subset), not by helm.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from dockyard.app import ROOT_KEY_ENV
from dockyard.auth import keys
from dockyard.cli.main import app
from dockyard.config import CONFIG_ENV, Settings, env_name, load_settings, parse_duration
from tests.deploy.helm_render import RequiredValueMissing, render_chart
from tests.support.tls import make_certificates

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_DIR = ROOT / "deploy" / "compose"
CHART = ROOT / "deploy" / "helm" / "dockyard"

# Every DOCKYARD_* variable the code reads: one per setting, the shared keys, the root key,
# and the config file's path.
KNOWN_ENV = (
    {env_name(f.name) for f in fields(Settings)}
    | {keys.SECRETS_KEY_ENV, keys.TOKENS_KEY_ENV, CONFIG_ENV}
    | set(ROOT_KEY_ENV)
)
SHARED_KEYS = {keys.SECRETS_KEY_ENV, keys.TOKENS_KEY_ENV, *ROOT_KEY_ENV}


def cli() -> Any:
    """The ``dockyard`` command as click sees it (a group: it has ``commands``)."""
    command = typer.main.get_command(app)
    assert hasattr(command, "commands")
    return command


def resolve_command(args: list[str]) -> tuple[Any, list[str]]:
    """The ``dockyard`` (sub)command that ``args`` names, and the arguments left."""
    command = cli()
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        assert args[0] in command.commands, f"dockyard has no command {args[0]!r}"
        command, args = command.commands[args[0]], args[1:]
    return command, args


def assert_real_invocation(args: list[str]) -> None:
    command, rest = resolve_command(args)
    assert not hasattr(command, "commands"), f"{args} names a group, not a command"
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    used = [a.split("=")[0] for a in rest if a.startswith("--")]
    unknown = sorted(set(used) - known)
    assert not unknown, f"dockyard {' '.join(args[:1])} has no option {unknown}"


# ---- Dockerfile -------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instruction(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def test_dockerfile_base_user_port_and_command() -> None:
    assert instruction("FROM") == ["python:3.11-slim-bookworm"]
    assert any(re.search(r"\bpip install \.(\s|$)", r) for r in instruction("RUN"))
    (user,) = instruction("USER")
    assert user.split(":")[0] not in ("0", "root")
    assert instruction("EXPOSE") == [str(Settings().port)]
    assert [json.loads(e) for e in instruction("ENTRYPOINT")] == [["dockyard"]]
    (cmd,) = [json.loads(c) for c in instruction("CMD")]
    assert cmd == ["serve", "--host", "0.0.0.0"]
    assert_real_invocation(cmd)


def test_dockerfile_copies_what_pip_install_needs_and_dockerignore_keeps_it() -> None:
    copied = {
        source.rstrip("/")
        for rest in instruction("COPY")
        if not rest.startswith("--from")
        for source in rest.split()[:-1]
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    readme = re.search(r'^readme = "([^"]+)"', pyproject, re.M)
    assert readme, "pyproject.toml names no readme"
    assert {"pyproject.toml", readme.group(1), "src"} <= copied
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    # Everything is ignored, then exactly what is copied is let back in.
    assert "*" in ignore
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= kept


class _Probe(http.server.BaseHTTPRequestHandler):
    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(params=["http", "https"])
def probe_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[int, type[_Probe], dict[str, str]]]:
    """A stand-in node answering ``/livez``, over HTTPS too, and the environment saying so."""
    handler = type("Handler", (_Probe,), {"paths": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    env = {"DOCKYARD_PORT": str(server.server_address[1])}
    if request.param == "https":
        _, cert, key = make_certificates(tmp_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        env |= {"DOCKYARD_TLS_CERT": str(cert), "DOCKYARD_TLS_KEY": str(key)}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler, env
    finally:
        server.shutdown()
        server.server_close()


def test_dockerfile_healthcheck_asks_livez_on_the_configured_port(
    probe_server: tuple[int, type[_Probe], dict[str, str]],
) -> None:
    _, handler, serving = probe_server
    (healthcheck,) = instruction("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"], "the slim image has no curl"
    env = {**os.environ, **serving}
    run = [sys.executable, *command[1:]]
    assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode == 0
    assert handler.paths == ["/livez"]
    handler.status = 503
    assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode != 0


# ---- compose ----------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in (COMPOSE_DIR / ".env.example").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def example_commands(name_pattern: str) -> list[str]:
    """The ``python3 -c ...`` generation commands in .env.example's comments."""
    text = (COMPOSE_DIR / ".env.example").read_text()
    return [
        m.group(1)
        for m in re.finditer(r"^#\s+(python3 -c .+)$", text, re.M)
        if re.search(name_pattern, m.group(1))
    ]


def compose() -> dict[str, Any]:
    document = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def interpolate(value: str, env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, kind, word = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name} must be set: {word}")
        return word or ""

    return INTERPOLATION.sub(one, value)


def filled_env() -> dict[str, str]:
    """.env.example with every empty value filled as its own commands would."""
    env = env_example()
    fills = {
        "DOCKYARD_SECRETS_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DOCKYARD_TOKENS_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DOCKYARD_ROOT_ACCESS_KEY_ID": "AKIA" + "A" * 16,
        "DOCKYARD_ROOT_SECRET_ACCESS_KEY": "s" * 40,
    }
    return {name: value or fills.get(name, "x" + name.lower()) for name, value in env.items()}


NODES = ("dockyard-1", "dockyard-2")


def node_env(service: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    raw = compose()["services"][service]["environment"]
    assert isinstance(raw, dict), "environment as a mapping"
    return {k: interpolate(str(v), env or filled_env()) for k, v in raw.items()}


def test_compose_has_two_nodes_of_the_image_behind_a_load_balancer() -> None:
    services = compose()["services"]
    assert set(NODES) <= set(services)
    images = {services[n]["image"] for n in NODES}
    assert len(images) == 1
    assert all(services[n]["build"]["context"] == "../.." for n in NODES)
    assert (COMPOSE_DIR / services[NODES[0]]["build"]["context"] / "Dockerfile").is_file()
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["seaweedfs"]["image"].startswith("chrislusf/seaweedfs")


def test_compose_uses_only_settings_the_code_knows_and_they_validate() -> None:
    for node in NODES:
        env = node_env(node)
        unknown = sorted(n for n in env if n.startswith("DOCKYARD_") and n not in KNOWN_ENV)
        assert not unknown
        settings = load_settings(environ=env)
        assert settings.storage_backend == "s3"
        assert settings.database_url.startswith("postgresql://")
        assert settings.log_format == "json"
        for name in SHARED_KEYS:
            if name in (keys.SECRETS_KEY_ENV, keys.TOKENS_KEY_ENV):
                keys.load_or_create(Path("/nonexistent"), "x", env[name])  # valid format


def test_compose_nodes_share_every_key_and_setting() -> None:
    raw = [compose()["services"][n]["environment"] for n in NODES]
    assert raw[0] == raw[1]
    for name in SHARED_KEYS:
        # From .env, the same variable for both nodes, and compose refuses to start without.
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", raw[0][name]), raw[0][name]
    assert set(env_example()) >= SHARED_KEYS


def test_env_example_names_every_variable_compose_reads() -> None:
    text = (COMPOSE_DIR / "compose.yaml").read_text()
    used = {m.group(1) for m in INTERPOLATION.finditer(text)}
    example = (COMPOSE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    assert used <= listed, sorted(used - listed)
    required = {m.group(1) for m in INTERPOLATION.finditer(text) if m.group(2) == "?"}
    assert required <= set(env_example()), "every required variable has a line to fill"


def test_compose_refuses_to_start_without_the_secrets() -> None:
    empty = env_example()
    with pytest.raises(KeyError, match="DOCKYARD_SECRETS_KEY"):
        node_env(NODES[0], {**filled_env(), "DOCKYARD_SECRETS_KEY": ""})
    assert all(value == "" for name, value in empty.items() if name in SHARED_KEYS)


def test_compose_healthchecks_and_start_order() -> None:
    services = compose()["services"]
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    for node in NODES:
        test = services[node]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        code = test[3]
        assert "/healthz" in code
        compile(code, "healthcheck", "exec")
        assert services[node]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "seaweedfs": {"condition": "service_healthy"},
        }
    assert services["lb"]["depends_on"] == {n: {"condition": "service_healthy"} for n in NODES}
    assert "/livez" in " ".join(services["lb"]["healthcheck"]["test"])


def test_compose_nodes_point_at_postgres_and_seaweedfs() -> None:
    document = compose()
    services = document["services"]
    env = filled_env()
    settings = load_settings(environ=node_env(NODES[0], env))
    database = urlsplit(settings.database_url)
    postgres = {k: interpolate(v, env) for k, v in services["postgres"]["environment"].items()}
    assert database.hostname == "postgres" and database.port == 5432
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path == "/" + postgres["POSTGRES_DB"]

    seaweed = services["seaweedfs"]["command"]
    assert seaweed[0] == "server" and "-s3" in seaweed
    s3 = urlsplit(settings.s3_endpoint_url)
    assert s3.hostname == "seaweedfs"
    assert f"-s3.port={s3.port}" in seaweed
    (config_flag,) = [a for a in seaweed if a.startswith("-s3.config=")]
    (mount,) = services["seaweedfs"]["configs"]
    assert mount["target"] == config_flag.split("=", 1)[1]
    identities = json.loads(interpolate(document["configs"][mount["source"]]["content"], env))
    credentials = [c for i in identities["identities"] for c in i["credentials"]]
    assert {"accessKey": settings.s3_access_key_id, "secretKey": settings.s3_secret_access_key} in (
        credentials
    )
    # Clients cannot resolve the compose network's names: the nodes proxy blob bytes.
    assert settings.blob_redirect is False


def nginx() -> str:
    return re.sub(r"#.*", "", (COMPOSE_DIR / "nginx.conf").read_text())


def directive(name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", nginx(), re.M)


def test_load_balancer_streams_unlimited_bodies_to_both_nodes() -> None:
    services = compose()["services"]
    conf_mount = [v for v in services["lb"]["volumes"] if v.startswith("./nginx.conf:")]
    assert conf_mount
    upstream = {s.split()[0] for s in directive("server") if ":" in s.split()[0]}
    port = Settings().port
    assert upstream == {f"{node}:{port}" for node in NODES}
    assert directive("client_max_body_size") == ["0"]
    assert directive("proxy_request_buffering") == ["off"]
    assert directive("proxy_buffering") == ["off"]
    assert directive("proxy_http_version") == ["1.1"]
    for timeout in ("proxy_read_timeout", "proxy_send_timeout", "client_body_timeout"):
        (value,) = directive(timeout)
        assert parse_duration(value).total_seconds() >= 300, timeout
    # SigV4 signs the Host header: the nodes must see the client's, port included.
    assert "Host $http_host" in directive("proxy_set_header")
    (listen,) = directive("listen")
    assert any(p.endswith(f":{listen}") for p in services["lb"]["ports"])
    # nginx must drop an idle upstream connection before the node does.
    (idle,) = directive("keepalive_timeout")
    node = load_settings(environ=node_env(NODES[0]))
    assert parse_duration(idle) < node.keep_alive_timeout


def test_env_example_commands_make_values_the_server_accepts() -> None:
    (key_command,) = example_commands("urlsafe_b64encode")
    made = subprocess.run(
        [sys.executable, "-c", key_command.split("-c ", 1)[1].strip().strip('"')],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert keys.load_or_create(Path("/nonexistent"), "x", made) == made.encode()
    if shutil.which("openssl"):
        made = subprocess.run(
            "openssl rand -base64 32 | tr '+/' '-_'",
            shell=True,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        keys.load_or_create(Path("/nonexistent"), "x", made)
    (access_key_command,) = example_commands("AKIA")
    made = subprocess.run(
        [sys.executable, "-c", access_key_command.split("-c ", 1)[1].strip().strip('"')],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", made)


# ---- Helm ---------------------------------------------------------------------------------

FULL_VALUES: dict[str, Any] = {
    "dockyard": {"publicUrl": "https://registry.example.com"},
    "database": {"url": "postgresql://dockyard:pw@postgres-rw:5432/dockyard"},
    "s3": {
        "endpointUrl": "http://seaweedfs-s3.storage:8333",
        "accessKeyId": "access",
        "secretAccessKey": "secret",
    },
    "keys": {
        "secretsKey": base64.urlsafe_b64encode(b"s" * 32).decode(),
        "tokensKey": base64.urlsafe_b64encode(b"t" * 32).decode(),
        "rootAccessKeyId": "AKIAAAAAAAAAAAAAAAAA",
        "rootSecretAccessKey": "root-secret",
    },
    "ingress": {"enabled": True},
}


def container(document: dict[str, Any]) -> dict[str, Any]:
    (only,) = document["spec"]["template"]["spec"]["containers"]
    return only


def pod_environment(rendered: Any) -> dict[str, str]:
    """What a node's process sees: the ConfigMap, then each env entry resolved."""
    configmap = rendered.find("ConfigMap")
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in rendered.documents()
        if d["kind"] == "Secret"
    }
    node = container(rendered.find("Deployment"))
    (source,) = node["envFrom"]
    assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
    env = dict(configmap["data"])
    for entry in node["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] in secrets, f"{entry['name']} names a Secret the chart lacks"
            assert ref["key"] in secrets[ref["name"]], f"{entry['name']}: no key {ref['key']}"
            env[entry["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def test_helm_nodes_get_only_known_settings_and_they_validate() -> None:
    rendered = render_chart(CHART, FULL_VALUES)
    env = pod_environment(rendered)
    assert set(env) <= KNOWN_ENV, sorted(set(env) - KNOWN_ENV)
    settings = load_settings(environ=env)
    assert settings.storage_backend == "s3"
    assert settings.database_url == FULL_VALUES["database"]["url"]
    assert settings.s3_access_key_id == "access"
    assert settings.public_url == "https://registry.example.com"
    assert settings.workers >= 1, "in a pod, 0 would mean the host's cores"
    for name in (keys.SECRETS_KEY_ENV, keys.TOKENS_KEY_ENV):
        keys.load_or_create(Path("/nonexistent"), "x", env[name])
    assert set(env) >= SHARED_KEYS


def test_helm_every_node_takes_its_keys_from_one_secret() -> None:
    rendered = render_chart(CHART, FULL_VALUES)
    deployment = rendered.find("Deployment")
    assert deployment["spec"]["replicas"] == 2
    entries = {e["name"]: e for e in container(deployment)["env"]}
    refs = {entries[name]["valueFrom"]["secretKeyRef"]["name"] for name in SHARED_KEYS}
    assert len(refs) == 1  # one Secret, so every replica has the same keys
    secret = rendered.find("Secret", deployment["metadata"]["name"])
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_helm_existing_secrets_as_cloudnativepg_makes_them() -> None:
    values = {
        **FULL_VALUES,
        "keys": {"existingSecret": "dockyard-keys"},
        "database": {"existingSecret": "pg-app", "existingSecretKey": "uri"},
        "s3": {"existingSecret": "s3-creds", "endpointUrl": ""},
    }
    rendered = render_chart(CHART, values)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in rendered.documents()]
    assert ("Secret", "registry-dockyard") not in kinds
    env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container(rendered.find("Deployment"))["env"]
    }
    assert env["DOCKYARD_DATABASE_URL"] == {"name": "pg-app", "key": "uri"}
    assert env[keys.SECRETS_KEY_ENV] == {"name": "dockyard-keys", "key": keys.SECRETS_KEY_ENV}
    assert env["DOCKYARD_S3_ACCESS_KEY_ID"] == {"name": "s3-creds", "key": "AWS_ACCESS_KEY_ID"}
    job_env = {e["name"]: e for e in container(rendered.find("Job"))["env"]}
    assert (
        job_env["DOCKYARD_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        == env["DOCKYARD_DATABASE_URL"]
    )


def test_helm_without_s3_credentials_uses_the_pods_aws_identity() -> None:
    values = {**FULL_VALUES, "s3": {"endpointUrl": ""}}
    env = pod_environment(render_chart(CHART, values))
    assert "DOCKYARD_S3_ACCESS_KEY_ID" not in env
    assert load_settings(environ=env).s3_endpoint_url == ""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dockyard": {"publicUrl": ""}}, "publicUrl"),
        ({"keys": {"secretsKey": ""}}, "secretsKey"),
        ({"database": {"url": ""}}, "database"),
    ],
)
def test_helm_refuses_to_render_without_required_values(
    values: dict[str, Any], message: str
) -> None:
    merged = {k: {**FULL_VALUES.get(k, {}), **v} for k, v in values.items()}
    with pytest.raises(RequiredValueMissing, match=message):
        render_chart(CHART, {**FULL_VALUES, **merged})


def test_helm_probes() -> None:
    node = container(render_chart(CHART, FULL_VALUES).find("Deployment"))
    ports = {p["name"]: p["containerPort"] for p in node["ports"]}
    assert node["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert node["livenessProbe"]["httpGet"]["path"] == "/livez"
    for probe in ("readinessProbe", "livenessProbe"):
        assert node[probe]["httpGet"]["port"] in ports
    assert set(ports.values()) == {5000}


def test_helm_nodes_serve_tls_from_a_named_secret() -> None:
    plain = container(render_chart(CHART, FULL_VALUES).find("Deployment"))
    assert not any(e["name"].startswith("DOCKYARD_TLS_") for e in plain["env"])
    assert "scheme" not in plain["readinessProbe"]["httpGet"]

    rendered = render_chart(CHART, {**FULL_VALUES, "tls": {"existingSecret": "registry-tls"}})
    pod = rendered.find("Deployment")["spec"]["template"]["spec"]
    node = container(rendered.find("Deployment"))
    env = pod_environment(rendered)
    (mount,) = [m for m in node["volumeMounts"] if m["name"] == "tls"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert volume["secret"] == {"secretName": "registry-tls"}
    assert mount["readOnly"] is True and "subPath" not in mount  # so renewals reach the pod
    # The kubernetes.io/tls Secret's two keys, as files where the settings look.
    assert env["DOCKYARD_TLS_CERT"] == f"{mount['mountPath']}/tls.crt"
    assert env["DOCKYARD_TLS_KEY"] == f"{mount['mountPath']}/tls.key"
    assert set(env) <= KNOWN_ENV
    for probe in ("readinessProbe", "livenessProbe"):
        assert node[probe]["httpGet"]["scheme"] == "HTTPS"


def test_helm_container_runs_a_real_command_as_non_root() -> None:
    rendered = render_chart(CHART, FULL_VALUES)
    deployment = rendered.find("Deployment")
    node = container(deployment)
    assert node["args"][0] == "serve"
    assert_real_invocation(node["args"])
    port = node["args"][node["args"].index("--port") + 1]
    assert int(port) == node["ports"][0]["containerPort"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    assert instruction("USER") == ["10001:10001"]
    mounts = {m["mountPath"] for m in node["volumeMounts"]}
    assert "/var/lib/dockyard" in mounts  # the data dir is writable under a read-only root


def test_helm_database_upgrade_runs_as_a_hook_before_the_pods_change() -> None:
    rendered = render_chart(CHART, FULL_VALUES)
    job = rendered.find("Job")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    # Hooks run before the release's own Secret exists: the job's comes first, as a hook.
    ref = container(job)["env"][-1]["valueFrom"]["secretKeyRef"]
    hook_secret = rendered.find("Secret", ref["name"])
    secret_hooks = hook_secret["metadata"]["annotations"]
    assert secret_hooks["helm.sh/hook"] == hooks["helm.sh/hook"]
    assert int(secret_hooks["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    assert hook_secret["stringData"][ref["key"]] == FULL_VALUES["database"]["url"]
    assert container(job)["args"] == ["db", "upgrade"]
    off = render_chart(
        CHART, {**FULL_VALUES, "database": {**FULL_VALUES["database"], "migrateOnUpgrade": False}}
    )
    assert [d for d in off.documents() if d["kind"] == "Job"] == []


def test_helm_hook_command_exists() -> None:
    args = container(render_chart(CHART, FULL_VALUES).find("Job"))["args"]
    if args[0] not in cli().commands:
        pytest.skip(f"`dockyard {args[0]}` is not in this checkout yet (issue 13 adds it)")
    assert_real_invocation(args)


def test_helm_ingress_streams_unlimited_bodies_to_the_service() -> None:
    rendered = render_chart(CHART, FULL_VALUES)
    ingress = rendered.find("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    service = rendered.find("Service")
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    selector = service["spec"]["selector"]
    pod_labels = rendered.find("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    off = render_chart(CHART, {**FULL_VALUES, "ingress": {"enabled": False}})
    assert [d for d in off.documents() if d["kind"] == "Ingress"] == []


def test_helm_extra_settings_become_dockyard_variables() -> None:
    values = {
        **FULL_VALUES,
        "dockyard": {**FULL_VALUES["dockyard"], "extraSettings": {"gc_interval": "30m"}},
    }
    env = pod_environment(render_chart(CHART, values))
    assert load_settings(environ=env).gc_interval.total_seconds() == 1800


def test_helm_config_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        deployment = render_chart(CHART, values).find("Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    changed = {**FULL_VALUES, "dockyard": {**FULL_VALUES["dockyard"], "workers": 4}}
    assert checksum(FULL_VALUES) != checksum(changed)


def test_helm_notes_render() -> None:
    notes = render_chart(CHART, FULL_VALUES).notes
    assert "https://registry.example.com" in notes
    assert "/healthz" in notes and "/livez" in notes


# ---- README ------------------------------------------------------------------------------


def test_readme_running_at_scale_names_only_known_variables() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Running at scale")
    section = text[start : text.index("\n## ", start + 1)]
    named = set(re.findall(r"\bDOCKYARD_[A-Z0-9_]*[A-Z0-9]\b", section))  # not DOCKYARD_S3_*
    assert named, "the section names the variables nodes need"
    assert named <= KNOWN_ENV, sorted(named - KNOWN_ENV)
    assert named >= SHARED_KEYS
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", section))
    known = {
        o
        for command in (["serve"], ["jobs"])
        for p in resolve_command(command)[0].params
        for o in (*p.opts, *p.secondary_opts)
    }
    # Options of commands other than these are checked where those commands exist.
    other = {"--to", "--from", "--dry-run", "--data-dir", "--config"}
    assert options - other <= known, sorted(options - other - known)


def test_deploy_readme_sets_only_values_the_chart_has() -> None:
    text = (ROOT / "deploy" / "README.md").read_text()
    paths = re.findall(r"--set '?([\w.\[\]]+)=", text)
    assert paths, "deploy/README.md shows a helm install"
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in paths:
        value: Any = defaults
        for part in path.split("."):
            name, index = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part).groups()  # type: ignore[union-attr]
            assert isinstance(value, dict) and name in value, f"values.yaml has no {path}"
            value = value[name] if index is None else value[name][int(index)]
    named = set(re.findall(r"\bDOCKYARD_[A-Z0-9_]*[A-Z0-9]\b", text))
    assert named <= KNOWN_ENV, sorted(named - KNOWN_ENV)


def connections_per_process() -> tuple[int, int]:
    """(kept, overflow) of one process's PostgreSQL pool, from the engine the server makes."""
    from dockyard.metadata.database import create_database_engine

    try:
        engine = create_database_engine("postgresql://u:p@127.0.0.1:1/db")  # never connects
    except ModuleNotFoundError as exc:
        pytest.skip(f"no PostgreSQL driver installed: {exc}")
    try:
        return engine.pool.size(), engine.pool._max_overflow  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_readme_and_deployments_size_postgresql_connections_for_the_real_pool() -> None:
    kept, overflow = connections_per_process()
    per_process = kept + overflow
    text = (ROOT / "README.md").read_text()
    stated = re.search(r"up to (\d+)\s+connections today \((\d+) kept, (\d+) more", text)
    assert stated, "README's sizing note states the pool per worker process"
    assert tuple(map(int, stated.groups())) == (per_process, kept, overflow)

    services = compose()["services"]
    (max_connections,) = [
        int(a.split("=")[1]) for a in services["postgres"]["command"] if "max_connections" in a
    ]
    workers = load_settings(environ=node_env(NODES[0])).workers
    assert max_connections > len(NODES) * workers * per_process

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    chart_peak = values["replicaCount"] * values["dockyard"]["workers"] * per_process
    example = re.search(r'max_connections: "(\d+)"', (ROOT / "deploy" / "README.md").read_text())
    assert example and int(example.group(1)) > chart_peak
