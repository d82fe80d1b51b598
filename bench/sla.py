"""Service levels at scale: the scheduler's pass, a policy change, and what the clocks cost a request.

On the pages bench's seeded database (PostgreSQL 1M tickets by default; seeded once, reused):

1. A scheduler pass with nothing due, every open ticket's next step in the future: p50/p95
   over repeated passes, and the plan of its scan (the partial index on escalation_at).
2. A pass that finds 10,000 tickets due for a step (new Urgent tickets, 25 minutes old, so
   each has exactly one rung due: the first response's warning): its time, the steps and
   outbox rows written, and its peak Python memory (tracemalloc) against a pass over 2,000,
   to show memory stays flat with the batch, not the backlog.
3. A policy change on a team with about 100,000 open tickets: the admin's request (queued,
   not done in it) and the worker's batches until all are recomputed.
4. Ticket create and status change through the screens (test client, an Agent), with the
   SLA hooks on and off in alternating rounds: the p95 ratio.

The bench cleans up what it added (its tickets, steps, emails) and resets the SLA columns
it filled, so the pages bench finds the seeded database as it left it.

    python -m bench.sla [--sizes postgresql:1000000] [--report docs/PERFORMANCE.md]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Optional

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from bench.pages import add_dataset_arguments, build, parse_sizes, prepare_database, reachable_datasets, say
from bench.smtp_latency import _percentile, write_section

SECTION = "## Service levels"
EMPTY_PASSES = 50
DUE_TICKETS = 10_000
SMALL_DUE = 2_000
REQUEST_ROUNDS = 10
REQUESTS_PER_ROUND = 25
MARK = "SLA bench"  # subject of the bench's own tickets, deleted at the end

# Targets (issue: PostgreSQL, 1M tickets).
EMPTY_PASS_MS = 20
DUE_PASS_S = 10
RECOMPUTE_S = 60
REQUEST_SLOWDOWN = 1.10


@dataclass
class Figures:
    label: str
    open_tickets: int = 0
    empty_p50: float = 0
    empty_p95: float = 0
    scan_plan: str = ""
    due_seconds: float = 0
    due_steps: int = 0
    due_emails: int = 0
    peak_mb_big: float = 0
    peak_mb_small: float = 0
    recompute_team: str = ""
    recompute_tickets: int = 0
    recompute_request_ms: float = 0
    recompute_queued: bool = True
    recompute_seconds: float = 0
    requests: dict = field(default_factory=dict)  # name → (p95 with, p95 without, p50 with, p50 without)


def _now():
    from app.models import utcnow

    return utcnow()


def _future_escalations(session: Session) -> int:
    """Every open ticket gets a next step in the future (what the clocks give a live system)."""
    from app.models import STATUS_RESOLVED, Ticket

    result = session.execute(
        update(Ticket).where(Ticket.status != STATUS_RESOLVED)
        .values(escalation_at=_now() + timedelta(days=1), sla_state="on_track", updated_at=Ticket.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


def _reset_sla_columns(session: Session) -> None:
    from app.models import Ticket

    session.execute(
        update(Ticket).where(Ticket.escalation_at.is_not(None) | Ticket.first_response_due_at.is_not(None))
        .values(escalation_at=None, sla_state=None, first_response_due_at=None, resolve_due_at=None,
                escalation_level=0, updated_at=Ticket.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _vacuum(engine, tables: tuple[str, ...] = ("ticket",)) -> None:
    """What autovacuum would do later: the bench's deleted rows must not slow the next bench."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f"VACUUM ANALYZE {table}"))


