"""Server time of the main pages at 100k and 1M tickets, as ratios to the framework floor.

For each dataset (backend and ticket count) the bench builds or reuses a seeded
database, picks an Agent who sees about 2,000 tickets, an Admin and a ticket with
20 comments, and times in-process (Flask test client, `time.perf_counter` around
each `client.get`) the ticket list (agent, admin), the list with a search term,
the ticket page, two queue views (the agent's "My open tickets", the admin's
"Urgent": the list URL with filters and a sort, app/tickets/queues.py), and the
floor: an empty FAB list page and a bare Flask endpoint.
Requests go round-robin over the pages, so drift of a shared machine hits every
page alike; every p95 is also given as a ratio to the empty FAB list page's.

    python -m bench.pages [--sizes sqlite:100000,postgresql:100000,postgresql:1000000]
                          [--requests 200] [--report docs/PERFORMANCE.md]

With --report, the figures also go to performance.json beside the report (under
"pages"; other benches keep their own keys) and the p95 of each page against the
ticket count is drawn to performance-p95.png there (--results/--plot to choose).

PostgreSQL databases are created on the server of $BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) as deyor_bench_<size>, SQLite files
in the system temporary directory (or --sqlite-dir). A database whose seed
matches is reused, so re-runs skip the seeding. Without a reachable PostgreSQL
server its sizes are skipped with a message.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Optional

from sqlalchemy import create_engine, event, func, insert, inspect, or_, select, text, union
from sqlalchemy.engine import Engine, make_url

from bench.smtp_latency import _percentile, write_section

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = "sqlite:100000,postgresql:100000,postgresql:1000000"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RNG_SEED = 7
UNTIL = datetime(2026, 1, 1)  # fixed: the same seed gives the same data on every run
COMMENTS_PER_TICKET = 2
TARGET_VISIBLE = 2000  # tickets the measured agent should see
VISIBLE_PER_PERSON = 2.2  # seeded tickets an average person sees, per (tickets / people)
DETAIL_COMMENTS = 20
DEFAULT_SEARCH = "meera kapoor"  # a customer name: about 1 ticket in 240 matches
WARMUP = 10
PROFILE_REQUESTS = 10
PROFILE_LINES = 12
PROFILE_SHARE = 0.25  # profile Python when it is at least this share of a slow page
EXPLAIN_SHARE = 0.15  # explain a statement taking at least this share of a slow page
PLAN_LINES = 45
ADMIN_EMAIL = "bench-admin@deyor.test"
ADMIN_PASSWORD = "bench-password-1"
MARKER_TABLE = "bench_dataset"
SECTION = "## Pages"
RESULTS_NAME = "performance.json"  # beside the report: each bench's figures under its own key
PLOT_NAME = "performance-p95.png"

# Targets (PostgreSQL, 1M tickets, the agent who sees about 2,000 tickets).
LIST_P95_MS = 40  # the new list must not be slower than the old one (p95 38 ms at 1M)
LIST_FLOOR_RATIO = 3.0
SEARCH_P95_MS = 120
DETAIL_P95_MS = 40
GROWTH_MAX = 1.5
LIST_STATEMENTS_MAX = 6  # SQL statements per list page, at every size and role

BARE, FLOOR = "bare Flask endpoint", "empty FAB list page"
AGENT_LIST, ADMIN_LIST = "list (agent)", "list (admin)"
AGENT_SEARCH, ADMIN_SEARCH = "search (agent)", "search (admin)"
AGENT_QUEUE, ADMIN_QUEUE = "queue My open tickets (agent)", "queue Urgent (admin)"
QUEUE_PAGES = {AGENT_QUEUE: ("my_open", AGENT_LIST), ADMIN_QUEUE: ("urgent", ADMIN_LIST)}  # queue, its plain list
DETAIL = "detail, 20 comments (agent)"
GROWTH_PAGES = (AGENT_LIST, ADMIN_LIST, AGENT_SEARCH, ADMIN_SEARCH)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- datasets ---------------------------------------------------------------------
@dataclass
class Dataset:
    backend: str  # "sqlite" or "postgresql"
    tickets: int
    people: int

    @property
    def short(self) -> str:
        n = self.tickets
        if n >= 1_000_000 and n % 1_000_000 == 0:
            return f"{n // 1_000_000}m"
        if n >= 1000 and n % 1000 == 0:
            return f"{n // 1000}k"
        return str(n)

    @property
    def label(self) -> str:
        return f"{'PostgreSQL' if self.backend == 'postgresql' else 'SQLite'} {self.short.upper()}"

    @property
    def spec(self) -> str:
        """What the seed was (including the generator's code): a database is reused only when this matches."""
        generator = hashlib.sha256((ROOT / "app" / "demo" / "seed.py").read_bytes()).hexdigest()[:12]
        return (f"tickets={self.tickets} people={self.people} comments={COMMENTS_PER_TICKET} "
                f"seed={RNG_SEED} until={UNTIL:%Y-%m-%d} generator={generator}")


def people_for(tickets: int) -> int:
    """Enough people that a typical agent sees about TARGET_VISIBLE tickets."""
    return max(10, round(tickets * VISIBLE_PER_PERSON / TARGET_VISIBLE))


def parse_sizes(value: str, people: Optional[int]) -> list[Dataset]:
    datasets = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        backend, _, count = item.partition(":")
        if backend not in ("sqlite", "postgresql") or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"bad size {item!r}: want sqlite:N or postgresql:N")
        datasets.append(Dataset(backend, int(count), people or people_for(int(count))))
    return datasets


