"""Exports at scale: the ticket list to CSV and Excel, 100,000 rows, on the 1M-ticket database.

On the pages bench's seeded database (PostgreSQL 1M tickets by default; seeded once, reused),
the admin exports the list filtered to the tickets created since a day chosen so that about
EXPORT_ROWS tickets match (the cap is EXPORT_MAX_ROWS, 100,000 by default), through the screen
(`/tickets/export?format=…`, the test client, in-process like the other benches), reading
the streamed body chunk by chunk as a browser would. Measured per format:

- rows per second: rows in the file ÷ the time from the request to its last byte;
- first bytes: the time to the first chunk (after the count and the audit event: CSV's column
  names, the Excel file's fixed parts and the start of its sheet), and to the first chunk
  holding rows (target: 1 s to the first bytes, both formats);
- memory: the process's resident set (VmRSS, sampled at every chunk) at its highest during the
  export, less what it was just before (after a small warm-up export of the same kind);
- the agent's whole list (a few thousand tickets) as the everyday case.

The bench writes only audit events (one per export), which it deletes afterwards.

    python -m bench.export [--sizes postgresql:1000000] [--rows 100000] [--report docs/PERFORMANCE.md]
"""
from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sqlalchemy import delete, func, select

from bench.pages import _login, add_dataset_arguments, build, parse_sizes, prepare_database, reachable_datasets, say
from bench.smtp_latency import write_section

SECTION = "## Exports"
EXPORT_ROWS = 100_000
TARGETS = {"csv": 20_000, "xlsx": 5_000}  # rows per second (issue 13)
RSS_GROWTH_MB = 30
FIRST_BYTES_S = 1.0


@dataclass
class Run:
    fmt: str
    who: str
    rows: int
    seconds: float
    first_bytes: float
    first_rows: float
    rss_growth_mb: float
    size_mb: float
    cpu_seconds: float = 0.0  # this process's CPU time (the worker's share, whatever the machine's load)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Figures:
    label: str
    day: str = ""
    runs: list[Run] = field(default_factory=list)
    load: float = 0.0  # the machine's 1-minute load average at the end (2 cores: above 2, others wait)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _day_for(session, rows: int) -> tuple[str, int]:
    """The first day (in DISPLAY_TIMEZONE, as the list's date filter reads it) from which at most
    `rows` tickets were created, and how many were."""
    from datetime import timedelta

    from app.models import Ticket
    from app.tickets.filters import local_day_start  # the list's own reading of a day

    from datetime import timezone
    from zoneinfo import ZoneInfo

    from flask import current_app

    newest = session.scalar(select(Ticket.created_at).order_by(Ticket.created_at.desc()).offset(rows).limit(1))
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    day = newest.replace(tzinfo=timezone.utc).astimezone(zone).date() + timedelta(days=1)
    count = session.scalar(select(func.count()).where(Ticket.created_at >= local_day_start(day)))
    return day.isoformat(), count


def export_once(client, url: str, fmt: str, who: str) -> Run:
    gc.collect()
    before = rss_mb()
    peak = before
    cpu = time.process_time()
    started = time.perf_counter()
    response = client.get(url, buffered=False)
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    first_bytes = first_rows = None
    size = 0
    newlines = 0
    for chunk in response.response:
        if not chunk:
            continue
        now = time.perf_counter() - started
        if first_bytes is None:
            first_bytes = now
        elif first_rows is None:
            first_rows = now
        size += len(chunk)
        if fmt == "csv":
            newlines += chunk.count(b"\n")
        peak = max(peak, rss_mb())
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    response.close()
    if fmt == "csv":
        rows = newlines - 1  # (the header; no field of the seed holds a line break)
    else:
        rows = -1  # (counted by the caller: the list's count)
    return Run(fmt, who, rows, seconds, first_bytes or seconds, first_rows or first_bytes or seconds,
               peak - before, size / 1024 / 1024, cpu)


