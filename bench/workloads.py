"""The six workloads. Each one does its (untimed) setup, then a timed phase during which the
server's process tree is sampled for RSS and CPU."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import registry
from .data import MANIFEST_ACCEPT, BlobSource, Image, make_image
from .httpclient import HTTPClient, Response, StatusError, get_into, target_of
from .servers import ResourceSampler, RunningServer

MiB = 1 << 20


@dataclass
class Config:
    blob_mib: int = 512
    small_images: int = 400
    small_concurrency: int = 16
    manifest_c1: int = 3000
    manifest_c32: int = 10000
    tags: int = 5000
    tag_page: int = 100
    tag_walks: int = 5
    push_repeats: int = 3
    pull_repeats: int = 9
    workload_timeout: float = 900.0

    @classmethod
    def quick(cls, blob_mib: int | None) -> Config:
        return cls(
            blob_mib=blob_mib or 64,
            small_images=80,
            manifest_c1=500,
            manifest_c32=2000,
            tags=1000,
            tag_walks=3,
            push_repeats=1,
            pull_repeats=2,
            workload_timeout=300.0,
        )

    @property
    def blob_size(self) -> int:
        return self.blob_mib * MiB

    @property
    def blob_timeout(self) -> float:
        """Per-request bound for one large-blob request: fails below ~2 MiB/s."""
        return 60.0 + self.blob_mib * 0.5


@dataclass
class Result:
    key: str
    title: str
    unit: str
    higher_is_better: bool
    ok: bool = False
    value: float | None = None
    detail: str = ""
    error: str | None = None
    note: str | None = None  # a caveat that makes the figure not like-for-like
    wall_s: float | None = None
    peak_rss: int | None = None
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None
    other_cpu_s: float | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "value": self.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "detail": self.detail,
            "error": self.error,
            "note": self.note,
            "timed_wall_s": self.wall_s,
            "peak_rss_bytes": self.peak_rss,
            "server_cpu_s": self.server_cpu_s,
            "client_cpu_s": self.client_cpu_s,
            "other_processes_cpu_s": self.other_cpu_s,
            "attempts": self.attempts,
            **self.extra,
        }


@dataclass
class Ctx:
    server: RunningServer
    cfg: Config
    block: bytes
    state: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0  # > 0 when a disturbed workload is rerun: fresh blobs, fresh repos
    # Further nodes of the same registry: the client spreads its connections over all.
    more_nodes: list[RunningServer] = field(default_factory=list)
    # Other processes of the deployment (a database, an object store), counted as the server.
    backing_pids: list[int] = field(default_factory=list)

    @property
    def nodes(self) -> list[RunningServer]:
        return [self.server, *self.more_nodes]

    @property
    def pids(self) -> list[int]:
        return [n.proc.pid for n in self.nodes] + self.backing_pids

    def client(self, pool: int, time_limit: float = 120.0) -> HTTPClient:
        return HTTPClient("127.0.0.1", [n.port for n in self.nodes], pool, time_limit)

    @contextmanager
    def timed(self, res: Result) -> Iterator[None]:
        """Time the block, sampling the server's RSS and CPU; record into `res`."""
        with ResourceSampler(*self.pids) as s:
            t0 = time.perf_counter()
            try:
                yield
            finally:
                res.wall_s = time.perf_counter() - t0
        res.peak_rss = s.usage.peak_rss
        res.server_cpu_s = s.usage.cpu_seconds
        res.client_cpu_s = s.client_cpu_seconds
        res.other_cpu_s = s.other_cpu_seconds


Workload = Callable[[Ctx, Result], Awaitable[None]]


