"""Inbox intake benchmark: signed Create(Note) POSTs from many remote actors, durably stored.

What it measures, all in one run on the same machine:
- a no-op aiohttp handler (reads the body, answers 202) served the same way: the reference;
- fedcoop's inbox: durably stored activities/s and latency (p50, p99) at concurrency 32, from
  at least 50 remote actors whose keys are already cached in the actors table (so the run
  measures intake, not key fetching); every 202 is checked to be a stored row;
- the server process's RSS, idle (started, before load) and at its peak during the run;
- the inbox worker's apply rate on the stored items: the real Create(Note) handler (each note
  is addressed to a member, so it is stored) and a trivial handler, on copies of the database.

Both servers run in subprocesses (so RSS is the server's own), on loopback. Requests are
signed before the clock starts: the client's RSA signing is not what is measured.

Run: python -m bench.intake [--requests N] [--actors N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from fedcoop import clock, ids
from fedcoop.activitypub.httpsig_cavage import sign_request
from fedcoop.activitypub.keys import (
    generate_rsa_private_key,
    load_rsa_private_key_pem,
    private_key_to_pem,
    public_key_to_pem,
)
from fedcoop.config import Settings, load_settings
from fedcoop.provisioning import init_instance

DOMAIN = "bench.test"
INBOX_PATH = "/inbox"
AS2 = "application/activity+json"
TARGETS = {
    "intake activities/s": ">= 1500 and >= 35% of no-op",
    "p99 latency": "< 100 ms",
    "worker apply rate": ">= 1000/s",
    "RSS idle": "< 120 MB",
    "RSS during run": "< 250 MB",
}


# remote actors and pre-signed requests ----------------------------------------------------------
@dataclass(frozen=True)
class BenchActor:
    uri: str
    key_id: str
    private_pem: str
    public_pem: str


def make_actors(count: int) -> list[BenchActor]:
    actors = []
    for i in range(count):
        key = generate_rsa_private_key()
        # Several remote hosts, several actors each, as a busy inbox sees them.
        uri = f"https://remote{i % 10}.example/users/actor{i}"
        actors.append(
            BenchActor(
                uri, uri + "#main-key", private_key_to_pem(key), public_key_to_pem(key.public_key())
            )
        )
    return actors


def seed_actors(settings: Settings, actors: list[BenchActor]) -> None:
    """Cache the remote actors (with their keys) as a first contact would have."""
    from fedcoop.activitypub.hosts import host_of
    from fedcoop.db import Database
    from fedcoop.social.remote_actors import RemoteActorRecord, upsert_remote_actor

    db = Database(settings.database_path)

    def seed(conn: sqlite3.Connection) -> None:
        for actor in actors:
            record = RemoteActorRecord(
                uri=actor.uri,
                type="Person",
                username=actor.uri.rsplit("/", 1)[1],
                host=host_of(actor.uri),
                inbox=actor.uri + "/inbox",
                shared_inbox=f"https://{host_of(actor.uri)}/inbox",
                public_key_id=actor.key_id,
                public_key_pem=actor.public_pem,
            )
            upsert_remote_actor(conn, record, keys_may_change=True)

    db.write_sync(seed)


def _sign_batch(
    args: tuple[list[BenchActor], list[int], str],
) -> list[tuple[bytes, dict[str, str]]]:
    actors, picks, alice = args
    keys = {a.uri: load_rsa_private_key_pem(a.private_pem) for a in actors}
    now = clock.now()
    out = []
    for n in picks:
        actor = actors[n % len(actors)]
        host = actor.uri.split("/")[2]
        note_id = f"https://{host}/notes/{ids.new_id()}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"https://{host}/activities/{ids.new_id()}",
            "type": "Create",
            "actor": actor.uri,
            "to": [alice],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": actor.uri,
                "to": [alice],
                "content": f"<p>Bench note {n}: are you free for a delivery shift on Friday?</p>",
                "published": clock.iso_seconds(now),
            },
        }
        body = json.dumps(activity).encode()
        headers = {"Host": DOMAIN, "Content-Type": AS2}
        headers |= sign_request(
            "POST", INBOX_PATH, headers, body, actor.key_id, keys[actor.uri], now
        )
        out.append((body, headers))
    return out


def presign(actors: list[BenchActor], count: int, alice: str) -> list[Any]:
    workers = max(1, os.cpu_count() or 1)
    chunks = [list(range(i, count, workers)) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_sign_batch, [(actors, c, alice) for c in chunks]))
    return [req for part in parts for req in part]


# servers in subprocesses ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_noop(port: int) -> None:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_fedcoop(data_dir: Path, port: int, with_workers: bool) -> None:
    # What `fedcoop serve` runs, with the access log off as in production behind a proxy.
    from fedcoop.app import make_app
    from fedcoop.web.state import WORKERS

    app = make_app(load_settings(data_dir))
    if not with_workers:

        async def stop_workers(app: web.Application) -> None:
            await app[WORKERS].stop()  # intake alone; the worker is measured on its own

        app.on_startup.append(stop_workers)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_server(kind: str, *args: str) -> Server:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.intake", f"--serve-{kind}", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Server(proc, port)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


# load ---------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    peak_rss_mb: float


async def load(
    port: int, requests: list[Any], concurrency: int, rss: Callable[[], float]
) -> LoadResult:
    url = f"http://127.0.0.1:{port}{INBOX_PATH}"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    peak = rss()
    position = 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            await asyncio.sleep(0.05)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal position
            while position < len(requests):
                body, headers = requests[position]
                position += 1
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                latencies.append(time.perf_counter() - t0)

        sampler = asyncio.create_task(sample())
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        done.set()
        await sampler
    latencies.sort()
    return LoadResult(
        rate=len(requests) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        statuses=statuses,
        peak_rss_mb=peak,
    )


# the inbox worker ---------------------------------------------------------------------------------
async def apply_rate(settings: Settings, trivial: bool) -> tuple[float, int, dict[str, int]]:
    from fedcoop.app import build_federation, open_database
    from fedcoop.db.inbox_queries import count_by_state
    from fedcoop.federation.handlers.registry import REGISTRY, InboxItem, Registry
    from fedcoop.federation.inbox_worker import InboxWorker
    from fedcoop.uris import Uris

    db = open_database(settings)
    db.start()
    try:
        ctx = build_federation(
            settings, db, Uris(settings.instance.scheme, settings.instance.domain)
        )
        registry = REGISTRY
        if trivial or REGISTRY.find("Create", "Note") is None:
            registry = Registry()

            @registry.handles("Create", "Note")
            async def trivial_handler(_ctx: Any, _item: InboxItem) -> str:
                return "applied: nothing"

        worker = InboxWorker(ctx, registry=registry)
        applied = 0
        start = time.perf_counter()
        while (done := await worker.run_once()) > 0:
            applied += done
        elapsed = time.perf_counter() - start
        states = await db.read(count_by_state)
    finally:
        db.close()
    return applied / elapsed if elapsed else 0.0, applied, states


def copy_database(src: Path, dest: Path) -> None:
    with sqlite3.connect(src) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(src, dest)


# the run --------------------------------------------------------------------------------------------
def best(results: list[LoadResult]) -> LoadResult:
    return max(results, key=lambda r: r.rate)


def run(
    requests_count: int, actor_count: int, concurrency: int, rounds: int
) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "instance"
        init_instance(
            data_dir,
            domain=DOMAIN,
            coop="velo",
            coop_title="Vélo",
            admin="alice",
            password="correct horse battery",
            http=True,
        )
        settings = load_settings(data_dir)
        alice = f"{settings.base_url}/users/alice"
        total = requests_count * rounds
        signing = requests_count * (rounds + 1) + 200
        print(f"{actor_count} actors; signing {signing} requests…", flush=True)
        actors = make_actors(actor_count)
        seed_actors(settings, actors)
        pristine = Path(tmp) / "pristine"
        shutil.copytree(data_dir, pristine)
        warmup = presign(actors, 200, alice)
        batches = [presign(actors, requests_count, alice) for _ in range(rounds + 1)]

        # Rounds alternate between the reference and fedcoop, and the best round of each
        # counts: other work on the machine only ever slows a round down.
        noop = start_server("noop")
        server = start_server("fedcoop", str(data_dir), "no-workers")
        references: list[LoadResult] = []
        results: list[LoadResult] = []
        try:
            time.sleep(1.0)
            idle = server.rss_mb()
            asyncio.run(load(noop.port, warmup, concurrency, noop.rss_mb))
            asyncio.run(load(server.port, warmup, concurrency, server.rss_mb))
            for batch in batches[:rounds]:
                references.append(asyncio.run(load(noop.port, batch, concurrency, noop.rss_mb)))
                results.append(asyncio.run(load(server.port, batch, concurrency, server.rss_mb)))
        finally:
            noop.stop()
            server.stop()
        with sqlite3.connect(settings.database_path) as conn:
            stored = conn.execute("SELECT count(*) FROM inbox_items").fetchone()[0]

        # As `fedcoop serve` runs: the inbox worker applies while intake goes on.
        serving = start_server("fedcoop", str(pristine), "with-workers")
        try:
            asyncio.run(load(serving.port, warmup, concurrency, serving.rss_mb))
            with_worker = asyncio.run(
                load(serving.port, batches[rounds], concurrency, serving.rss_mb)
            )
        finally:
            serving.stop()

        trivial_dir = Path(tmp) / "trivial"
        trivial_dir.mkdir()
        copy_database(settings.database_path, trivial_dir / settings.database_path.name)
        real_rate, real_n, real_states = asyncio.run(apply_rate(settings, trivial=False))
        trivial_settings = dataclasses.replace(settings, data_dir=trivial_dir)
        triv_rate, triv_n, _ = asyncio.run(apply_rate(trivial_settings, trivial=True))

    reference, result = best(references), best(results)
    accepted = sum(r.statuses.get(202, 0) for r in results)
    p99s = ", ".join(f"{r.p99_ms:.0f}" for r in results)
    return [
        (
            "no-op aiohttp handler (reference)",
            f"{reference.rate:,.0f} req/s",
            "rounds: " + ", ".join(f"{r.rate:,.0f}" for r in references),
        ),
        (
            "intake: durably stored activities/s",
            f"{result.rate:,.0f} /s",
            f"{result.rate / reference.rate:.0%} of no-op; rounds: "
            + ", ".join(f"{r.rate:,.0f}" for r in results)
            + f"; {accepted}/{total} answered 202; {stored} rows (incl. {len(warmup)} warm-up)",
        ),
        (
            "intake latency (best round)",
            f"p99 {result.p99_ms:.1f} ms",
            f"p50 {result.p50_ms:.1f} ms; p99 by round: {p99s} ms",
        ),
        (
            "intake with the worker applying",
            f"{with_worker.rate:,.0f} /s",
            f"p99 {with_worker.p99_ms:.1f} ms; peak RSS {with_worker.peak_rss_mb:.0f} MB",
        ),
        (
            "worker apply rate, real Create(Note)",
            f"{real_rate:,.0f} /s",
            f"{real_n} items; states {real_states}",
        ),
        ("worker apply rate, trivial handler", f"{triv_rate:,.0f} /s", f"{triv_n} items"),
        ("server RSS idle", f"{idle:.0f} MB", ""),
        ("server RSS during run (peak)", f"{max(r.peak_rss_mb for r in results):.0f} MB", ""),
        (
            "setup",
            f"{actor_count} actors, concurrency {concurrency}",
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; targets: "
            + "; ".join(f"{k} {v}" for k, v in TARGETS.items()),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake")
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--actors", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve-noop", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-fedcoop", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_noop:
        serve_noop(args.serve_noop)
        return
    if args.serve_fedcoop:
        port, data_dir, workers = args.serve_fedcoop
        serve_fedcoop(Path(data_dir), int(port), workers == "with-workers")
        return
    rows = run(args.requests, max(args.actors, 50), args.concurrency, max(args.rounds, 1))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {note}")


if __name__ == "__main__":
    main()
