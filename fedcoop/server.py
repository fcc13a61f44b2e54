"""`fedcoop serve`: run one instance (HTTP server and, as they land, its workers)."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from aiohttp import web

from fedcoop.app import make_app
from fedcoop.config import Settings, load_settings
from fedcoop.worker_process import workers_lock

log = logging.getLogger("fedcoop")


def announce(settings: Settings, out: object = None) -> list[str]:
    """The loud start-up warnings for development-only settings."""
    lines = []
    if settings.instance.scheme == "http":
        lines.append(
            "WARNING: plain http ids (--http): for local development only, never on "
            "the public internet."
        )
    if settings.instance.allow_private_network:
        lines.append(
            "WARNING: allow_private_network is on: this instance fetches from and "
            "delivers to loopback and private addresses."
        )
    if settings.auth.password_grant:
        lines.append("NOTICE: the OAuth password grant is enabled (auth.password_grant).")
    for line in lines:
        print(line, file=sys.stderr, flush=True)
    return lines


def serve(data_dir: Path, *, bind: str | None = None, port: int | None = None) -> None:
    settings = load_settings(data_dir)
    announce(settings)
    app = make_app(settings)
    host = bind or settings.server.bind
    listen_port = port if port is not None else settings.server.port
    # The workers run here unless `fedcoop worker` runs them; only one process may.
    lock = workers_lock(data_dir) if settings.server.workers else contextlib.nullcontext()
    with lock:
        print(f"fedcoop serving {settings.base_url} on http://{host}:{listen_port}", flush=True)
        _run(app, host, listen_port)


def _run(app: web.Application, host: str, listen_port: int) -> None:
    web.run_app(
        app,
        host=host,
        port=listen_port,
        print=None,
        access_log=None,
        handle_signals=True,
        shutdown_timeout=10,
    )
