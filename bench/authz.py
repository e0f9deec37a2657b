"""`python -m bench.authz`: what authorization costs a pull. Manifest GET by tag at
concurrency 32 against one Dockyard in its secure default mode (every request authenticated
and authorized), as the account's root and as an IAM user whose permission comes from a
policy (AWS's ``AmazonEC2ContainerRegistryReadOnly`` attached, plus an inline policy with a
condition, so the evaluation has statements to walk).

The two callers take turns, ``--rounds`` times each (root, user, root, user, ...), so that
whatever else the machine does falls on both alike; the figure is each caller's median
rate and their ratio. The goal (issue 12): the policy-bearing user within 10 % of the root.

Every response is checked (status 200, ``Docker-Content-Digest``, the body's digest).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from .data import MANIFEST_ACCEPT, Image, make_image
from .httpclient import HTTPClient
from .servers import DockyardSpec, cleanup, start_server, stop_server

ROOT_KEY_ID = "AKIADOCKYARDBENCHAUTHZ"
ROOT_SECRET = "dockyard-bench-authz-secret-0123456789a"
REPO, TAG = "bench/authz", "latest"
READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
GOAL = 0.90  # the user's rate over the root's


class SecureSpec(DockyardSpec):
    """Dockyard with authentication on (the bench's usual runs turn it off)."""

    WANTED_FLAGS = (("--log-level", "warning"),)
    authenticated = True  # GET /v2/ answers 401 when ready

    def env(self) -> dict[str, str]:
        return super().env() | {
            "DOCKYARD_ROOT_ACCESS_KEY_ID": ROOT_KEY_ID,
            "DOCKYARD_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        }


def say(message: str) -> None:
    print(message, flush=True)


def dockyard(spec: SecureSpec, data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", *args, "--data-dir", str(data_dir)],
        env=spec.env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def ecr_client(url: str, key: tuple[str, str]) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name="us-east-1"
    )
    return session.client("ecr", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def basic_header(ecr: Any) -> str:
    data = ecr.get_authorization_token()["authorizationData"][0]
    return f"Basic {data['authorizationToken']}"


def push(url: str, auth: str, image: Image) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": auth}, timeout=60) as http:
        for blob in (image.config, *image.layers):
            r = http.post(f"/v2/{REPO}/blobs/uploads/", params={"digest": blob.digest},
                          content=blob.data)  # fmt: skip
            r.raise_for_status()
        r = http.put(
            f"/v2/{REPO}/manifests/{TAG}",
            content=image.manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        r.raise_for_status()


async def rate(port: int, auth: str, want: str, count: int, concurrency: int) -> float:
    """Requests per second for ``count`` manifest GETs (after a warm-up)."""
    target = f"/v2/{REPO}/manifests/{TAG}"
    headers = {"Accept": MANIFEST_ACCEPT, "Authorization": auth}
    async with HTTPClient("127.0.0.1", port, concurrency) as client:

        async def run(n: int) -> None:
            remaining = n

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    r = await client.request("GET", target, headers=headers)
                    if r.status != 200:
                        raise RuntimeError(f"GET {target}: HTTP {r.status} {r.body[:300]!r}")
                    got = "sha256:" + hashlib.sha256(r.body).hexdigest()
                    if got != want or r.headers.get("docker-content-digest") != want:
                        raise RuntimeError(f"GET {target}: digest {got} != {want}")

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await run(max(concurrency * 4, count // 20))
        start = time.perf_counter()
        await run(count)
        return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.authz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=10_000, help="per run (default 10000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="runs per caller (default 5)")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the data dir goes")
    args = parser.parse_args(argv)

    spec = SecureSpec()
    srv = start_server(spec, args.tmp_dir)
    try:
        root = ecr_client(srv.base_url, (ROOT_KEY_ID, ROOT_SECRET))
        root.create_repository(repositoryName=REPO)
        image = make_image(TAG, 2, random.Random(12), 2048, 4096)
        root_auth = basic_header(root)
        push(srv.base_url, root_auth, image)

        dockyard(spec, srv.data_dir, "iam", "create-user", "bench-reader")
        dockyard(spec, srv.data_dir, "iam", "attach-policy", READ_ONLY, "--user", "bench-reader")
        inline = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PullOverLoopback",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": f"arn:aws:ecr:*:*:repository/{REPO}",
                    "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
                }
            ],
        }
        dockyard(
            spec, srv.data_dir, "iam", "put-policy", "pull", "--document", json.dumps(inline),
            "--user", "bench-reader",
        )  # fmt: skip
        out = dockyard(spec, srv.data_dir, "iam", "create-access-key", "--user", "bench-reader")
        keys = dict(line.split("=", 1) for line in out.split())
        user = ecr_client(srv.base_url, (keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"]))
        time.sleep(1.2)  # past the key cache
        user_auth = basic_header(user)

        rates: dict[str, list[float]] = {"root": [], "user": []}
        for round_ in range(args.rounds):
            for who, auth in (("root", root_auth), ("user", user_auth)):
                got = asyncio.run(
                    rate(srv.port, auth, image.manifest_digest, args.requests, args.concurrency)
                )
                rates[who].append(got)
                say(f"round {round_ + 1}: {who:4} {got:8.0f} req/s")
    finally:
        stop_server(srv)
        cleanup(srv)

    root_rate, user_rate = statistics.median(rates["root"]), statistics.median(rates["user"])
    ratio = user_rate / root_rate
    say(
        f"manifest GET c={args.concurrency}, {args.requests} requests per run, median of "
        f"{args.rounds}: root {root_rate:.0f} req/s, policy-bearing user {user_rate:.0f} req/s, "
        f"user/root {ratio:.3f} -> {'within' if ratio >= GOAL else 'NOT within'} 10 %"
    )
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