def _pct(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    idx = min(len(sorted_vals) - 1, max(0, round(q * (len(sorted_vals) - 1))))
    return sorted_vals[idx]


async def _gather_workers(n: int, worker: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Run n workers; the first failure cancels the rest and is re-raised."""
    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            tg.create_task(worker(i))


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


# --- 1 and 2: large-blob pushes -------------------------------------------------------------


async def push_monolithic(ctx: Ctx, res: Result) -> None:
    cfg = ctx.cfg
    repo = "bench/large-mono"
    seed = 1000 + 100 * ctx.attempt
    srcs = [BlobSource(cfg.blob_size, seed + i, ctx.block) for i in range(cfg.push_repeats)]
    for src in srcs:
        src.digest()  # generating the data once to hash it is not part of the timing
    times: list[float] = []
    async with ctx.client(1, time_limit=cfg.blob_timeout) as c:
        single = await registry.supports_single_post(c, repo)
        res.extra["single_post"] = single
        upload = registry.upload_single_post if single else registry.upload_post_put
        with ctx.timed(res):
            for src in srcs:
                t0 = time.perf_counter()
                await upload(c, repo, src.digest(), src.pieces(), src.size, cfg.blob_timeout)
                times.append(time.perf_counter() - t0)
        for src in srcs:
            await _verify_blob_head(c, repo, src.digest(), src.size)
    if not single:
        res.note = (
            "answers POST ?digest= with 202 (no single-request upload): "
            "measured as POST + one PUT ?digest= carrying the whole body"
        )
    _median_rate(res, times, cfg.blob_mib, "" if single else " (POST+PUT)")
    ctx.state.setdefault("pull_blob", (repo, srcs[0]))


async def push_chunked(ctx: Ctx, res: Result) -> None:
    cfg = ctx.cfg
    repo = "bench/large-chunked"
    seed = 2000 + 100 * ctx.attempt
    srcs = [BlobSource(cfg.blob_size, seed + i, ctx.block) for i in range(cfg.push_repeats)]
    for src in srcs:
        src.digest()
    times: list[float] = []
    async with ctx.client(1, time_limit=cfg.blob_timeout) as c:
        with ctx.timed(res):
            for src in srcs:
                t0 = time.perf_counter()
                n = await registry.upload_chunked(c, repo, src, cfg.blob_timeout)
                times.append(time.perf_counter() - t0)
        for src in srcs:
            await _verify_blob_head(c, repo, src.digest(), src.size)
    _median_rate(res, times, cfg.blob_mib, "")
    res.extra["patches"] = n
    ctx.state.setdefault("pull_blob", (repo, srcs[0]))


def _median_rate(res: Result, times: list[float], mib: int, suffix: str) -> None:
    speeds = [mib / t for t in times]
    res.value = statistics.median(speeds)
    res.detail = "runs " + ", ".join(f"{s:.0f}" for s in speeds) + suffix
    res.extra["runs_mib_s"] = speeds


async def _verify_blob_head(c: HTTPClient, repo: str, digest: str, size: int) -> None:
    what = f"HEAD /v2/{repo}/blobs/{digest} after push"
    resp = registry.expect(await c.request("HEAD", f"/v2/{repo}/blobs/{digest}"), what, 200)
    cl = resp.header("content-length")
    if cl is not None and int(cl) != size:
        raise registry.RegistryError(f"{what}: Content-Length {cl} != {size}")


# --- 3: large-blob pull ---------------------------------------------------------------------

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def _pull_once(c: HTTPClient, repo: str, src: BlobSource, time_limit: float) -> None:
    port, target = c.next_port(), f"/v2/{repo}/blobs/{src.digest()}"
    for _hop in range(3):
        check = _BlobCheck(src)
        resp = await asyncio.to_thread(
            get_into, "127.0.0.1", port, target, check.sink_for, time_limit
        )
        if resp.status in _REDIRECTS:
            loc = resp.header("location") or ""
            where = urlsplit(loc)
            if where.hostname not in (None, "", "127.0.0.1"):
                raise registry.RegistryError(f"GET blob redirected off-host to {loc}")
            # Another port: an object store's presigned URL, fetched from there as clients do.
            port, target = where.port or port, target_of(loc)
            continue
        check.done()
        return
    raise registry.RegistryError("GET blob: too many redirects")


class _BlobCheck:
    """Checks a pulled blob as it arrives: status, digest header, size and every byte.

    The bytes are compared with what was pushed rather than hashed: on a shared machine a
    hashing client (one core at 1.1-1.5 GiB/s here) would set the pace for both servers.
    """

    def __init__(self, src: BlobSource) -> None:
        self.src = src
        self.got = 0
        self.error_body = bytearray()
        self.status = 0

    def sink_for(self, resp: Response) -> Callable[[memoryview], None]:
        self.status = resp.status
        if resp.status in _REDIRECTS:
            return lambda _: None
        if resp.status != 200:
            return lambda piece: self.error_body.extend(piece[: 600 - len(self.error_body)])
        digest = resp.header("docker-content-digest")
        if digest is not None and digest != self.src.digest():
            raise registry.RegistryError(
                f"GET blob: Docker-Content-Digest {digest} != {self.src.digest()}"
            )
        return self._compare

    def _compare(self, piece: memoryview) -> None:
        if not self.src.matches(self.got, piece):
            raise registry.RegistryError(
                f"GET blob: BYTES DIFFER from what was pushed within {len(piece)} bytes at "
                f"{self.got}"
            )
        self.got += len(piece)

    def done(self) -> None:
        if self.status != 200:
            raise registry.RegistryError(
                f"GET blob: HTTP {self.status} body={bytes(self.error_body)!r}"
            )
        if self.got != self.src.size:
            raise registry.RegistryError(
                f"GET blob: received {self.got} bytes, expected {self.src.size}"
            )


async def pull(ctx: Ctx, res: Result) -> None:
    cfg = ctx.cfg
    async with ctx.client(1, time_limit=cfg.blob_timeout) as c:
        if "pull_blob" not in ctx.state:
            # Both pushes failed: push one the plain way (untimed) so the pull can still run.
            src = BlobSource(cfg.blob_size, seed=3003, block=ctx.block)
            await registry.upload_post_put(
                c, "bench/large-pull", src.digest(), src.pieces(), src.size, cfg.blob_timeout
            )
            ctx.state["pull_blob"] = ("bench/large-pull", src)
        repo, src = ctx.state["pull_blob"]
        size = src.size
        times: list[float] = []
        await _pull_once(c, repo, src, cfg.blob_timeout)  # untimed: a cold first read
        with ctx.timed(res):
            for _ in range(cfg.pull_repeats):
                t0 = time.perf_counter()
                await _pull_once(c, repo, src, cfg.blob_timeout)
                times.append(time.perf_counter() - t0)
    _median_rate(res, times, size // MiB, "")
    # The client shares the machine's cores with the server; what a server spends per byte is
    # what decides how many clients elsewhere it can feed.
    if res.server_cpu_s is not None:
        per_gib = res.server_cpu_s / (cfg.pull_repeats * size / (1 << 30))
        res.detail += f"; server {per_gib:.2f} CPU-s/GiB"
        res.extra["server_cpu_s_per_gib"] = per_gib


# --- 4: small-image push rate ---------------------------------------------------------------


async def small_push(ctx: Ctx, res: Result) -> None:
    cfg = ctx.cfg
    conc = cfg.small_concurrency
    rng = random.Random(4004)
    images: list[tuple[str, str, Image]] = []
    for i in range(cfg.small_images):
        tag = f"img-{i}"
        repo = f"bench/small-{ctx.attempt}-{i % conc}"
        images.append((repo, tag, make_image(tag, 3, rng, 1024, 10240)))
    next_i = 0
    lat: list[float] = []

    async with ctx.client(conc) as c:

        async def worker(_: int) -> None:
            nonlocal next_i
            while next_i < len(images):
                repo, tag, img = images[next_i]
                next_i += 1
                t0 = time.perf_counter()
                await registry.push_image(c, repo, tag, img)
                lat.append(time.perf_counter() - t0)

        with ctx.timed(res):
            await _gather_workers(conc, worker)
        reqs = c.stats.requests
    assert res.wall_s is not None
    res.value = len(images) / res.wall_s
    lat.sort()
    res.detail = f"p50/p99 {_pct(lat, 0.5) * 1e3:.0f}/{_pct(lat, 0.99) * 1e3:.0f} ms per image"
    res.extra.update(
        requests=reqs,
        requests_per_s=reqs / res.wall_s,
        image_p50_ms=_pct(lat, 0.5) * 1e3,
        image_p99_ms=_pct(lat, 0.99) * 1e3,
        flow="per blob HEAD(404) + POST + PUT ?digest=; then PUT manifest by tag",
    )


# --- 5: manifest GET / HEAD -----------------------------------------------------------------


async def _manifest_setup(ctx: Ctx) -> tuple[str, str, Image]:
    if "manifest_image" not in ctx.state:
        repo, tag = "bench/manifest", "latest"
        img = make_image(tag, 2, random.Random(5005), 2048, 4096)
        async with ctx.client(1) as c:
            await registry.push_image(c, repo, tag, img)
        ctx.state["manifest_image"] = (repo, tag, img)
    return ctx.state["manifest_image"]  # type: ignore[no-any-return]


async def _manifest_rate(ctx: Ctx, res: Result, method: str, conc: int, count: int) -> None:
    repo, tag, img = await _manifest_setup(ctx)
    target = f"/v2/{repo}/manifests/{tag}"
    headers = {"Accept": MANIFEST_ACCEPT}
    want = img.manifest_digest
    size = len(img.manifest)

    def check(resp_status: int, hdrs: dict[str, str], body: bytes) -> None:
        if resp_status != 200:
            raise registry.RegistryError(
                f"{method} {target}: HTTP {resp_status} body={body[:400]!r}"
            )
        got = hdrs.get("docker-content-digest")
        if got != want:
            raise registry.RegistryError(
                f"{method} {target}: Docker-Content-Digest {got} != {want}"
            )
        if method == "GET":
            actual = "sha256:" + hashlib.sha256(body).hexdigest()
            if actual != want:
                raise registry.RegistryError(f"GET {target}: body digest {actual} != {want}")
        else:
            cl = hdrs.get("content-length")
            if cl is None or int(cl) != size:
                raise registry.RegistryError(f"HEAD {target}: Content-Length {cl} != {size}")

    lat: list[float] = []
    async with ctx.client(conc) as c:

        async def run(n: int, record: bool) -> None:
            remaining = n

            async def worker(_: int) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    t0 = time.perf_counter()
                    r = await c.request(method, target, headers=headers)
                    dt = time.perf_counter() - t0
                    check(r.status, r.headers, r.body)
                    if record:
                        lat.append(dt)

            await _gather_workers(conc, worker)

        await run(max(conc * 4, count // 20), record=False)  # warm-up: connections, caches
        connects_before = c.stats.connects
        with ctx.timed(res):
            await run(count, record=True)
        reconnects = c.stats.connects - connects_before
    assert res.wall_s is not None
    lat.sort()
    p50, p99 = _pct(lat, 0.5) * 1e3, _pct(lat, 0.99) * 1e3
    res.value = count / res.wall_s
    res.detail = f"p50/p99 {p50:.2f}/{p99:.2f} ms"
    res.extra.update(p50_ms=p50, p99_ms=p99, requests=count, new_connections=reconnects)
    if reconnects > conc:
        res.detail += f"; {reconnects} reconnects"


def _manifest_workload(method: str, conc: int) -> Workload:
    async def run(ctx: Ctx, res: Result) -> None:
        count = ctx.cfg.manifest_c1 if conc == 1 else ctx.cfg.manifest_c32
        await _manifest_rate(ctx, res, method, conc, count)

    return run


# --- 6: paginated tag walk ------------------------------------------------------------------

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


@dataclass
class _Walk:
    pages: int = 0
    largest_page: int = 0
    unsorted: bool = False


async def _tags_setup(ctx: Ctx) -> tuple[str, set[str]]:
    """Push 3 images and point cfg.tags tags at them (untimed; shared by both tag workloads)."""
    if "tags_repo" in ctx.state:
        return ctx.state["tags_repo"]  # type: ignore[no-any-return]
    cfg = ctx.cfg
    repo = "bench/tags"
    rng = random.Random(6006)
    imgs = [make_image(f"base-{k}", 1, rng, 1024, 2048) for k in range(3)]
    tags = [f"tag-{i}" for i in range(cfg.tags)]  # unpadded: lexical order != numeric order
    order = list(range(cfg.tags))
    rng.shuffle(order)
    async with ctx.client(16) as c:
        for k, img in enumerate(imgs):
            await registry.push_image(c, repo, f"base-{k}", img)
        pos = 0

        async def tagger(_: int) -> None:
            nonlocal pos
            while pos < len(order):
                i = order[pos]
                pos += 1
                img = imgs[i % len(imgs)]
                await registry.put_manifest(c, repo, tags[i], img.manifest, img.manifest_digest)

        await _gather_workers(16, tagger)
    ctx.state["tags_repo"] = (repo, {*tags, *(f"base-{k}" for k in range(3))})
    return ctx.state["tags_repo"]  # type: ignore[no-any-return]


async def _walk(c: HTTPClient, repo: str, first: str, expected: set[str], max_pages: int) -> _Walk:
    """Follow Link rel=next from `first` to the end; every expected tag exactly once."""
    w = _Walk()
    seen: Counter[str] = Counter()
    target: str | None = first
    prev_last: str | None = None
    while target is not None:
        w.pages += 1
        if w.pages > max_pages:
            raise registry.RegistryError(
                f"tag walk: more than {max_pages} pages; last target {target}"
            )
        r = registry.expect(await c.request("GET", target), f"GET {target}", 200)
        body = json.loads(r.body)
        page = body.get("tags") or []
        if body.get("name") != repo:
            raise registry.RegistryError(f"GET {target}: name {body.get('name')!r} != {repo!r}")
        w.largest_page = max(w.largest_page, len(page))
        if page != sorted(page) or (prev_last is not None and page and page[0] <= prev_last):
            w.unsorted = True
        if page:
            prev_last = page[-1]
        seen.update(page)
        link = r.header("link")
        m = _LINK_NEXT.search(link) if link else None
        target = target_of(m.group(1)) if m else None
    dupes = [t for t, n in seen.items() if n > 1]
    missing = expected - seen.keys()
    extra = seen.keys() - expected
    if dupes or missing or extra:
        raise registry.RegistryError(
            f"tag walk over {w.pages} pages: {len(missing)} missing "
            f"(e.g. {sorted(missing)[:5]}), {len(dupes)} seen more than once "
            f"(e.g. {sorted(dupes)[:5]}), {len(extra)} unexpected (e.g. {sorted(extra)[:5]})"
        )
    return w


async def _tags_workload(ctx: Ctx, res: Result, page_size: int | None) -> None:
    cfg = ctx.cfg
    repo, expected = await _tags_setup(ctx)
    first = f"/v2/{repo}/tags/list" + (f"?n={page_size}" if page_size else "")
    max_pages = len(expected) // (page_size or 1000) + 10
    walks: list[float] = []
    info = _Walk()
    async with ctx.client(1) as c:
        with ctx.timed(res):
            for _ in range(cfg.tag_walks):
                t0 = time.perf_counter()
                info = await _walk(c, repo, first, expected, max_pages)
                walks.append(time.perf_counter() - t0)
    res.value = statistics.median(walks) * 1e3
    res.detail = f"{info.pages} page{'s' if info.pages != 1 else ''}/walk"
    res.extra.update(
        walks_ms=[w * 1e3 for w in walks],
        pages=info.pages,
        largest_page=info.largest_page,
        lexically_sorted=not info.unsorted,
        tags_total=len(expected),
    )
    caveats = []
    if page_size and info.largest_page > page_size:
        caveats.append(
            f"ignores n={page_size}: returned {info.largest_page} tags in one page "
            f"({info.pages} request(s) per walk), so this is not like-for-like"
        )
    if page_size is None and info.pages > 1:
        caveats.append(
            f"paginates even without n: {info.pages} pages of at most {info.largest_page}"
        )
    if info.unsorted:
        caveats.append("tags not in lexical order")
    if caveats:
        res.note = "; ".join(caveats)


async def tags_walk(ctx: Ctx, res: Result) -> None:
    await _tags_workload(ctx, res, ctx.cfg.tag_page)


async def tags_all(ctx: Ctx, res: Result) -> None:
    await _tags_workload(ctx, res, None)


async def tag_create(ctx: Ctx, res: Result) -> None:
    """Point cfg.tags new tags at three pushed images, 16 PUTs at a time (timed): the write
    path of every CI pipeline that tags what it built."""
    cfg = ctx.cfg
    repo = f"bench/tagging-{ctx.attempt}"
    rng = random.Random(7007)
    imgs = [make_image(f"base-{k}", 1, rng, 1024, 2048) for k in range(3)]
    tags = [f"build-{i}" for i in range(cfg.tags)]
    lat: list[float] = []
    async with ctx.client(16) as c:
        for k, img in enumerate(imgs):
            await registry.push_image(c, repo, f"base-{k}", img)
        pos = 0

        async def tagger(_: int) -> None:
            nonlocal pos
            while pos < len(tags):
                i = pos
                pos += 1
                img = imgs[i % len(imgs)]
                t0 = time.perf_counter()
                await registry.put_manifest(c, repo, tags[i], img.manifest, img.manifest_digest)
                lat.append(time.perf_counter() - t0)

        with ctx.timed(res):
            await _gather_workers(16, tagger)
    assert res.wall_s is not None
    res.value = len(tags) / res.wall_s
    lat.sort()
    res.detail = f"p50/p99 {_pct(lat, 0.5) * 1e3:.2f}/{_pct(lat, 0.99) * 1e3:.2f} ms"


# --- registry of workloads ------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadSpec:
    key: str
    group: str  # the workload number in the brief (1-6)
    title: Callable[[Config], str]
    unit: str
    higher_is_better: bool
    run: Workload

    def disturbed(self, res: Result) -> float:
        """Share of a core that other processes used during the timed phase."""
        if not res.wall_s or res.other_cpu_s is None:
            return 0.0
        return res.other_cpu_s / res.wall_s

    def new_result(self, cfg: Config) -> Result:
        return Result(self.key, self.title(cfg), self.unit, self.higher_is_better)


def _manifest_spec(method: str, conc: int) -> WorkloadSpec:
    def title(cfg: Config) -> str:
        count = cfg.manifest_c1 if conc == 1 else cfg.manifest_c32
        return f"manifest {method} by tag, c={conc} ({count} req)"

    return WorkloadSpec(
        f"manifest_{method.lower()}_c{conc}", "5", title, "req/s", True,
        _manifest_workload(method, conc),
    )  # fmt: skip


WORKLOADS: list[WorkloadSpec] = [
    WorkloadSpec(
        "push_monolithic", "1",
        lambda c: f"blob push {c.blob_mib} MiB monolithic (median of {c.push_repeats})",
        "MiB/s", True, push_monolithic,
    ),
    WorkloadSpec(
        "push_chunked", "2",
        lambda c: f"blob push {c.blob_mib} MiB, 8 MiB PATCHes (median of {c.push_repeats})",
        "MiB/s", True, push_chunked,
    ),
    WorkloadSpec(
        "pull", "3",
        lambda c: f"blob pull {c.blob_mib} MiB byte-checked (median of {c.pull_repeats}, after 1)",
        "MiB/s", True, pull,
    ),
    WorkloadSpec(
        "small_push", "4",
        lambda c: f"small-image push c={c.small_concurrency} ({c.small_images} img)",
        "images/s", True, small_push,
    ),
    WorkloadSpec(
        "tag_create", "4",
        lambda c: f"tag creation c=16 ({c.tags} tags)",
        "tags/s", True, tag_create,
    ),
    _manifest_spec("GET", 1),
    _manifest_spec("HEAD", 1),
    _manifest_spec("GET", 32),
    _manifest_spec("HEAD", 32),
    WorkloadSpec(
        "tags_walk", "6",
        lambda c: f"tag walk {c.tags} tags n={c.tag_page} (median of {c.tag_walks})",
        "ms/walk", False, tags_walk,
    ),
    WorkloadSpec(
        "tags_all", "6",
        lambda c: f"tag list {c.tags} tags, no n (median of {c.tag_walks})",
        "ms/walk", False, tags_all,
    ),
]  # fmt: skip


def describe_error(exc: BaseException) -> str:
    exc = _unwrap(exc)
    if isinstance(exc, TimeoutError):
        return "timed out (TimeoutError)"
    if isinstance(exc, StatusError | registry.RegistryError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
