"""Bulk actions at scale: one request changing 25 selected tickets of the list.

On the pages bench's seeded database (PostgreSQL 1M tickets by default; seeded once, reused),
the pages bench's agent posts the list's row form through the screens (test client), as the
browser does: 25 of the tickets they created, each with its version. Two actions alternate
so every request changes all 25 rows (a row already at the value is left alone):

1. Priority: High ↔ Urgent (each row's UPDATE, history entry and SLA clock recomputed).
2. Assign to me, then remove me (each row's assignee link, history entry, and for the
   assignment its outbox email).

p50/p95 over the requests and the SQL statements of one request. The bench puts back what it
changed (the rows' columns, their assignees) and deletes the history and outbox rows it
wrote, so the other benches find the seeded database as it was.

    python -m bench.bulk [--sizes postgresql:1000000] [--requests 20] [--report docs/PERFORMANCE.md]
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sqlalchemy import delete, event, func, select, update

from bench.pages import _login, add_dataset_arguments, build, parse_sizes, prepare_database, reachable_datasets, say
from bench.smtp_latency import _percentile, write_section

SECTION = "## Bulk actions"
ROWS = 25
REQUESTS = 20
P95_MS = 500  # target (issue: PostgreSQL, 1M tickets)


@dataclass
class Figures:
    label: str
    rows: int = ROWS
    timings: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)


def _pick_tickets(session, agent_id: int) -> list[int]:
    """The agent's newest open tickets they created and are not assigned to."""
    from app.models import STATUS_RESOLVED, Ticket, ticket_assignee

    mine = select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == agent_id)
    return list(session.scalars(
        select(Ticket.id).where(Ticket.created_by_id == agent_id, Ticket.status != STATUS_RESOLVED,
                                Ticket.id.not_in(mine)).order_by(Ticket.id.desc()).limit(ROWS)
    ))


def _form(session, action: str, ids: list[int], **fields) -> dict:
    from app.models import Ticket

    versions = dict(session.execute(select(Ticket.id, Ticket.version).where(Ticket.id.in_(ids))).all())
    session.rollback()
    data = {"action": action, "rowid": [str(i) for i in ids], "next": "/tickets/list/", **fields}
    data.update({f"version_{i}": str(versions[i]) for i in ids})
    return data


def run(ds, url: str, seeded: bool, requests: int) -> Figures:
    from app.extensions import db
    from app.models import Notification, Ticket, TicketEvent
    from app.demo.seed import DEMO_PASSWORD

    app, cast = build(ds, url, seeded)
    figures = Figures(label=ds.label)
    with app.app_context():
        session = db.session
        ids = _pick_tickets(session, cast.agent_id)
        if len(ids) < ROWS:
            raise SystemExit(f"the bench agent has only {len(ids)} open tickets of their own")
        table = Ticket.__table__
        saved = [dict(row._mapping) for row in session.execute(select(table).where(table.c.id.in_(ids)))]
        last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
        last_mail = session.scalar(select(func.max(Notification.id))) or 0
        # Every row starts at Urgent so that each request below changes all of them.
        session.execute(update(table).where(table.c.id.in_(ids)).values(priority="Urgent"))
        session.commit()

    client = app.test_client()
    _login(client, cast.agent_email, DEMO_PASSWORD)
    counted: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        counted.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    steps = {
        "priority": [("bulk_priority", {"priority": "High"}), ("bulk_priority", {"priority": "Urgent"})],
        "assign": [("bulk_assign_me", {}), ("bulk_remove_assignees", {"assignees": str(cast.agent_id)})],
    }
    try:
        for name, (first, second) in steps.items():
            say(f"[{ds.label}] {requests} requests of '{name}' on {ROWS} rows …")
            timings: list[float] = []
            for n in range(requests + 2):  # two warm-up requests
                action, fields = first if n % 2 == 0 else second
                with app.app_context():
                    data = _form(db.session, action, ids, **fields)
                counted.clear()
                started = time.perf_counter()
                response = client.post("/tickets/action_post", data=data)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 302, response.status_code
                flashed = client.get("/tickets/list/?psize_TicketModelView=1").get_data(as_text=True)
                assert f"{ROWS} tickets updated." in flashed, f"{action}: not every row changed"
                if n >= 2:
                    timings.append(elapsed)
                    figures.statements[action] = max(figures.statements.get(action, 0), len(counted))
            figures.timings[name] = timings
    finally:
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            session = db.session
            for row in saved:
                session.execute(update(table).where(table.c.id == row["id"]).values(
                    **{k: v for k, v in row.items() if k != "id"}))
            session.execute(delete(TicketEvent).where(TicketEvent.id > last_event, TicketEvent.ticket_id.in_(ids)))
            session.execute(delete(Notification).where(Notification.id > last_mail, Notification.ticket_id.in_(ids)))
            session.commit()
    return figures


def render(results: list[Figures], skipped: list[str]) -> str:
    lines = [SECTION, "", "`python -m bench.bulk`: one request of the list's bulk toolbar on "
             f"{ROWS} selected tickets (an Agent through the screens, in-process like the other benches), "
             "on the pages bench's seeded database; every request changes all rows. Statements: the "
             "most one request ran (the rows' own UPDATEs, history and outbox INSERTs included; the "
             "reads do not grow with the rows).", "",
             "| Dataset | Action | p50 | p95 | Target | SQL statements | |", "|---|---|---|---|---|---|---|"]
    for f in results:
        for name, actions in (("priority", ("bulk_priority",)), ("assign", ("bulk_assign_me", "bulk_remove_assignees"))):
            timings = f.timings.get(name) or [0]
            p95 = _percentile(timings, 95)
            label = {"priority": "Change priority", "assign": "Assign to me / remove me"}[name]
            statements = " / ".join(str(f.statements.get(a, 0)) for a in actions)
            lines.append(f"| {f.label} | {label} ({len(timings)} requests) | {statistics.median(timings):.0f} ms | "
                         f"{p95:.0f} ms | ≤ {P95_MS} ms | {statements} | {'✅' if p95 <= P95_MS else '❌'} |")
    lines.append("")
    if skipped:
        lines += [f"Skipped: {'; '.join(skipped)}.", ""]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.set_defaults(sizes="postgresql:1000000")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="measured requests per action (even)")
    parser.add_argument("--report", type=Path, default=None, help=f"Markdown file whose '{SECTION}' section to write")
    args = parser.parse_args(argv)
    datasets, skipped, pg_url = reachable_datasets(parse_sizes(args.sizes, args.people), args.database_url)
    results = []
    for ds in datasets:
        url, seeded = prepare_database(ds, pg_url, args.sqlite_dir)
        results.append(run(ds, url, seeded, args.requests + args.requests % 2))
    report = render(results, skipped)
    print("\n" + report)
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
