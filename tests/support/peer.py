"""The Fedify interop peer (`../shared/interop/fedify-peer`): install, start, drive, stop.

Fedify is a strict ActivityPub implementation; the kit wraps it in a small server with a
plain-JSON control API under `/_peer/` (see the kit's README). This module only speaks that
API and the kit's two shell scripts; the pytest fixtures live in tests/interop/conftest.py.

The peer calls back into fedcoop while it handles a control request (it fetches actors and
keys before it answers). A test whose fedcoop runs *in the test's own event loop* must
therefore never call these blocking methods directly from a coroutine: use
`await asyncio.to_thread(peer.follow, actor)` (or `await peer.acall(...)`) so the loop stays
free to serve the peer's GETs. A fedcoop started as a subprocess has no such constraint.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR_ENV = "FEDCOOP_SHARED_DIR"
INSTALL_DIR = REPO_ROOT / ".cache" / "fedify-peer"
NO_NPM = (
    "npm is not on PATH, and the Fedify interop peer needs it (it brings its own Node 24 "
    "through npm). Run `sh scripts/ensure-test-deps.sh` (or `make test-deps`) first."
)

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PeerUnavailable(RuntimeError):
    """The peer could not be installed or started; the message says what to do."""


def kit_dir() -> Path:
    """The read-only kit: `$FEDCOOP_SHARED_DIR/interop/fedify-peer`, else `<repo>/../shared/...`
    (CI checks out shared/ beside the clone)."""
    shared = os.environ.get(SHARED_DIR_ENV)
    root = Path(shared) if shared else REPO_ROOT.parent / "shared"
    return root / "interop" / "fedify-peer"


@contextlib.contextmanager
def _file_lock(path: Path, *, timeout: float) -> Iterator[None]:
    """An exclusive lock between pytest processes (xdist workers): two concurrent `npm ci`
    runs in one directory break each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PeerUnavailable(f"{path} stayed locked for {timeout} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def install_peer(dest: Path = INSTALL_DIR, *, timeout: float = 600.0) -> Path:
    """Install (or, when already installed, only refresh) the kit into `dest`; idempotent."""
    if shutil.which("npm") is None:
        raise PeerUnavailable(NO_NPM)
    kit = kit_dir()
    if not (kit / "install.sh").is_file():
        raise PeerUnavailable(
            f"no Fedify peer kit at {kit}: check out shared/ beside the repository or set "
            f"{SHARED_DIR_ENV} to the directory that holds interop/fedify-peer"
        )
    with _file_lock(dest.parent / f"{dest.name}.lock", timeout=timeout):
        # `sh`: the kit's execute bits may be missing.
        done = subprocess.run(
            ["sh", str(kit / "install.sh"), str(dest)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise PeerUnavailable(f"Fedify peer install.sh failed ({done.returncode}):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class PeerReply:
    status: int
    data: Any  # parsed JSON, or the text when the body is not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _pid_gone(pid: int) -> bool:
    # The peer is not our child (start.sh detaches it), so there is no waitpid: read /proc.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


@dataclass(frozen=True)
class FedifyPeer:
    """A running peer: the values `start.sh` printed, and its control API."""

    pid: int
    url: str
    actor: str
    inbox: str
    shared_inbox: str
    key_id: str
    state_dir: Path
    log_path: Path

    # the control API ----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        timeout: float = 30.0,
    ) -> PeerReply:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                status, raw = exc.code, exc.read()
        try:
            return PeerReply(status, json.loads(raw))
        except ValueError:
            return PeerReply(status, raw.decode(errors="replace"))

    async def acall(self, method: str, path: str, **kwargs: Any) -> PeerReply:
        """`call` off the event loop, for tests whose fedcoop is served by that loop."""
        return await asyncio.to_thread(lambda: self.call(method, path, **kwargs))

    def _ok(self, reply: PeerReply, what: str) -> Any:
        if not reply.ok:
            raise AssertionError(
                f"peer {what}: HTTP {reply.status}: {reply.data}\n{self.diagnostics()}"
            )
        return reply.data

    def info(self) -> dict[str, Any]:
        return self._ok(self.call("GET", "/_peer/info"), "info")

    def reset(self, *, everything: bool = True) -> None:
        """Forget what earlier tests did (keys stay); `everything=False` clears logs only."""
        self._ok(
            self.call("POST", "/_peer/reset", body={} if everything else {"all": False}), "reset"
        )

    def lookup(self, uri: str, *, signed: bool = False) -> PeerReply:
        """The object as Fedify parses it (404 when Fedify cannot fetch or parse it)."""
        params = {"uri": uri, **({"signed": "1"} if signed else {})}
        return self.call("GET", "/_peer/lookup", params=params)

    def actor_check(self, uri: str) -> dict[str, Any]:
        return self._ok(self.call("GET", "/_peer/actor-check", params={"uri": uri}), "actor-check")

    def nodeinfo(self, origin: str) -> dict[str, Any]:
        return self._ok(self.call("GET", "/_peer/nodeinfo", params={"url": origin}), "nodeinfo")

    def webfinger(self, resource: str) -> PeerReply:
        return self.call("GET", "/_peer/webfinger", params={"resource": resource})

    def follow(self, actor: str) -> PeerReply:
        return self.call("POST", "/_peer/follow", body={"actor": actor})

    def unfollow(self, actor: str) -> PeerReply:
        return self.call("POST", "/_peer/unfollow", body={"actor": actor})

    def join(self, group: str) -> PeerReply:
        return self.call("POST", "/_peer/join", body={"group": group})

    def leave(self, group: str) -> PeerReply:
        return self.call("POST", "/_peer/leave", body={"group": group})

    def send(self, inboxes: list[str], **fields: Any) -> PeerReply:
        """A `Create(Note)`; fields: content, to, cc, inReplyTo, name, summary, mentions."""
        return self.call("POST", "/_peer/send", body={"inboxes": inboxes, **fields})

    def deliver(self, inboxes: list[str], activity: Any, *, via: str | None = None) -> PeerReply:
        """Any activity, signed by the peer's actor (raw cavage by default; `via="fedify"`)."""
        body: dict[str, Any] = {"inboxes": inboxes, "activity": activity}
        if via:
            body["via"] = via
        return self.call("POST", "/_peer/deliver", body=body)

    def _list(self, path: str, **params: str) -> Any:
        return self._ok(self.call("GET", path, params=params or None), path)

    def received(self, limit: int = 50) -> dict[str, Any]:
        return self._list("/_peer/received", limit=str(limit))

    def activities(self, type_: str | None = None, limit: int = 50) -> Any:
        params = {"limit": str(limit), **({"type": type_} if type_ else {})}
        return self._list("/_peer/activities", **params)

    def rejected(self, limit: int = 20) -> Any:
        return self._list("/_peer/rejected", limit=str(limit))

    def log(self, limit: int = 20) -> Any:
        return self._list("/_peer/log", limit=str(limit))

    def stats(self) -> dict[str, Any]:
        return self._list("/_peer/stats")

    def followers(self) -> Any:
        return self._list("/_peer/followers")

    def following(self) -> Any:
        return self._list("/_peer/following")

    def joins(self) -> Any:
        return self._list("/_peer/joins")

    def diagnostics(self) -> str:
        """What the peer logged and rejected: append it to assertion messages."""
        parts = []
        for path in ("/_peer/log", "/_peer/rejected"):
            try:
                reply = self.call("GET", path, params={"limit": "10"}, timeout=5)
                parts.append(f"{path}: {json.dumps(reply.data, indent=1)[:4000]}")
            except OSError as exc:
                parts.append(f"{path}: unavailable ({exc})")
        return "\n".join(parts)

    # lifecycle ----------------------------------------------------------------------------------
    def stop(self, *, timeout: float = 5.0) -> None:
        """SIGTERM (the peer exits at once), then SIGKILL after `timeout`."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while not _pid_gone(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _pid_gone(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def start_peer(
    install_dir: Path,
    state_dir: Path,
    *,
    rsa_bits: int = 2048,
    parent_pid: int | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> FedifyPeer:
    """Start a peer on a port the OS picks (so two peers never race for one) on 127.0.0.1.

    127.0.0.1, never `localhost`: Fedify rejects a document whose id has another origin than
    the URL it came from, so fedcoop and the peer must name loopback the same way.
    `parent_pid` (default: this process) makes the peer exit when a killed test run is gone.
    """
    child_env = {
        **os.environ,
        "PEER_HOST": "127.0.0.1",
        "PEER_PORT": "0",
        "PEER_RSA_BITS": str(rsa_bits),
        "PEER_PARENT_PID": str(parent_pid or os.getpid()),
        "PEER_STATE_DIR": str(state_dir),
        "PEER_START_TIMEOUT": str(int(timeout)),
        **(env or {}),
    }
    done = subprocess.run(
        ["sh", str(install_dir / "start.sh"), str(install_dir)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env,
        timeout=timeout + 30,
    )
    if done.returncode != 0:
        raise PeerUnavailable(f"Fedify peer start.sh failed ({done.returncode}):\n{done.stderr}")
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return FedifyPeer(
        pid=int(values["PEER_PID"]),
        url=values["PEER_URL"],
        actor=values["PEER_ACTOR"],
        inbox=values["PEER_INBOX"],
        shared_inbox=values["PEER_SHARED_INBOX"],
        key_id=values["PEER_KEY_ID"],
        state_dir=Path(values["PEER_STATE_DIR"]),
        log_path=Path(values["PEER_LOG"]),
    )
