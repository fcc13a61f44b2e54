"""Board benchmark: the gig board over 100,000 gigs, full-text search plus two filters.

Target: p95 under 30 ms. Reference, measured in the same run on the same database: the
board's first page with no search and no filter (an indexed ORDER BY ... LIMIT).

Gigs are inserted directly with SQL in bulk (the domain's create path would take minutes
for 100,000 rows); the queries are the real `fedcoop.gigs.board.search`.

Run: python -m bench.board [--gigs 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from fedcoop import clock, ids
from fedcoop.db.database import connect
from fedcoop.db.migrations import apply_migrations
from fedcoop.gigs import board, money
from fedcoop.uris import Uris

WORDS = [
    "delivery",
    "courier",
    "cargo",
    "bike",
    "market",
    "cleaning",
    "office",
    "home",
    "childcare",
    "evening",
    "translation",
    "portuguese",
    "website",
    "repair",
    "plumbing",
    "garden",
    "moving",
    "help",
    "cooking",
    "catering",
    "tutoring",
    "photography",
    "design",
    "data",
    "labelling",
    "kitchen",
    "warehouse",
    "night",
    "weekend",
    "urgent",
]
CITIES = ("Lyon", "Lille", "Grenoble", "Nantes", "Paris", "Marseille", "Toulouse", "Bordeaux")
SKILLS = [f"https://bench.test/skills/s{i}" for i in range(25)]


def seed(conn: sqlite3.Connection, count: int, rnd: random.Random) -> None:
    uris = Uris("https", "bench.test")
    now = clock.now_iso()
    conn.execute("BEGIN")
    actor_id = ids.new_id()
    conn.execute(
        "INSERT INTO actors (id, uri, type, username, host, local, created_at, updated_at) "
        "VALUES (?, ?, 'Person', 'poster', 'bench.test', 1, ?, ?)",
        (actor_id, uris.person("poster"), now, now),
    )
    gigs, fts, skills = [], [], []
    for n in range(count):
        gig_id = ids.new_id()
        title = " ".join(rnd.sample(WORDS, 3)).capitalize()
        description = " ".join(rnd.choices(WORDS, k=25))
        city = rnd.choice(CITIES)
        price = Decimal(rnd.randrange(1000, 4000)) / 100
        unit = rnd.choice(("hour", "hour", "day", "task"))
        minor = (
            money.minor_units(price if unit == "hour" else price / 8, "EUR")
            if unit != "task"
            else None
        )
        remote = rnd.random() < 0.15
        skill = rnd.choice(SKILLS)
        gigs.append(
            (
                gig_id,
                uris.object("gigs", gig_id),
                actor_id,
                title,
                description,
                None if remote else city,
                45 + rnd.random(),
                4 + rnd.random(),
                int(remote),
                unit,
                money.to_text(price),
                minor,
                now,
                now,
                now,
            )
        )
        fts.append((n + 1, title, description, "" if remote else city, skill))
        skills.append((gig_id, skill))
    conn.executemany(
        """INSERT INTO gigs (id, uri, local, poster_id, purpose, title, description, place_name,
               latitude, longitude, remote, unit, price, currency, hourly_minor, available,
               minimum, visibility, state, published_at, updated_at, created_at)
           VALUES (?, ?, 1, ?, 'request', ?, ?, ?, ?, ?, ?, ?, ?, 'EUR', ?, '8', '1', 'public',
                   'open', ?, ?, ?)""",
        gigs,
    )
    conn.executemany(
        "INSERT INTO gigs_fts (rowid, title, description, place_name, skills) "
        "VALUES (?, ?, ?, ?, ?)",
        fts,
    )
    conn.executemany("INSERT INTO gig_skills (gig_id, skill_uri) VALUES (?, ?)", skills)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def timed(conn: sqlite3.Connection, queries: list[board.BoardQuery]) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        board.search(conn, q)
        conn.execute("COMMIT")
        out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "board.sqlite3"
        conn = connect(path, busy_timeout_ms=5000)
        conn.execute("BEGIN IMMEDIATE")
        apply_migrations(conn)
        conn.execute("COMMIT")
        t0 = time.perf_counter()
        seed(conn, args.gigs, rnd)
        seeded = time.perf_counter() - t0
        reader = connect(path, busy_timeout_ms=5000, read_only=True)
        searches = [
            board.BoardQuery(
                words=rnd.choice(WORDS),
                skill=rnd.choice(SKILLS),
                min_hourly=Decimal(rnd.randrange(10, 25)),
                currency="EUR",
            )
            for _ in range(args.queries)
        ]
        cities = [
            board.BoardQuery(
                words=" ".join(rnd.sample(WORDS, 2)), city=rnd.choice(CITIES), sort="pay"
            )
            for _ in range(args.queries)
        ]
        plain = [board.BoardQuery() for _ in range(args.queries)]
        timed(reader, searches[:20])  # warm the page cache
        ref = timed(reader, plain)
        search_ms = timed(reader, searches)
        city_ms = timed(reader, cities)
    print(
        f"board benchmark: {args.gigs} gigs (seeded in {seeded:.1f} s), {args.queries} queries each"
    )
    print(f"{'query':<58} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    rows = [
        ("reference: first page, no search, no filter", ref),
        ("words + skill + min pay/hour (target p95 < 30 ms)", search_ms),
        ("two words + city, sorted by pay", city_ms),
    ]
    for name, values in rows:
        print(
            f"{name:<58} {pct(values, 0.5):8.2f} {pct(values, 0.95):8.2f} {pct(values, 0.99):8.2f}"
        )
    ok = pct(search_ms, 0.95) < 30
    print(
        f"target p95 < 30 ms: {'met' if ok else 'MISSED'} "
        f"({pct(search_ms, 0.95) / max(pct(ref, 0.95), 1e-6):.1f}x the reference p95)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