def _marker(engine: Engine) -> Optional[str]:
    if not inspect(engine).has_table(MARKER_TABLE) or not inspect(engine).has_table("ticket"):
        return None
    with engine.connect() as conn:
        spec = conn.execute(text(f"SELECT spec FROM {MARKER_TABLE}")).scalar()
        tickets = conn.execute(text("SELECT COUNT(*) FROM ticket")).scalar()
    return spec if tickets is not None and spec and f"tickets={tickets} " in spec + " " else None


def _holds_seed(url: str, spec: str) -> bool:
    """Whether the database at `url` was seeded with exactly `spec`."""
    engine = create_engine(url)
    try:
        return _marker(engine) == spec
    finally:
        engine.dispose()


def _write_marker(engine: Engine, spec: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (spec VARCHAR(200) NOT NULL)"))
        conn.execute(text(f"DELETE FROM {MARKER_TABLE}"))
        conn.execute(text(f"INSERT INTO {MARKER_TABLE} (spec) VALUES (:spec)"), {"spec": spec})


def pg_reachable(url: str) -> Optional[str]:
    """None when a PostgreSQL server answers at `url`, else the reason."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error: not reachable
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    finally:
        engine.dispose()


def reachable_datasets(datasets: list[Dataset], database_url: str) -> tuple[list[Dataset], list[str], str]:
    """The datasets that can be measured, what is skipped and why, and the PostgreSQL server URL.

    PostgreSQL sizes are skipped with a message when no server answers at `database_url`."""
    from config import normalize_database_url

    pg_url = normalize_database_url(database_url)
    skipped: list[str] = []
    if any(ds.backend == "postgresql" for ds in datasets):
        reason = pg_reachable(pg_url)
        if reason:
            shown = make_url(database_url).render_as_string(hide_password=True)
            names = [f"postgresql:{ds.tickets}" for ds in datasets if ds.backend == "postgresql"]
            say(f"PostgreSQL not reachable at {shown} ({reason}): skipping {', '.join(names)}. "
                "Set BENCH_DATABASE_URL to a server where this user may create databases.")
            skipped.append(f"{', '.join(names)} (no PostgreSQL server reachable at {shown})")
            datasets = [ds for ds in datasets if ds.backend != "postgresql"]
    return datasets, skipped, pg_url


def prepare_database(ds: Dataset, pg_url: str, sqlite_dir: Path) -> tuple[str, bool]:
    """The database URL for `ds`, and whether it already holds the right seed."""
    if ds.backend == "sqlite":
        sqlite_dir.mkdir(parents=True, exist_ok=True)
        path = sqlite_dir / f"deyor_bench_{ds.short}.db"
        url = f"sqlite:///{path}"
        if path.exists():
            if _holds_seed(url, ds.spec):
                return url, True
            path.unlink()
        return url, False
    name = f"deyor_bench_{ds.short}"
    base = make_url(pg_url)
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if exists:
            if _holds_seed(url, ds.spec):
                return url, True
            with admin.connect() as conn:  # only ever our own bench database
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url, False


# --- the app and its cast ----------------------------------------------------------
def _empty_list_view():
    """A plain FAB ModelView, FAB's own list template, on a table with no rows.

    The notification outbox is empty in a seeded database (seeding sends nothing,
    the bench writes no ticket through the ORM). Columns are plain ones, as many
    as the ticket list shows; relations are left out of its filters so the
    filter form does not load the ticket table.
    """
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import Notification

    class EmptyListView(ModelView):
        route_base = "/bench/empty"
        datamodel = SQLAInterface(Notification)
        base_permissions = ["can_list"]
        page_size = 25
        list_columns = ["id", "event", "state", "attempts", "to_addrs", "subject", "created_at", "sent_at"]
        search_columns = ["event", "state", "to_addrs", "subject", "created_at"]

    return EmptyListView


@dataclass
class Cast:
    agent_id: int
    agent_email: str
    agent_visible: int
    admin_email: str
    ticket_id: int


def build(ds: Dataset, url: str, seeded: bool):
    from app.demo.seed import seed
    from app.extensions import db
    from tests.conftest import build_app

    app = build_app(url)
    with app.app_context():
        view = app.appbuilder.add_view_no_menu(_empty_list_view())
        app.appbuilder.sm.add_permissions_view(view.base_permissions, view.class_permission_name)
        if not seeded:
            say(f"[{ds.label}] seeding {ds.tickets} tickets, {ds.people} people (once; reused by later runs) …")
            started = time.perf_counter()
            seed(db.session, ds.tickets, ds.people, COMMENTS_PER_TICKET, RNG_SEED, UNTIL)
            if ds.backend == "postgresql":
                # What autovacuum does soon after a bulk load: statistics and visibility map.
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            _write_marker(db.engine, ds.spec)
            say(f"[{ds.label}] seeded in {time.perf_counter() - started:.0f} s")
        else:
            say(f"[{ds.label}] reusing the seeded database")
        cast = _cast(app)
    return app, cast


def _cast(app) -> Cast:
    from app.extensions import db
    from app.models import Comment, Person, Ticket, ticket_assignee

    sm = app.appbuilder.sm
    session = db.session
    user_role = sm.user_model.roles.property.secondary
    role = sm.role_model

    # Visible tickets per active agent-only person: created ∪ assigned (the Agent rule).
    pairs = union(
        select(Ticket.created_by_id.label("user_id"), Ticket.id.label("ticket_id")),
        select(ticket_assignee.c.user_id.label("user_id"), ticket_assignee.c.ticket_id.label("ticket_id")),
    ).subquery()
    with_role = lambda *names: (select(user_role.c.user_id).join(role, role.id == user_role.c.role_id)  # noqa: E731
                                .where(role.name.in_(names)))
    visible = func.count()
    row = session.execute(
        select(pairs.c.user_id, visible)
        .join(Person, Person.id == pairs.c.user_id)
        .where(Person.active.is_(True), Person.id.in_(with_role("Agent")),
               Person.id.not_in(with_role("Lead", sm.auth_role_admin)))
        .group_by(pairs.c.user_id)
        .order_by(func.abs(visible - TARGET_VISIBLE), pairs.c.user_id)
        .limit(1)
    ).first()
    if row is None:
        raise SystemExit("no active agent with tickets in the bench database")
    agent = session.get(Person, row[0])

    admin = session.scalars(select(Person).where(Person.email == ADMIN_EMAIL)).first()
    if admin is None:
        admin = sm.add_user(ADMIN_EMAIL, "Bench", "Admin", ADMIN_EMAIL, sm.find_role(sm.auth_role_admin),
                            password=ADMIN_PASSWORD)
        if not admin:
            raise SystemExit("could not create the bench admin")
        session.commit()
    else:
        sm.reset_password(admin.id, ADMIN_PASSWORD)

    # The agent's newest visible ticket with at most 20 comments, topped up to exactly 20.
    comments = select(func.count(Comment.id)).where(Comment.ticket_id == Ticket.id).scalar_subquery()
    assigned = select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == agent.id)
    ticket_id, count = session.execute(
        select(Ticket.id, comments)
        .where(or_(Ticket.created_by_id == agent.id, Ticket.id.in_(assigned)), comments <= DETAIL_COMMENTS)
        .order_by(Ticket.id.desc()).limit(1)
    ).one()
    if count < DETAIL_COMMENTS:
        created = session.scalar(select(Ticket.created_at).where(Ticket.id == ticket_id))
        session.execute(insert(Comment.__table__), [
            dict(ticket_id=ticket_id, author_id=agent.id, body=f"Bench note {n + 1}: called the supplier again.",
                 created_at=created + timedelta(hours=n + 1))
            for n in range(count, DETAIL_COMMENTS)
        ])
        session.commit()
    cast = Cast(agent.id, agent.email, row[1], ADMIN_EMAIL, ticket_id)
    session.remove()
    return cast


# --- measuring -----------------------------------------------------------------------
class SqlMeter:
    """Statements and their time, from SQLAlchemy's cursor events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.seconds = 0.0
        self.capture: Optional[list[tuple[float, str, object]]] = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info["bench_started"].pop()
        self.count += 1
        self.seconds += took
        if self.capture is not None:
            self.capture.append((took, statement, parameters))

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


@dataclass
class Page:
    name: str
    url: str
    client: object
    rows: Optional[int] = None  # what the page shows: record count, comments
    rows_capped: bool = False  # the record count is a lower bound ("10,000+")
    ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return _percentile(self.ms, 95)

    @property
    def sql_p50(self) -> float:
        return statistics.median(self.sql_ms)

    @property
    def statements_text(self) -> str:
        low, high = min(self.statements), max(self.statements)
        return str(low) if low == high else f"{low}–{high}"


@dataclass
class Result:
    dataset: Dataset
    cast: Cast
    pages: dict[str, Page]
    rounds: int
    search: str
    db_version: str
    diagnoses: dict[str, str] = field(default_factory=dict)

    def ratio(self, name: str) -> float:
        return self.pages[name].p95 / self.pages[FLOOR].p95


def _login(client, email: str, password: str) -> None:
    response = client.post("/login/", data={"username": email, "password": password})
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"bench login failed for {email}")