def measure_empty_pass(session: Session, figures: Figures) -> None:
    from app.sla import ladder

    timings = []
    for _ in range(5 + EMPTY_PASSES):
        started = time.perf_counter()
        taken = ladder.run_pass(session)
        timings.append((time.perf_counter() - started) * 1000)
        assert taken == 0, "the empty pass took steps"
    timings = timings[5:]
    figures.empty_p50, figures.empty_p95 = statistics.median(timings), _percentile(timings, 95)
    if session.get_bind().dialect.name == "postgresql":
        from app.models import Ticket

        query = select(Ticket.id).where(Ticket.escalation_at <= _now(), Ticket.escalation_at.is_not(None)).order_by(
            Ticket.escalation_at, Ticket.id).limit(500)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
        figures.scan_plan = next((line.strip("-> ").strip() for line in plan if "Scan" in line), plan[0])


def _insert_due_tickets(session: Session, count: int) -> list[int]:
    """`count` new Urgent tickets created 25 minutes ago, each due for exactly one rung now."""
    from app.models import Person, Team, Ticket

    team_id = session.scalar(select(Team.id).order_by(Team.id))
    creator = session.scalar(select(Person.id).order_by(Person.id))
    created = _now() - timedelta(minutes=25)
    rows = [dict(
        subject=f"{MARK} {n}", booking_id=f"SLA-{n:06d}", team_id=team_id, priority="Urgent", status="Open",
        created_by_id=creator, created_at=created, updated_at=created, resolve_started_at=created,
        first_response_due_at=created + timedelta(minutes=30), resolve_due_at=created + timedelta(hours=4),
        resolve_paused_minutes=0, sla_state="on_track", escalation_level=0, sla_cycle=1, version=1,
        escalation_at=created + timedelta(minutes=23),
    ) for n in range(count)]
    for start in range(0, count, 5000):
        session.execute(insert(Ticket), rows[start:start + 5000])
    session.commit()
    return list(session.scalars(select(Ticket.id).where(Ticket.subject.like(f"{MARK} %"))))


def _remove_bench_rows(session: Session) -> None:
    from app.models import Notification, SlaStep, Ticket, TicketEvent

    ids = select(Ticket.id).where(Ticket.subject.like(f"{MARK} %"))
    session.execute(delete(SlaStep).where(SlaStep.ticket_id.in_(ids)))
    session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
    session.execute(delete(Notification).where(Notification.ticket_id.in_(ids)))
    session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
    session.commit()


def _due_pass(session: Session, count: int, trace: bool) -> tuple[float, int, int, float]:
    """Seconds, steps, emails and, with `trace`, the tracemalloc peak (MB) of one pass over `count`
    due tickets (tracing slows Python several times: the timed pass is not traced)."""
    from app.models import Notification, SlaStep, Ticket
    from app.sla import ladder

    _insert_due_tickets(session, count)
    gc.collect()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    taken = ladder.run_pass(session)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    if trace:
        tracemalloc.stop()
    ids = select(Ticket.id).where(Ticket.subject.like(f"{MARK} %"))
    steps = session.scalar(select(func.count()).select_from(SlaStep).where(SlaStep.ticket_id.in_(ids)))
    emails = session.scalar(select(func.count()).select_from(Notification).where(Notification.ticket_id.in_(ids)))
    assert taken == steps == count, (taken, steps, count)
    _remove_bench_rows(session)
    return seconds, steps, emails, peak


def measure_due_pass(session: Session, figures: Figures) -> None:
    figures.due_seconds, figures.due_steps, figures.due_emails, _ = _due_pass(session, DUE_TICKETS, trace=False)
    figures.peak_mb_small = _due_pass(session, SMALL_DUE, trace=True)[3]
    figures.peak_mb_big = _due_pass(session, DUE_TICKETS, trace=True)[3]


