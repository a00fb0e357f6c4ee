"""Time the console's blocked-list page over 1,000,000 blocked addresses in SQLite.

    python benchmarks/console_blocked.py [DIR] [--rows N] [--screenshots]

Seeds N blocked addresses (one executemany in one transaction), then renders, through the
Flask app, the first page, a deep page (after 'm'), and filtered pages (domain, reason,
class, date); each timed as the best of 5. With --screenshots (needs chromium + playwright)
the daemon's app is served on loopback and each page is saved as a PNG in DIR.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bouncewatch import config, store
from bouncewatch.web.api import Sources, create_app

REASONS = [("hard: userunknown 5.1.1", "userunknown", "5.1.1", "hard", False, 70),
           ("5 consecutive soft bounces (last soft: mailboxfull 4.2.2)", "mailboxfull", "4.2.2", "soft", False, 20),
           ("complaint: abuse", "", "", "complaint", False, 5),
           ("manual: asked to stop", "", "", "", True, 5)]


def seed(path: Path, rows: int) -> float:
    store.open_database(f"sqlite:///{path}")
    store.close_database()
    rng = random.Random(7)
    weights = [r[-1] for r in REASONS]
    base = datetime(2026, 1, 1)
    start = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute("PRAGMA synchronous=off")

    def generate():
        for i in range(rows):
            why, reason, status, cls, manual, _w = rng.choices(REASONS, weights)[0]
            at = (base + timedelta(minutes=i % 400000)).isoformat(sep=" ")
            yield (f"user{i:07d}.{rng.randrange(10**6):06x}@example{i % 1000}.org", 1, why, at, cls, reason, status, 1, int(manual), 0, "", at, at)

    with connection:
        connection.executemany(
            'INSERT INTO address (address, blocked, blocked_reason, blocked_at, last_class, last_reason, last_status,'
            ' bounces, manual, soft_count, soft_times, first_bounce, last_bounce) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)',
            generate(),
        )
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - start


PAGES = {
    "first": "/blocked",
    "deep (after m)": "/blocked?after=m",
    "deep (after user0900000)": "/blocked?after=user0900000",
    "domain example500.org": "/blocked?domain=example500.org",
    "domain deep": "/blocked?domain=example500.org&after=user0800000",
    "reason mailboxfull": "/blocked?reason=mailboxfull",
    "class complaint": "/blocked?class=complaint",
    "class manual, deep": "/blocked?class=manual&after=user0500000",
    "blocked since 2026-09-01": "/blocked?since=2026-09-01",
    "overview": "/",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    directory = Path(args.directory or tempfile.mkdtemp(prefix="bw-console-"))
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "state.db"
    if not db.exists():
        print(f"seeded {args.rows} rows in {seed(db, args.rows):.1f} s")
    cfg = directory / "bouncewatch.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n[http]\nenabled = true\nconsole = true\n')
    settings = config.load(cfg)
    store.open_database(settings.database_url)
    store.close_database()
    client = create_app(Sources(health=lambda: {}, settings=lambda: settings)).test_client()
    for name, url in PAGES.items():
        times = []
        for _ in range(5):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        rows = response.data.count(b"<tr><td><a href=")
        print(f"{name:28} {min(times) * 1000:7.1f} ms (median {sorted(times)[2] * 1000:.1f} ms, {rows} rows)")


if __name__ == "__main__":
    main()
