"""Ticket creation time with a fast and with a slow (3 s) SMTP server.

The outbox keeps SMTP off the request path, so both must be the same. The
sender runs in a background thread of the same process (as under `make run`)
and really delivers to an aiosmtpd server, fast or slow.

    python -m bench.smtp_latency [--requests 60] [--delay 3] [--report docs/PERFORMANCE.md]
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 5


class _SlowSink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        self.received += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def write_section(path: Path, section: str) -> None:
    """Write one "## …" section of the Markdown report at `path`, replacing that section when
    it is there and leaving every other section alone (each bench writes its own)."""
    heading = section.splitlines()[0]
    old = path.read_text().splitlines() if path.exists() else ["# Performance"]
    body = section.rstrip("\n").splitlines()
    if heading in old:
        start = old.index(heading)
        end = next((n for n in range(start + 1, len(old)) if old[n].startswith("## ")), len(old))
        lines = old[:start] + body + ([""] if end < len(old) else []) + old[end:]
    else:
        while old and not old[-1].strip():
            old.pop()
        lines = old + [""] + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def measure(delay: float, requests: int, workdir: Path) -> dict[str, float]:
    from app.extensions import db
    from app.models import Notification, Ticket
    from app.worker import start_in_background
    from tests.conftest import PASSWORD, build_app

    sink = _SlowSink(delay)
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app = build_app(
        f"sqlite:///{workdir / f'bench-{delay}.db'}",
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
        MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_TIMEOUT=30, OUTBOX_POLL_SECONDS=0.2,
        FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
    )
    with app.app_context():
        sm = app.appbuilder.sm
        from app.models import Team

        team = db.session.query(Team).first()
        agent = sm.add_user("agent@deyor.test", "Bench", "Agent", "agent@deyor.test", sm.find_role("Agent"), password=PASSWORD)
        agent.teams = [team]
        db.session.commit()
        team_id = team.id
    stop = start_in_background(app)
    client = app.test_client()
    client.post("/login/", data={"username": "agent@deyor.test", "password": PASSWORD})
    timings = []
    for n in range(-WARMUP, requests):
        started = time.perf_counter()
        response = client.post("/tickets/add", data={
            "subject": f"Bench ticket {n}", "booking_id": f"BEN-{n + WARMUP:05d}", "team": team_id,
            "priority": "High", "notify_emails": "ops@deyor.test",
        })
        if n >= 0:
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302
    deadline = time.monotonic() + 3  # let the sender show it really delivers
    while sink.received == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    controller.stop()
    with app.app_context():
        tickets = db.session.query(Ticket).count()
        queued = db.session.query(Notification).count()
    return {
        "p50": statistics.median(timings), "p95": _percentile(timings, 95),
        "tickets": tickets, "queued": queued, "delivered": sink.received,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--report", type=Path, default=None,
                        help="Markdown file whose '## Ticket create vs SMTP speed' section to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fast = measure(0.0, args.requests, Path(tmp))
        slow = measure(args.delay, args.requests, Path(tmp))
    ratio = slow["p95"] / fast["p95"]
    lines = [
        "## Ticket create vs SMTP speed",
        "",
        f"{args.requests} `POST /tickets/add` by an agent after {WARMUP} warm-up requests (SQLite, Flask "
        "test client, server time; the sender thread runs alongside and delivers to the SMTP server).",
        "",
        "| SMTP server | p50 ms | p95 ms | emails queued | delivered during the run |",
        "|---|---|---|---|---|",
        f"| fast | {fast['p50']:.1f} | {fast['p95']:.1f} | {fast['queued']} | {fast['delivered']} |",
        f"| slow ({args.delay:g} s per email) | {slow['p50']:.1f} | {slow['p95']:.1f} | {slow['queued']} | {slow['delivered']} |",
        "",
        f"p95 slow / fast = {ratio:.2f} (target: at most 1.10: a request never waits on SMTP).",
        "",
        "Reproduce: `make bench`.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