def measure_recompute(session: Session, figures: Figures) -> None:
    """A calendar change for the team with the most open tickets (every priority of it)."""
    from app.models import STATUS_RESOLVED, Team, Ticket
    from app.sla import recompute

    team_id, count = session.execute(
        select(Ticket.team_id, func.count()).where(Ticket.status != STATUS_RESOLVED)
        .group_by(Ticket.team_id).order_by(func.count().desc()).limit(1)
    ).one()
    figures.recompute_team = session.get(Team, team_id).name
    figures.recompute_tickets = count
    started = time.perf_counter()
    done = recompute.request(team_id, None, session)  # 0: queued for the worker
    figures.recompute_request_ms = (time.perf_counter() - started) * 1000
    figures.recompute_queued = done == 0
    started = time.perf_counter()
    while True:
        batch = recompute.run_pending(session)
        done += batch
        if batch == 0:
            break
    figures.recompute_seconds = time.perf_counter() - started
    assert done >= count, (done, count)


def measure_requests(app, cast, figures: Figures) -> None:
    """Create and status change p95 with the SLA hooks on and off, in alternating rounds."""
    from app.extensions import db
    from app.models import Ticket
    from app.sla import service
    from bench.pages import _login

    client = app.test_client()
    _login(client, cast.agent_email, "demo-password-1")
    with app.app_context():
        team_id = db.session.scalar(select(Ticket.team_id).where(Ticket.created_by_id == cast.agent_id).limit(1))
    timings = {("create", True): [], ("create", False): [], ("status", True): [], ("status", False): []}

    def create(n: int) -> float:
        started = time.perf_counter()
        response = client.post("/tickets/add", data={
            "subject": f"{MARK} request {n}", "booking_id": f"SLR-{n:06d}", "team": str(team_id), "priority": "High",
        })
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return elapsed

    n = 0
    for round_ in range(REQUEST_ROUNDS):
        for hooks in (True, False) if round_ % 2 == 0 else (False, True):
            if hooks:
                service.install()
            elif event.contains(Session, "before_flush", service._before_flush):
                event.remove(Session, "before_flush", service._before_flush)
            for _ in range(REQUESTS_PER_ROUND):
                n += 1
                timings[("create", hooks)].append(create(n))
            with app.app_context():
                ticket = db.session.scalar(
                    select(Ticket).where(Ticket.subject.like(f"{MARK} request %")).order_by(Ticket.id.desc()).limit(1))
                ticket_id, version, status = ticket.id, ticket.version, ticket.status
            for _ in range(REQUESTS_PER_ROUND):
                target = "In Progress" if status == "Open" else "Open"
                started = time.perf_counter()
                response = client.post(f"/tickets/status/{ticket_id}", data={"status": target, "version": version})
                timings[("status", hooks)].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 302
                status, version = target, version + 1
    service.install()
    for name in ("create", "status"):
        on, off = timings[(name, True)], timings[(name, False)]
        figures.requests[name] = (_percentile(on, 95), _percentile(off, 95), statistics.median(on), statistics.median(off))
    with app.app_context():
        _remove_bench_rows(db.session)