def run(ds, url: str, seeded: bool, rows: int) -> Figures:
    from app.demo.seed import DEMO_PASSWORD
    from app.extensions import db
    from app.models import AuditEvent
    from bench.pages import ADMIN_PASSWORD

    app, cast = build(ds, url, seeded)
    figures = Figures(label=ds.label)
    with app.app_context():
        session = db.session
        day, expected = _day_for(session, rows)
        last_event = session.scalar(select(func.max(AuditEvent.id))) or 0
        session.remove()
    figures.day = day
    # Flask's own test client: the body is read after the request returns, as a server does
    # (the tests' client gives each request its own app context only while it runs).
    from flask.testing import FlaskClient

    app.test_client_class = FlaskClient
    admin, agent = app.test_client(), app.test_client()
    _login(admin, cast.admin_email, ADMIN_PASSWORD)
    _login(agent, cast.agent_email, DEMO_PASSWORD)
    try:
        for fmt in ("csv", "xlsx"):
            say(f"[{ds.label}] {fmt}: warm-up, then {expected} rows (created from {day}) …")
            export_once(admin, f"/tickets/export?format={fmt}&_flt_0_created_at={day}&_flt_0_priority=Low"
                               f"&_flt_0_status=Waiting", fmt, "warm-up")
            big = export_once(admin, f"/tickets/export?format={fmt}&_flt_0_created_at={day}", fmt, "admin")
            if big.rows < 0:
                big.rows = expected
            figures.runs.append(big)
            mine = export_once(agent, f"/tickets/export?format={fmt}", fmt, "agent")
            if mine.rows < 0:
                mine.rows = cast.agent_visible
            figures.runs.append(mine)
            say(f"[{ds.label}] {fmt}: {big.rows} rows in {big.seconds:.1f} s ({big.rate:,.0f} rows/s, "
                f"CPU {big.cpu_seconds:.1f} s), "
                f"first bytes {big.first_bytes:.2f} s, RSS +{big.rss_growth_mb:.1f} MB")
        figures.load = os.getloadavg()[0]
    finally:
        # The bench's own audit events go, so the shared database stays as seeded. The app's ORM
        # refuses to delete audit events (append-only); the bench cleans up over a plain connection.
        with app.app_context(), db.engine.begin() as connection:
            events = AuditEvent.__table__
            connection.execute(delete(events).where(events.c.id > last_event, events.c.kind == "export"))
    return figures