# FAB's list pages say "Record Count: N"; the ticket list carries it as data-record-count="N".
RECORD_COUNT = re.compile(rb"(?:Record Count:</strong>\s*|data-record-count=\")(\d[\d,]*)(\+?)")


def record_count(body: bytes) -> Optional[tuple[int, bool]]:
    """A list page's record count, and whether it is a lower bound: the ticket list stops
    counting where nobody pages any further and shows e.g. "10,000+"."""
    found = RECORD_COUNT.search(body)
    if not found:
        return None
    return int(found.group(1).replace(b",", b"")), bool(found.group(2))


def rows_text(rows: int, capped: bool) -> str:
    return f"{rows:,}+" if capped else f"{rows:,}"


def _check(page: Page, body: bytes) -> None:
    """The page is the real one: list pages show their record count, the detail its comments."""
    if page.name == BARE:
        return
    if page.name == DETAIL:
        page.rows = body.count(b'class="list-group-item ticket-comment"')
        if page.rows != DETAIL_COMMENTS:
            raise SystemExit(f"the detail page shows {page.rows} comments, expected {DETAIL_COMMENTS}")
        return
    found = record_count(body)
    if found is None:
        raise SystemExit(f"{page.name}: no record count on {page.url}")
    page.rows, page.rows_capped = found