def run(ds, url: str, seeded: bool) -> Figures:
    from app.extensions import db

    app, cast = build(ds, url, seeded)
    figures = Figures(label=ds.label)
    with app.app_context():
        session = db.session
        _remove_bench_rows(session)  # a run stopped half-way
        say(f"[{ds.label}] giving every open ticket a next step in the future …")
        figures.open_tickets = _future_escalations(session)
        _vacuum(db.engine)
        say(f"[{ds.label}] empty passes …")
        measure_empty_pass(session, figures)
        say(f"[{ds.label}] passes over {SMALL_DUE} and {DUE_TICKETS} due tickets …")
        measure_due_pass(session, figures)
        say(f"[{ds.label}] a calendar change for the busiest team …")
        measure_recompute(session, figures)
        _reset_sla_columns(session)
        _vacuum(db.engine)
    say(f"[{ds.label}] create and status change, hooks on and off …")
    measure_requests(app, cast, figures)
    with app.app_context():
        _vacuum(db.engine, ("ticket", "notification", "ticket_event", "sla_step", "sla_recompute"))
    return figures


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def render(results: list[Figures], skipped: list[str]) -> str:
    lines = [SECTION, "", "`python -m bench.sla` (part of `make bench`): the scheduler and the clocks on the pages "
             "bench's seeded database. Targets from the SLA issue (PostgreSQL, 1M tickets). The request "
             f"rows alternate {REQUEST_ROUNDS} rounds of {REQUESTS_PER_ROUND} requests with the SLA hooks on and "
             "off (an Agent through the screens); the hooks cost one policy query and about a tenth of a "
             "millisecond of clock arithmetic, so the ratio of two p95s mostly shows the machine's noise.", ""]
    for f in results:
        create_with, create_without, create_p50_with, create_p50_without = f.requests["create"]
        status_with, status_without, status_p50_with, status_p50_without = f.requests["status"]
        lines += [
            f"### {f.label}", "",
            "| What | Figure | Target | |",
            "|---|---|---|---|",
            f"| Scheduler pass, nothing due ({f.open_tickets:,} open tickets waiting), p50 / p95 | "
            f"{f.empty_p50:.1f} / {f.empty_p95:.1f} ms | ≤ {EMPTY_PASS_MS} ms | {_mark(f.empty_p95 <= EMPTY_PASS_MS)} |",
            f"| Pass over {DUE_TICKETS:,} tickets due for a step: steps, emails, time | "
            f"{f.due_steps:,}, {f.due_emails:,}, {f.due_seconds:.1f} s | ≤ {DUE_PASS_S} s | "
            f"{_mark(f.due_seconds <= DUE_PASS_S)} |",
            f"| Peak Python memory of that pass (vs {SMALL_DUE:,} due) | {f.peak_mb_big:.1f} MB "
            f"({f.peak_mb_small:.1f} MB) | flat | {_mark(f.peak_mb_big <= 1.5 * f.peak_mb_small + 5)} |",
            f"| Calendar change for {f.recompute_team} ({f.recompute_tickets:,} open tickets): the request | "
            f"{f.recompute_request_ms:.0f} ms ({'queued' if f.recompute_queued else 'done in it: few tickets'}) | at once | {_mark(f.recompute_request_ms < 1000)} |",
            f"| … recomputed by the worker, in batches | {f.recompute_seconds:.1f} s | ≤ {RECOMPUTE_S} s | "
            f"{_mark(f.recompute_seconds <= RECOMPUTE_S)} |",
            f"| Ticket create p95, SLA hooks on / off (p50) | {create_with:.1f} / {create_without:.1f} ms "
            f"(×{create_with / create_without:.2f}; p50 ×{create_p50_with / create_p50_without:.2f}) | "
            f"≤ ×{REQUEST_SLOWDOWN:.2f} | {_mark(create_with <= REQUEST_SLOWDOWN * create_without)} |",
            f"| Status change p95, SLA hooks on / off (p50) | {status_with:.1f} / {status_without:.1f} ms "
            f"(×{status_with / status_without:.2f}; p50 ×{status_p50_with / status_p50_without:.2f}) | "
            f"≤ ×{REQUEST_SLOWDOWN:.2f} | {_mark(status_with <= REQUEST_SLOWDOWN * status_without)} |",
            "",
        ]
        if f.scan_plan:
            lines += [f"The scan's plan: `{f.scan_plan}`.", ""]
    if skipped:
        lines += [f"Skipped: {'; '.join(skipped)}.", ""]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.set_defaults(sizes="postgresql:1000000")
    parser.add_argument("--report", type=Path, default=None, help=f"Markdown file whose '{SECTION}' section to write")
    args = parser.parse_args(argv)
    datasets, skipped, pg_url = reachable_datasets(parse_sizes(args.sizes, args.people), args.database_url)
    results = []
    for ds in datasets:
        url, seeded = prepare_database(ds, pg_url, args.sqlite_dir)
        results.append(run(ds, url, seeded))
    report = render(results, skipped)
    print("\n" + report)
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