def render(results: list[Figures], skipped: list[str]) -> str:
    lines = [
        SECTION, "",
        "`python -m bench.export`: the ticket list exported through the screen "
        "(`/tickets/export`, in-process test client reading the streamed body chunk by chunk), on the pages "
        "bench's seeded database. *Admin*: the list filtered to the tickets created since the day that "
        "leaves about 100,000 (the default `EXPORT_MAX_ROWS`); *agent*: the agent's whole list. Rows/s: rows "
        "in the file ÷ request to last byte. First bytes: to the first chunk, after the count and the audit "
        "event (CSV: the byte-order mark and the column names; Excel: the workbook's fixed parts and the start "
        "of its sheet); first rows: to the first chunk of rows. RSS: the process's highest "
        "resident set during the export less what it was before it. Worker CPU: this process's CPU time "
        "during the export (the database server's is not in it); with the machine shared, rows per CPU "
        "second is the figure that does not depend on how busy the other processes keep the cores.", "",
        "| Dataset | Export | Rows | Time | Rows/s | Target | Worker CPU | Rows per CPU s | First bytes | First rows "
        "| RSS growth | File | |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in results:
        for r in f.runs:
            target = TARGETS[r.fmt]
            ok = (r.rss_growth_mb < RSS_GROWTH_MB and (r.who != "admin" or r.rate >= target)
                  and r.first_bytes <= FIRST_BYTES_S)
            lines.append(
                f"| {f.label} | {r.fmt.upper()}, {r.who} | {r.rows:,} | {r.seconds:.1f} s | {r.rate:,.0f} | "
                f"{'≥ ' + format(target, ',') if r.who == 'admin' else '—'} | {r.cpu_seconds:.1f} s | "
                f"{r.rows / r.cpu_seconds if r.cpu_seconds else 0:,.0f} | {r.first_bytes:.2f} s | "
                f"{r.first_rows:.2f} s | {r.rss_growth_mb:+.1f} MB (< {RSS_GROWTH_MB}) | {r.size_mb:.1f} MB | "
                f"{'✅' if ok else '❌'} |")
    for f in results:
        lines.append(f"\nMachine load (1-minute average) when the {f.label} runs ended: {f.load:.1f} on "
                     f"{os.cpu_count()} cores.")
    lines += [
        "",
        "What the figures rest on, and what they miss:",
        "",
        "- The rows come from one statement on a server-side cursor, fetched `BATCH` (2,500) at a time: "
        "the list's own query (filters, search, sort, visibility) with the ticket's columns, its team, "
        "creator and resolver joined on primary keys, times converted to `DISPLAY_TIMEZONE` by "
        "PostgreSQL. PostgreSQL plans a cursor for its first tenth of rows by default, which for a list "
        "sorted by one index and filtered by another walked the sort's index over the whole table (13 s "
        "of fetching for the first 28,000 rows): the export sets `cursor_tuple_fraction = 1` and turns "
        "JIT off for its transaction (JIT compiled the statement for seconds). Assignees and comment "
        "counts: two statements per batch (`IN` on the batch's ids), never one per ticket.",
        "- The batch size is the trade between round trips and memory: on an idle machine 1,000 rows a "
        "batch gave CSV 19,400 rows/s (+7 MB), 2,500 gave 22,900 rows/s (+15 MB), 5,000 gave 23,200 "
        "rows/s (+29 MB, at the 30 MB limit). Memory is otherwise flat whatever the row count: both "
        "formats leave in chunks of about 64 KB, and the Excel writer holds a hundred rows of XML and "
        "zlib's state (no temporary file, no table of shared strings).",
        "- Both formats' first bytes leave after the count and the audit event. An XLSX file is a zip "
        "whose directory comes last; the export writes it as it streams (`app/reports/export.py`): the "
        "workbook's small parts, then the sheet row by row, compressed as it goes, each part's sizes "
        "after its data (a zip data descriptor), the directory at the end. Before, XlsxWriter built the "
        "whole file in a temporary file first: on an idle machine (load 0.8) 99,961 rows left at 7,437 "
        "rows/s, their first byte after 13.4 s, for 12.0 s of worker CPU.",
        "- Rows per CPU second of the worker does not depend on the other processes on the machine: CSV "
        "about 29 µs per row, XLSX about 48 µs (its XML and zlib's compression at level 6 about 26 µs "
        "of it; XlsxWriter's cells took about 120 µs). 100,000 Excel rows cost a worker about 5 s, well "
        "inside gunicorn's 60 s timeout here.",
        "",
    ]
    if skipped:
        lines += [f"Skipped: {'; '.join(skipped)}.", ""]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.set_defaults(sizes="postgresql:1000000")
    parser.add_argument("--rows", type=int, default=EXPORT_ROWS, help="about this many rows in the big export")
    parser.add_argument("--report", type=Path, default=None, help=f"Markdown file whose '{SECTION}' section to write")
    args = parser.parse_args(argv)
    datasets, skipped, pg_url = reachable_datasets(parse_sizes(args.sizes, args.people), args.database_url)
    results = []
    for ds in datasets:
        url, seeded = prepare_database(ds, pg_url, args.sqlite_dir)
        results.append(run(ds, url, seeded, args.rows))
    report = render(results, skipped)
    print("\n" + report)
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