def measure(app, ds: Dataset, cast: Cast, requests: int, search: str, max_seconds: float) -> Result:
    from urllib.parse import quote_plus

    from app.demo.seed import DEMO_PASSWORD
    from app.extensions import db
    from app.tickets.queues import QUEUES

    queue = {q.key: q.href for q in QUEUES}
    agent, admin = app.test_client(), app.test_client()
    _login(agent, cast.agent_email, DEMO_PASSWORD)
    _login(admin, cast.admin_email, ADMIN_PASSWORD)
    term = quote_plus(search)
    pages = [
        Page(BARE, "/health", agent),
        Page(FLOOR, "/bench/empty/list/", admin),
        Page(AGENT_LIST, "/tickets/list/", agent),
        Page(ADMIN_LIST, "/tickets/list/", admin),
        Page(AGENT_SEARCH, f"/tickets/list/?search={term}", agent),
        Page(ADMIN_SEARCH, f"/tickets/list/?search={term}", admin),
        Page(AGENT_QUEUE, queue[QUEUE_PAGES[AGENT_QUEUE][0]], agent),
        Page(ADMIN_QUEUE, queue[QUEUE_PAGES[ADMIN_QUEUE][0]], admin),
        Page(DETAIL, f"/tickets/show/{cast.ticket_id}", agent),
    ]
    with app.app_context():
        engine = db.engine
        db_version = _db_version(engine)
    meter = SqlMeter(engine)
    try:
        for page in pages:  # warm-up, and a check that each page is what it claims
            for _ in range(WARMUP):
                response = page.client.get(page.url)
                if response.status_code != 200:
                    raise SystemExit(f"{page.name}: {page.url} answered {response.status_code}")
            _check(page, response.data)
        if pages[1].rows != 0:
            raise SystemExit("the empty FAB list page is not empty")
        say(f"[{ds.label}] agent sees {cast.agent_visible} tickets; measuring {requests} rounds of {len(pages)} pages …")
        deadline = time.monotonic() + max_seconds
        rounds = 0
        for _ in range(requests):
            for page in pages:
                meter.reset()
                started = time.perf_counter()
                response = page.client.get(page.url)
                took = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{page.name}: {page.url} answered {response.status_code}")
                page.ms.append(took * 1000)
                page.sql_ms.append(meter.seconds * 1000)
                page.statements.append(meter.count)
            rounds += 1
            if time.monotonic() > deadline:
                say(f"[{ds.label}] time budget of {max_seconds:.0f} s reached after {rounds} rounds")
                break
        result = Result(ds, cast, {p.name: p for p in pages}, rounds, search, db_version)
        for name, why in missed_pages(result).items():
            result.diagnoses[name] = diagnose(result.pages[name], meter, engine, why)
    finally:
        meter.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return result


def _db_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return "PostgreSQL " + conn.execute(text("SHOW server_version")).scalar().split()[0]
        return "SQLite " + conn.execute(text("SELECT sqlite_version()")).scalar()


# --- targets -------------------------------------------------------------------------
@dataclass
class Check:
    what: str
    measured: str
    met: bool
    miss: str = ""  # by how much


def _ms_check(what: str, value: float, limit: float) -> Check:
    miss = "" if value <= limit else f"+{value - limit:.1f} ms ({value / limit:.2f}× the target)"
    return Check(what, f"{value:.1f} ms", value <= limit, miss)


def target_checks(big: Result, small: Optional[Result], budget: int) -> list[Check]:
    """The issue's targets on the 1M (largest PostgreSQL) dataset, growth against the 100k one."""
    p = big.pages
    checks = [
        _ms_check(f"list page p95 ≤ {LIST_P95_MS} ms", p[AGENT_LIST].p95, LIST_P95_MS),
        Check(f"list page p95 ≤ {LIST_FLOOR_RATIO:g}× the empty FAB list page", f"{big.ratio(AGENT_LIST):.2f}×",
              big.ratio(AGENT_LIST) <= LIST_FLOOR_RATIO,
              "" if big.ratio(AGENT_LIST) <= LIST_FLOOR_RATIO
              else f"{big.ratio(AGENT_LIST) / LIST_FLOOR_RATIO:.2f}× the allowed ratio"),
        _ms_check(f"search p95 ≤ {SEARCH_P95_MS} ms", p[AGENT_SEARCH].p95, SEARCH_P95_MS),
        _ms_check(f"queue view p95 ≤ {LIST_P95_MS} ms, as the plain list ({AGENT_QUEUE}; "
                  f"{p[AGENT_QUEUE].p95 / p[AGENT_LIST].p95:.2f}× the plain list's p95)", p[AGENT_QUEUE].p95,
                  LIST_P95_MS),
        _ms_check(f"detail p95 ≤ {DETAIL_P95_MS} ms", p[DETAIL].p95, DETAIL_P95_MS),
    ]
    if small is not None:
        for name in (AGENT_LIST, AGENT_SEARCH):
            raw, relative = growth(small, big, name)
            ok = relative <= GROWTH_MAX
            checks.append(Check(
                f"{name}: p95 growth {small.dataset.short.upper()} → {big.dataset.short.upper()} ≤ {GROWTH_MAX:g}×",
                f"{relative:.2f}× against the floor ({raw:.2f}× in ms)", ok,
                "" if ok else f"{relative / GROWTH_MAX:.2f}× the allowed growth"))
    # At most the target on every list and search page, at every size and for both roles. (A search
    # whose matches fit on one page needs no count, so one statement fewer is no failure.)
    names = (AGENT_LIST, ADMIN_LIST, AGENT_SEARCH, ADMIN_SEARCH, AGENT_QUEUE, ADMIN_QUEUE)
    sizes = [r for r in (small, big) if r is not None]
    per_page = {name: [n for r in sizes for n in r.pages[name].statements] for name in names}
    highest = max(max(counts) for counts in per_page.values())
    span = lambda counts: str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"  # noqa: E731
    over = [name for name, counts in per_page.items() if max(counts) > budget]
    checks.append(Check(
        f"SQL statements per list page ≤ {budget} (list, search and queues, every size, agent and admin)",
        f"{highest} at most (" + ", ".join(f"{name} {span(counts)}" for name, counts in per_page.items()) + ")",
        not over, f"up to {highest} statements, {highest - budget} over the target ({', '.join(over)})"))
    return checks


def growth(small: Result, big: Result, name: str) -> tuple[float, float]:
    """p95 growth in ms, and relative to each run's empty-FAB-list floor."""
    return big.pages[name].p95 / small.pages[name].p95, big.ratio(name) / small.ratio(name)


