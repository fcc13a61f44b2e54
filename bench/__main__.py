"""Run every benchmark and write docs/PERFORMANCE.md (`make bench`).

Each benchmark runs as its own process (`python -m bench.<name>`), prints its table with the
reference it measured in the same run, and its output is copied into the report with the
machine's description. Benchmarks are not tests: their targets are reported, not asserted.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "PERFORMANCE.md"
BENCHES = (
    ("storage", "Durable writes: group commit against one commit per write"),
    ("intake", "Inbox intake: signed Create(Note) POSTs from 50+ remote actors, concurrency 32"),
    ("fanout", "Fan-out: one note to 1,000 followers"),
    ("board", "Gig board: 100,000 gigs, full-text search with two filters"),
)


def main() -> int:
    sections = []
    for name, title in BENCHES:
        print(f"== {name}: {title}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = (proc.stdout + ("\n" + proc.stderr if proc.returncode else "")).strip()
        print(output, flush=True)
        sections.append(
            f"## {title}\n\n`python -m bench.{name}` ({time.monotonic() - started:.0f} s, "
            f"exit {proc.returncode})\n\n```\n{output}\n```\n"
        )
    load = os.getloadavg()
    header = (
        "# Performance\n\n"
        "Measured by `make bench` (`python -m bench`), which rewrites this file. Each benchmark "
        "measures a reference in the same run on the same machine (a no-op aiohttp handler, a "
        "bare client, an unfiltered query) and reports fedcoop beside it.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.platform()}; load average at the end "
        f"{load[0]:.1f}. Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
    )
    REPORT.write_text(header + "\n".join(sections))
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
