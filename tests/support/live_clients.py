"""Two live instances for driving real Mastodon clients (Mastodon.py, toot) against them.

Instance A holds alice (admin of coop velo), B holds bob (admin of coop rail); both serve on
127.0.0.1 with their workers running (tests/support/federation.py). The clients are
synchronous, so tests call them through `asyncio.to_thread` while the test's loop keeps
serving. Proxies are kept out of the clients' way: a developer's HTTP_PROXY must never see
loopback test traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from fedcoop.config import Settings
from fedcoop.gigs import governance, offers, skills
from fedcoop.gigs.governance import Proposal, ProposalDraft
from fedcoop.gigs.offers import GigDraft
from tests.support.federation import LOOPBACK, Federation, Node
from tests.support.processes import free_port

PASSWORD = "correct horse battery"
OOB = "urn:ietf:wg:oauth:2.0:oob"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CODE = re.compile(r'id="oob-code">([^<]+)<')
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


async def start_pair(make_instance: Callable[..., Settings]) -> AsyncIterator[Federation]:
    """Instances A (velo, alice) and B (rail, bob), running until the generator closes."""
    nodes = []
    for name, coop, admin in (("A", "velo", "alice"), ("B", "rail", "bob")):
        port = free_port()
        settings = make_instance(f"{LOOPBACK}:{port}", coop=coop, coop_title=coop, admin=admin)
        nodes.append(Node(name, settings, port))
    fed = Federation(nodes)
    try:
        for node in nodes:
            await node.start()
        yield fed
    finally:
        await fed.stop()


def no_proxy_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, no .netrc
    return session


def client_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = f"{LOOPBACK},localhost"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def without_proxies() -> Iterator[None]:
    """For a client called in this process (toot's Python API reads proxies from the
    environment on every request): no proxy while it runs, the environment restored after."""
    saved = {k: os.environ[k] for k in (*_PROXY_VARS, "NO_PROXY", "no_proxy") if k in os.environ}
    for key in _PROXY_VARS:
        os.environ.pop(key, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = f"{LOOPBACK},localhost"
    try:
        yield
    finally:
        for key in (*_PROXY_VARS, "NO_PROXY", "no_proxy"):
            os.environ.pop(key, None)
        os.environ.update(saved)


def oob_code(authorize_url: str, username: str, password: str = PASSWORD) -> str:
    """What a person does in the browser: open the page, sign in and agree, read the code."""
    with no_proxy_session() as browser:
        page = browser.get(authorize_url, timeout=10)
        page.raise_for_status()
        form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        assert "csrf_token" in form, "the consent form carries its CSRF token"
        form.update({"username": username, "password": password, "decision": "authorize"})
        action = authorize_url.split("?")[0]
        answer = browser.post(action, data=form, timeout=10)
        answer.raise_for_status()
    found = _CODE.search(answer.text)
    assert found is not None, answer.text[:500]
    return html.unescape(found.group(1))


async def open_vote(node: Node, coop: str, author: str, title: str) -> Proposal:
    """A coop Question: a free-text proposal put to the coop's members."""
    from datetime import timedelta

    from fedcoop import clock

    coop_actor, author_actor = await node.local(coop), await node.local(author)
    draft = ProposalDraft(
        kind="text",
        title=title,
        body="Members decide.",
        options=("Yes", "No"),
        ends_at=clock.now() + timedelta(hours=1),
    )
    return await node.write(
        lambda c: governance.open_proposal(
            c, node.ctx.uris, coop_actor.id, draft, author_id=author_actor.id
        )
    )


async def post_gig(node: Node, poster: str, coop: str) -> offers.Gig:
    """A gig posted by `poster` for `coop`, with a skill (a hashtag on the wire)."""
    uris = node.ctx.uris
    author, group = await node.local(poster), await node.local(coop)

    def post(conn: Any) -> offers.Gig:
        skills.ensure_shipped(conn, uris)
        draft = GigDraft(
            purpose="request",
            title="Cargo-bike deliveries, Saturday market",
            description="<p>Riders with their own cargo bike.</p>",
            unit="hour",
            price=Decimal("18.50"),
            currency="EUR",
            available=Decimal("8"),
            minimum=Decimal("2"),
            place_name="Lyon",
            skills=(skills.skill_uri(uris, "cargo-bike-courier"),),
        )
        return offers.create_gig(conn, uris, poster_id=author.id, coop_id=group.id, draft=draft)

    return await node.write(post)


async def toot(config_home: Path, *args: str, stdin: str | None = None) -> str:
    """Run the `toot` command (its config under `config_home`); its stdout, or a failure."""
    command = [str(Path(sys.executable).with_name("toot")), "--no-color", *args]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=client_env({"XDG_CONFIG_HOME": str(config_home), "COLUMNS": "100"}),
            # No controlling terminal: a hidden prompt (the password) then reads stdin.
            start_new_session=True,
        )

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, (
        f"toot {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    )
    return done.stdout


def ids_of(items: Any) -> list[str]:
    return [str(item["id"]) for item in items]