def missed_pages(result: Result) -> dict[str, str]:
    """Pages over an absolute or floor-ratio target (the targets are PostgreSQL's; an SQLite page
    over an absolute one is looked into as well, for information)."""
    p = result.pages
    limits = {AGENT_LIST: LIST_P95_MS, ADMIN_LIST: LIST_P95_MS, AGENT_SEARCH: SEARCH_P95_MS,
              ADMIN_SEARCH: SEARCH_P95_MS, DETAIL: DETAIL_P95_MS, AGENT_QUEUE: LIST_P95_MS,
              ADMIN_QUEUE: LIST_P95_MS}
    missed = {}
    for name, limit in limits.items():
        reasons = []
        if p[name].p95 > limit:
            reasons.append(f"p95 {p[name].p95:.1f} ms > {limit} ms")
        if (name in (AGENT_LIST, ADMIN_LIST) and result.dataset.backend == "postgresql"
                and result.ratio(name) > LIST_FLOOR_RATIO):
            reasons.append(f"{result.ratio(name):.2f}× the empty FAB list page > {LIST_FLOOR_RATIO:g}×")
        if reasons:
            missed[name] = "; ".join(reasons)
    return missed


# --- why a page is slow ------------------------------------------------------------------
def _where(path: str) -> str:
    """A file name without this machine's directories."""
    path = path.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    root = str(ROOT).replace("\\", "/") + "/"
    if path.startswith(root):
        return path[len(root):]
    found = re.search(r"/lib/(python3\.\d+/.*)$", path)
    return found.group(1) if found else Path(path).name


def diagnose(page: Page, meter: SqlMeter, engine: Engine, why: str) -> str:
    """Where the time of a slow page goes: SQL (slowest statements, EXPLAIN ANALYZE) and Python (profile)."""
    meter.capture = []
    started = time.perf_counter()
    page.client.get(page.url)
    total_ms = (time.perf_counter() - started) * 1000
    captured, meter.capture = meter.capture, None
    sql_ms = sum(took for took, _, _ in captured) * 1000
    lines = [f"**{page.name}** — {why}.", "",
             f"One request: {total_ms:.1f} ms, of which SQL {sql_ms:.1f} ms in {len(captured)} statements "
             f"({sql_ms / total_ms:.0%}) and Python (FAB, WTForms, Jinja, ORM) {total_ms - sql_ms:.1f} ms.", ""]
    slowest = sorted(captured, key=lambda c: c[0], reverse=True)[:3]
    lines += ["Slowest statements:", ""]
    lines += [f"- {took * 1000:.1f} ms: `{' '.join(statement.split())[:150]}…`" for took, statement, _ in slowest]
    lines.append("")
    hints: list[str] = []
    for took, statement, parameters in slowest[:2]:
        if took * 1000 < EXPLAIN_SHARE * total_ms:
            continue
        explain, plan = _plan(engine, statement, parameters)
        hints += _plan_hints(statement, plan, took * 1000)
        lines += [f"<details><summary><code>{explain}</code> of the {took * 1000:.1f} ms statement</summary>",
                  "", "```"]
        lines += plan[:PLAN_LINES] + (["…"] if len(plan) > PLAN_LINES else []) + ["```", "", "</details>", ""]
    if total_ms - sql_ms >= PROFILE_SHARE * total_ms:
        profile, profile_hints = _profile(page)
        lines += profile
        hints += profile_hints
    if hints:
        lines += ["What the plans and the profile show:", ""] + [f"- {hint}" for hint in dict.fromkeys(hints)] + [""]
    return "\n".join(lines)


def _plan_hints(statement: str, plan: list[str], ms: float) -> list[str]:
    """Symptoms recognised in a plan, in words (only what the plan shows)."""
    text_ = "\n".join(plan)
    hints = []
    counted = "the count" if statement.lstrip().upper().startswith("SELECT COUNT(") else "the rows query"
    walk = re.search(r"Index Scan Backward using ix_ticket_updated_at on ticket .*rows=(\d+) .*"
                     r"\(actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=1\)", text_)
    removed = re.search(r"Rows Removed by Filter: (\d+)", text_)
    if walk and removed:
        expected, found = int(walk.group(1)), int(walk.group(2))
        hints.append(
            f"{counted} ({ms:.0f} ms) walks the `updated_at` index newest first, because the planner expects "
            f"{expected:,} rows to match and so the first 25 to come quickly; it got {found:,} after reading "
            f"{found + int(removed.group(1)):,} rows. "
            + ("The visibility subquery and the search's ILIKEs" if "SubPlan" in text_ and "~~*" in text_
               else "The visibility subquery" if "SubPlan" in text_ else "The search's ILIKEs")
            + " cannot be estimated, so which plan is chosen depends on the statistics of the day.")
    trigram = len(re.findall(r"Bitmap Index Scan on ix_trgm_ticket_", text_))
    if trigram >= 3:
        hints.append(f"the search scans {trigram} trigram indexes, one per search field (for the rows, and again "
                     "for the count when the matches fill more than one page).")
    full = re.search(r"(Seq Scan|Index Only Scan using \w+) on ticket .*rows=(\d+) loops=(\d+)", text_)
    if counted == "the count" and full and "hashed SubPlan" not in text_ and "Bitmap" not in text_:
        rows = int(full.group(2)) * int(full.group(3))
        if rows >= 100_000:
            hints.append(f"the count ({ms:.0f} ms) reads about {rows:,} rows of the ticket table to count "
                         "the matches.")
    if re.search(r"SCAN ticket\b", text_) and "lower(" in statement:
        hints.append(f"{counted} ({ms:.0f} ms) scans the ticket table calling SQLite's Unicode-aware `lower()` "
                     "(a Python function) on the searched text of every row; SQLite has no index for a substring "
                     "search.")
    return hints


