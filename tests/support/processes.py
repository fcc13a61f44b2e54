"""Real `fedcoop` subprocesses on free loopback ports, always stopped with bounded waits.

The process-level tests (demo, crash durability, interop) must exercise the installed command
the way an admin runs it, so they start `fedcoop ...` as a child process rather than calling
`make_app` in-process. Every wait here has a deadline, and a child's output goes to a file (not
a pipe) so that a chatty child can never block on a full pipe while the test waits for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
DEFAULT_PASSWORD = "correct horse battery"
# Development instances print this (see fedcoop/demo.py) once every port is bound.
DEMO_READY = "Press Ctrl-C to stop."
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# No proxies: a developer's HTTP_PROXY must never see (or swallow) loopback test traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProcessFailed(RuntimeError):
    """A child exited early or did not become ready in time; the message holds its output."""


# ports ------------------------------------------------------------------------------------------
def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, *, attempts: int = 50) -> int:
    """The first of `count` consecutive free loopback ports (`fedcoop demo --base-port`)."""
    for _ in range(attempts):
        base = free_port()
        if base + count - 1 > 65535:
            continue
        if all(_port_is_free(base + i) for i in range(1, count)):
            return base
    raise RuntimeError(f"no {count} consecutive free loopback ports after {attempts} attempts")


# plain HTTP -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> HttpReply:
    """One request; an HTTP error status is a reply, not an exception."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return HttpReply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpReply(exc.code, dict(exc.headers.items()), exc.read())


def http_get(url: str, *, accept: str | None = None, timeout: float = 10.0) -> HttpReply:
    return http_request("GET", url, headers={"Accept": accept} if accept else None, timeout=timeout)


# the fedcoop command ----------------------------------------------------------------------------
def fedcoop_command() -> list[str]:
    """The installed console script beside this interpreter, or the module as a fallback."""
    script = Path(sys.executable).with_name("fedcoop")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "fedcoop.cli"]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: the caller's, minus FEDCOOP_* overrides that would leak a
    developer's own settings into the test instance."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDCOOP_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_fedcoop(
    *args: str, timeout: float = 60.0, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one short `fedcoop` command to completion (stdin closed, so no password prompt)."""
    return subprocess.run(
        [*fedcoop_command(), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
    )


def write_password_file(path: Path, password: str = DEFAULT_PASSWORD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def init_instance(
    data_dir: Path,
    port: int,
    *,
    coop: str = "velo",
    admin: str = "alice",
    password: str = DEFAULT_PASSWORD,
    timeout: float = 60.0,
) -> str:
    """`fedcoop init` a development instance whose ids are http://127.0.0.1:PORT; its base URL."""
    password_file = write_password_file(data_dir.parent / f"{data_dir.name}.password", password)
    done = run_fedcoop(
        "init",
        "--data-dir", str(data_dir),
        "--domain", f"{LOOPBACK}:{port}",
        "--coop", coop,
        "--admin", admin,
        "--password-file", str(password_file),
        "--http",
        "--allow-private-network",
        timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        raise ProcessFailed(f"fedcoop init exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return f"http://{LOOPBACK}:{port}"


# long-running children --------------------------------------------------------------------------
@dataclass
class FedcoopProcess:
    """A running `fedcoop serve` or `fedcoop demo`, its output collected in `log_path`."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    args: Sequence[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _failed(self, why: str) -> ProcessFailed:
        tail = "\n".join(self.output().splitlines()[-40:])
        return ProcessFailed(f"{' '.join(self.args)}: {why}\n--- output ---\n{tail}")

    def wait_for_output(self, text: str, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if not self.alive():
                raise self._failed(f"exited ({self.proc.returncode}) before printing {text!r}")
            time.sleep(0.05)
        raise self._failed(f"did not print {text!r} within {timeout} s")

    def wait_until_answers(self, url: str, *, timeout: float = 30.0) -> None:
        """Poll `url` until it answers 200, failing fast if the child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self._failed(f"exited ({self.proc.returncode}) before answering {url}")
            with contextlib.suppress(OSError):
                if http_get(url, timeout=2.0).status == 200:
                    return
            time.sleep(0.05)
        raise self._failed(f"{url} did not answer within {timeout} s")

    def terminate(self, *, timeout: float = 10.0) -> int:
        """SIGTERM and wait; raise (after a SIGKILL) if it outlives `timeout`."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise self._failed(f"still running {timeout} s after SIGTERM") from None

    def kill(self) -> int:
        """SIGKILL: the crash a power cut or the OOM killer would cause."""
        if self.alive():
            self.proc.kill()
        return self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Clean-up for `finally` blocks: never raises, never waits without bound."""
        with contextlib.suppress(Exception):
            self.terminate(timeout=10)
        with contextlib.suppress(Exception):
            self.kill()

    def __enter__(self) -> FedcoopProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that has Linux send the child SIGTERM when the test run dies, even by
    SIGKILL (when `finally` blocks never run). Linux ties this to the *thread* that forks, so
    it is only armed when spawning from the main thread, which lives as long as the run."""
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_fedcoop(
    args: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> FedcoopProcess:
    """Start `fedcoop ARGS` in the background, stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [*fedcoop_command(), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(env),
            # Its own session: a Ctrl-C meant for pytest must not reach it before our clean-up.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    return FedcoopProcess(proc, log_path, ["fedcoop", *args])


def start_server(
    data_dir: Path,
    port: int,
    *,
    log_path: Path | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> FedcoopProcess:
    """`fedcoop serve` on 127.0.0.1:PORT, returned once NodeInfo answers."""
    log_path = log_path or data_dir.parent / f"{data_dir.name}-serve.log"
    server = spawn_fedcoop(
        ["serve", "--data-dir", str(data_dir), "--bind", LOOPBACK, "--port", str(port)],
        log_path,
        env=env,
    )
    try:
        server.wait_until_answers(f"http://{LOOPBACK}:{port}/.well-known/nodeinfo", timeout=timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def serving(data_dir: Path, port: int, *, timeout: float = 30.0) -> Iterator[FedcoopProcess]:
    server = start_server(data_dir, port, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


def start_demo(
    root: Path, base_port: int, *, instances: int = 3, timeout: float = 90.0
) -> FedcoopProcess:
    """`fedcoop demo`, returned once it has said that every instance is listening."""
    demo = spawn_fedcoop(
        ["demo", "--dir", str(root), "--base-port", str(base_port), "--instances", str(instances)],
        root.parent / f"{root.name}-demo.log",
    )
    try:
        demo.wait_for_output(DEMO_READY, timeout=timeout)
    except BaseException:
        demo.stop()
        raise
    return demo
