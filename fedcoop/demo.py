"""`fedcoop demo`: a small local federation of coops with sample data, on loopback.

Three instances on 127.0.0.1:8001..8003 (plain http, private network allowed), each with its
coop, an admin and a few members, served from one process. Data lives in `--dir`; a second
run reuses it. Sample data grows as features land (gigs, memberships, votes).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from fedcoop.app import make_app
from fedcoop.config import CONFIG_FILE, load_settings
from fedcoop.demo_gigs import seed_gig_federation, seed_gigs
from fedcoop.demo_governance import seed_governance
from fedcoop.provisioning import add_user, init_instance

DEMO_PASSWORD = "fedcoop-demo"  # printed with the logins: this is sample data on loopback


@dataclass(frozen=True)
class DemoCoop:
    name: str
    title: str
    admin: str
    members: tuple[tuple[str, str], ...]  # (username, display name)


COOPS = (
    DemoCoop(
        "velocoop",
        "Vélocoop Lyon — bike couriers",
        "amina",
        (("bruno", "Bruno Garnier"), ("chloe", "Chloé Martin"), ("dario", "Dario Rossi")),
    ),
    DemoCoop(
        "cleanlille",
        "Clean Lille — home and office cleaning",
        "fatou",
        (("gaspard", "Gaspard Lefèvre"), ("hana", "Hana Kimura"), ("ines", "Inès Duarte")),
    ),
    DemoCoop(
        "linguacoop",
        "LinguaCoop — translators and web workers",
        "jonas",
        (("karla", "Karla Nowak"), ("leo", "Léo Bernard"), ("maya", "Maya Cohen")),
    ),
)


@dataclass(frozen=True)
class DemoInstance:
    data_dir: Path
    domain: str
    port: int
    coop: DemoCoop


def plan(root: Path, base_port: int, count: int) -> list[DemoInstance]:
    return [
        DemoInstance(
            root / f"instance{i + 1}",
            f"127.0.0.1:{base_port + i}",
            base_port + i,
            COOPS[i % len(COOPS)]
            if i < len(COOPS)
            else DemoCoop(f"coop{i + 1}", f"Coop {i + 1}", f"admin{i + 1}", ()),
        )
        for i in range(count)
    ]


def seed(instance: DemoInstance) -> None:
    if (instance.data_dir / CONFIG_FILE).exists():
        return
    coop = instance.coop
    init_instance(
        instance.data_dir,
        domain=instance.domain,
        coop=coop.name,
        coop_title=coop.title,
        admin=coop.admin,
        password=DEMO_PASSWORD,
        http=True,
        allow_private_network=True,
    )
    for username, display in coop.members:
        add_user(instance.data_dir, username, DEMO_PASSWORD, display_name=display)


def describe(instance: DemoInstance) -> str:
    coop = instance.coop
    base = f"http://{instance.domain}"
    members = ", ".join(u for u, _ in coop.members)
    return (
        f"{base}/  coop @{coop.name}@{instance.domain}\n"
        f"    admin: {coop.admin} / {DEMO_PASSWORD}"
        + (f"\n    members: {members} (same password)" if members else "")
    )


async def _serve_all(instances: list[DemoInstance]) -> None:
    runners = []
    try:
        for inst in instances:
            app = make_app(load_settings(inst.data_dir))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", inst.port).start()
            runners.append(runner)
        await _seed_governance(instances)
        await seed_gig_federation(instances)  # after the members joined their coops
        print("fedcoop demo is running:", flush=True)
        for inst in instances:
            print("  " + describe(inst), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def _seed_governance(instances: list[DemoInstance]) -> None:
    """Memberships across the instances and two votes, over real federation (first run)."""
    try:
        await asyncio.wait_for(seed_governance(instances), timeout=90)
    except (TimeoutError, OSError, AssertionError, LookupError) as exc:
        print(f"(sample memberships and votes were not all seeded: {exc})", flush=True)


def run_demo(
    root: Path, *, base_port: int = 8001, instances: int = 3, seed_only: bool = False
) -> None:
    chosen = plan(root, base_port, instances)
    for inst in chosen:
        seed(inst)
        seed_gigs(inst)
    if seed_only:
        for inst in chosen:
            print(describe(inst))
        return
    asyncio.run(_serve_all(chosen))