def _plan(engine: Engine, statement: str, parameters) -> tuple[str, list[str]]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return "EXPLAIN ANALYZE", [r[0] for r in conn.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters)]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    depth = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "EXPLAIN QUERY PLAN", lines


def _profile(page: Page) -> tuple[list[str], list[str]]:
    """cProfile over a few requests: the heaviest functions by own time (SQL excluded: the
    driver's execute is the SQL time above) and the heaviest FAB/app/template frames by total time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_REQUESTS):
        page.client.get(page.url)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    per_request = lambda value: value * 1000 / PROFILE_REQUESTS  # noqa: E731
    total = max(ct for (_, _, _, ct, _) in stats.values())

    def row(key, value) -> str:
        (path, line, name), (_, calls, own, cumulative, _) = key, value
        return (f"{per_request(own):8.2f} {per_request(cumulative):8.2f} {calls / PROFILE_REQUESTS:9.0f}  "
                f"{name} ({_where(path)}:{line})")

    sql = lambda key: key[2].startswith("<method 'execute' of")  # noqa: E731
    by_own = sorted(((k, v) for k, v in stats.items() if not sql(k)), key=lambda kv: kv[1][2], reverse=True)
    ours = re.compile(r"flask_appbuilder/|wtforms/|/app/|\.html$")
    frames = sorted(((k, v) for k, v in stats.items()
                     if ours.search(k[0].replace("\\", "/")) and v[3] < 0.9 * total),
                    key=lambda kv: kv[1][3], reverse=True)
    by_cum, previous = [], None
    for key, value in frames:  # a frame that only wraps the one before it (same total) says nothing new
        if previous is None or value[3] < 0.97 * previous:
            by_cum.append((key, value))
        previous = value[3]
    header = f"{'own ms':>8} {'total ms':>8} {'calls':>9}  function (per request)"
    calls = {(k[2], _where(k[0])): v[1] / PROFILE_REQUESTS for k, v in stats.items()}
    hints = []
    options = calls.get(("render_option", "wtforms/widgets/core.py"), 0) + sum(
        n for (name, where), n in calls.items() if name == "render_option" and where != "wtforms/widgets/core.py")
    if options >= 500:
        hints.append(f"the list's filter form renders {options:,.0f} `<option>`s per page: FAB fills a relation "
                     "filter's select with every row of the related table, so this grows with that table, not "
                     "with the rows shown.")
    interfaces = sum(n for (name, where), n in calls.items()
                     if name == "__init__" and where == "flask_appbuilder/models/sqla/interface.py")
    if interfaces >= 500:
        hints.append(f"FAB builds {interfaces:,.0f} `SQLAInterface` objects per page: its related-field "
                     "choices call `get_related_interface()` once per option to read the option's primary key.")
    return ([f"<details><summary>Python profile over {PROFILE_REQUESTS} requests</summary>", "",
             "Profiling slows everything down; compare the figures with each other. Heaviest by own time:",
             "", "```", header]
            + [row(k, v) for k, v in by_own[:PROFILE_LINES]] + ["```", "",
               "Heaviest FAB, WTForms, app and template frames by total time (a frame that only wraps the one "
               "above it is left out):",
               "", "```", header]
            + [row(k, v) for k, v in by_cum[:PROFILE_LINES]] + ["```", "", "</details>", ""]), hints


# --- the report --------------------------------------------------------------------------
def _queue_href(key: str) -> str:
    from app.tickets.queues import QUEUES

    return next(q.href for q in QUEUES if q.key == key)


def render(results: list[Result], skipped: list[str], requests: int, budget: int,
           plot_link: Optional[str] = None) -> str:
    out = [SECTION, ""]
    out.append(
        f"Server time of the main pages, measured in-process with the Flask test client "
        f"(`time.perf_counter` around each `client.get`, no network, no browser): {WARMUP} warm-up requests per "
        f"page, then up to {requests} rounds in which every page is requested once in turn, so a slow-down of "
        "this shared machine hits all pages alike. Absolute times drift from run to run; the ratio to the "
        "**empty FAB list page** (a plain FAB `ModelView` with FAB's own list template, 8 columns, registered "
        "by the bench on the notification outbox table, which has no rows in a seeded database; requested by "
        "the admin) is the figure to compare. The **bare Flask endpoint** is `GET /health` (no database). "
        "SQL statements are counted with SQLAlchemy's `before_cursor_execute`/`after_cursor_execute` events; "
        "*SQL ms* is the time spent inside those statements.")
    out.append("")
    out.append(
        f"Data: `flask demo seed` generator (seed {RNG_SEED}, {COMMENTS_PER_TICKET} comments per ticket, "
        f"tickets spread over three years). The number of people grows with the tickets so that a typical "
        f"agent sees about {TARGET_VISIBLE:,} tickets; the bench measures the active Agent whose visible count "
        f"(created ∪ assigned, counted in SQL) is closest to {TARGET_VISIBLE:,}, an Admin (sees everything), and "
        f"the agent's newest ticket topped up to exactly {DETAIL_COMMENTS} comments. The search is the list's "
        f"search box with the term “{results[0].search if results else DEFAULT_SEARCH}” (by default a customer "
        "name, which about one ticket in 240 carries in its subject and customer name). The queue views are "
        "the list's own URL with the queue's filters and sort (`app/tickets/queues.py`): "
        + " and ".join(f"**{name}** (`{_queue_href(key)}`)" for name, (key, _) in QUEUE_PAGES.items())
        + "; they should cost what the plain list costs (its p95, the same statement count)."
        + (" A record count with a “+” is where the ticket list stopped counting (it counts only as far as "
           "anyone pages)." if any(page.rows_capped for res in results for page in res.pages.values()) else ""))
    out.append("")
    for res in results:
        c = res.cast
        out.append(f"### {res.dataset.label} tickets ({res.db_version})")
        out.append("")
        out.append(f"{res.dataset.tickets:,} tickets, {res.dataset.people:,} people; the agent sees {c.agent_visible:,} "
                   f"tickets; {res.rounds} measured rounds.")
        out.append("")
        out.append("| page | rows (record count) | p50 ms | p95 ms | p95 / empty FAB list | SQL statements | SQL ms (p50) |")
        out.append("|---|---|---|---|---|---|---|")
        for page in res.pages.values():
            rows = ("" if page.rows is None else f"{page.rows} comments" if page.name == DETAIL
                    else rows_text(page.rows, page.rows_capped))
            out.append(f"| {page.name} | {rows} | {page.p50:.1f} | {page.p95:.1f} | {res.ratio(page.name):.2f} | "
                       f"{page.statements_text} | {page.sql_p50:.1f} |")
        out.append("")
    pg = [r for r in results if r.dataset.backend == "postgresql"]
    big = max(pg, key=lambda r: r.dataset.tickets) if pg else None
    small = min(pg, key=lambda r: r.dataset.tickets) if len(pg) > 1 else None
    if big is not None and small is not None:
        out.append(f"### Growth {small.dataset.label} → {big.dataset.label}")
        out.append("")
        out.append(f"| page | p95 ms {small.dataset.short.upper()} | p95 ms {big.dataset.short.upper()} | growth in ms | "
                   f"growth against the floor |")
        out.append("|---|---|---|---|---|")
        for name in GROWTH_PAGES + (DETAIL, FLOOR):
            raw, relative = growth(small, big, name)
            out.append(f"| {name} | {small.pages[name].p95:.1f} | {big.pages[name].p95:.1f} | {raw:.2f}× | "
                       f"{relative:.2f}× |")
        out.append("")
    if plot_link:
        out.append("### p95 against ticket count")
        out.append("")
        out.append(f"![p95 of the list, search and detail pages against the ticket count]({plot_link})")
        out.append("")
        out.append("One line per page and backend (log scales); the dotted lines are the targets. The figures "
                   f"are also in `{RESULTS_NAME}` beside this file.")
        out.append("")
    out.append("### Targets")
    out.append("")
    if big is None:
        out.append("The targets are for PostgreSQL; no PostgreSQL dataset was measured in this run.")
        out.append("")
    else:
        out.append(f"Measured on {big.dataset.label} tickets for the agent who sees {big.cast.agent_visible:,} "
                   f"tickets; growth {'against ' + small.dataset.label if small else 'not measured (one size only)'}. "
                   "Growth is judged against the floor of each run (the drift of a shared machine cancels out); "
                   "the growth in ms is beside it.")
        out.append("")
        out.append("| target | measured | met? |")
        out.append("|---|---|---|")
        for check in target_checks(big, small, budget):
            out.append(f"| {check.what} | {check.measured} | {'yes' if check.met else 'no: ' + check.miss} |")
        out.append("")
        admin_notes = [f"{name}: p95 {big.pages[name].p95:.1f} ms" for name in (ADMIN_LIST, ADMIN_SEARCH, ADMIN_QUEUE)]
        out.append(f"For reference (the targets name the agent): {'; '.join(admin_notes)}.")
        out.append("")
    diagnosed = [(res, name, text_) for res in results for name, text_ in res.diagnoses.items()]
    if diagnosed:
        out.append("### Where the time goes on the pages over target")
        out.append("")
        out.append("Measured on one extra request of each page over a target (the targets are PostgreSQL's; an "
                   "SQLite page over their times is shown for information). The hints are recognised in the "
                   "plans and the profile of this run.")
        out.append("")
        for res, name, text_ in diagnosed:
            out.append(f"#### {res.dataset.label}: {name}")
            out.append("")
            out.append(text_)
    if skipped:
        out.append("Not measured in this run: " + "; ".join(skipped) + ".")
        out.append("")
    out.append("### How to reproduce")
    out.append("")
    out.append(
        "`make bench` runs every bench (this one with `--sizes "
        f"{DEFAULT_SIZES} --requests 200`). Directly: `python -m bench.pages [--sizes sqlite:N,postgresql:N,…] "
        "[--requests N] [--search TERM] [--people N] [--report FILE] [--results FILE] [--plot FILE]`. PostgreSQL datasets go to databases named "
        "`deyor_bench_<size>` on the server of `BENCH_DATABASE_URL` (default "
        f"`{DEFAULT_PG_URL}`; skipped with a message when no server answers); SQLite ones to files in the "
        "system temporary directory (`--sqlite-dir` to choose). A database seeded with the same parameters "
        "is reused, so only the first run seeds (a few seconds for SQLite 100k, about four minutes for "
        "PostgreSQL 1M). After "
        "seeding, PostgreSQL gets a `VACUUM ANALYZE` (what autovacuum does shortly after a bulk load); "
        "SQLite is left as the app leaves it (no `ANALYZE`).")
    out.append("")
    out.append(f"Last run: {date.today().isoformat()}, Python {platform.python_version()}, "
               f"{os.cpu_count()} CPUs, " + ", ".join(sorted({r.db_version for r in results})) + ".")
    return "\n".join(out).rstrip("\n") + "\n"


# --- figures for other tools: JSON and the p95 plot ----------------------------------------
PLOT_PAGES = (AGENT_LIST, ADMIN_LIST, AGENT_SEARCH, ADMIN_SEARCH, DETAIL)


def write_results(path: Path, key: str, value: dict) -> None:
    """Store one bench's figures under `key` of the JSON file at `path`, keeping the other keys."""
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def results_json(results: list[Result]) -> dict:
    return {
        "date": date.today().isoformat(),
        "targets_p95_ms": {"list": LIST_P95_MS, "search": SEARCH_P95_MS, "detail": DETAIL_P95_MS},
        "datasets": [{
            "backend": res.dataset.backend,
            "tickets": res.dataset.tickets,
            "people": res.dataset.people,
            "database": res.db_version,
            "agent_visible": res.cast.agent_visible,
            "rounds": res.rounds,
            "pages": {page.name: {"rows": page.rows, "rows_capped": page.rows_capped, "p50_ms": round(page.p50, 2),
                                  "p95_ms": round(page.p95, 2),
                                  "statements": [min(page.statements), max(page.statements)]}
                      for page in res.pages.values()},
        } for res in results],
    }


def _count(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    return f"{n / 1000:g}k" if n >= 1000 else f"{n:g}"


def plot(figures: dict, path: Path) -> None:
    """p95 of the list, search and detail pages against the ticket count: one line per page and
    backend (log scales), the targets as dotted horizontal lines. Written without a timestamp or
    version in the PNG, so the same figures give the same file."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

    colours = dict(zip(PLOT_PAGES, ("#1f77b4", "#17becf", "#d62728", "#ff7f0e", "#2ca02c")))
    styles = {"postgresql": ("-", "o", "PostgreSQL"), "sqlite": ("--", "s", "SQLite")}
    targets = figures["targets_p95_ms"]
    datasets = sorted(figures["datasets"], key=lambda d: (d["backend"], d["tickets"]))
    counts = sorted({d["tickets"] for d in datasets})
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots(figsize=(8.5, 4.8), dpi=100)
        values = []
        for backend, (line, marker, label) in styles.items():
            points = [d for d in datasets if d["backend"] == backend]
            if not points:
                continue
            for name in PLOT_PAGES:
                xs = [d["tickets"] for d in points if name in d["pages"]]
                ys = [d["pages"][name]["p95_ms"] for d in points if name in d["pages"]]
                values += ys
                ax.plot(xs, ys, linestyle=line, marker=marker, color=colours[name], linewidth=1.6,
                        markersize=5, label=f"{name} — {label}")
        for kind, ms in targets.items():
            ax.axhline(ms, color="#555555", linestyle=":", linewidth=1)
            ax.text(0.995, ms, f"{kind} target {ms} ms", transform=ax.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize=8, color="#555555")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(counts[0] / 2, counts[-1] * 2)
        low, high = min(values + list(targets.values())), max(values + list(targets.values()))
        ax.set_ylim(low / 1.6, high * 1.6)
        ax.xaxis.set_major_locator(FixedLocator(counts))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _count(x)))
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        ax.set_xlabel("tickets in the database")
        ax.set_ylabel("p95 server time (ms)")
        ax.set_title("Page p95 against ticket count (in-process, Flask test client)")
        ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)


def print_summary(results: list[Result]) -> None:
    for res in results:
        print(f"\n{res.dataset.label} (agent sees {res.cast.agent_visible}, {res.rounds} rounds)")
        print(f"  {'page':<30} {'p50 ms':>8} {'p95 ms':>8} {'p95/floor':>9} {'stmts':>6} {'SQL ms':>7}")
        for page in res.pages.values():
            print(f"  {page.name:<30} {page.p50:8.1f} {page.p95:8.1f} {res.ratio(page.name):9.2f} "
                  f"{page.statements_text:>6} {page.sql_p50:7.1f}")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every bench shares: which datasets, where they live, where figures go."""
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"backend:tickets,… (default {DEFAULT_SIZES})")
    parser.add_argument("--people", type=int, default=None,
                        help=f"people to seed (default: tickets × {VISIBLE_PER_PERSON} / {TARGET_VISIBLE})")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL,
                        help="PostgreSQL server of the bench databases (env BENCH_DATABASE_URL)")
    parser.add_argument("--sqlite-dir", type=Path, default=Path(tempfile.gettempdir()) / "deyor-bench")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"JSON file for the figures (default: {RESULTS_NAME} beside the report)")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument("--search", default=DEFAULT_SEARCH, help="the search term")
    parser.add_argument("--max-seconds", type=float, default=600,
                        help="measuring time budget per dataset; fewer rounds when it runs out")
    parser.add_argument("--report", type=Path, default=None, help="Markdown file whose '## Pages' section to write")
    parser.add_argument("--plot", type=Path, default=None,
                        help=f"PNG of p95 against ticket count (default: {PLOT_NAME} beside the report)")
    args = parser.parse_args(argv)
    try:
        datasets = parse_sizes(args.sizes, args.people)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    datasets, skipped, pg_url = reachable_datasets(datasets, args.database_url)
    results = []
    for ds in datasets:
        url, seeded = prepare_database(ds, pg_url, args.sqlite_dir)
        app, cast = build(ds, url, seeded)
        results.append(measure(app, ds, cast, args.requests, args.search, args.max_seconds))
    print_summary(results)
    results_path = args.results or (args.report.parent / RESULTS_NAME if args.report else None)
    plot_path = args.plot or (args.report.parent / PLOT_NAME if args.report else None)
    figures = results_json(results)
    if results_path:
        write_results(results_path, "pages", figures)
    plot_link = None
    if plot_path and results:
        plot(figures, plot_path)
        say(f"plot: {plot_path}")
        plot_link = Path(os.path.relpath(plot_path, args.report.parent)).as_posix() if args.report else str(plot_path)
    report = render(results, skipped, args.requests, LIST_STATEMENTS_MAX, plot_link)
    print("\n" + report)
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
