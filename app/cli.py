"""flask commands: setup (run once per deploy) and reset-password."""
from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .credentials import check_password
from .extensions import db
from .models import Person, Team
from .tickets.validation import InvalidValue

DEFAULT_ADMIN_EMAIL = "admin@deyor.local"


def ensure_default_teams() -> list[str]:
    created = []
    for name in current_app.config["DEFAULT_TEAMS"]:
        if db.session.query(Team.id).filter(Team.name == name).first() is None:
            db.session.add(Team(name=name))
            created.append(name)
    db.session.commit()
    return created


def bootstrap_admin() -> str:
    """On the first run (no people at all) create the admin from ADMIN_EMAIL/ADMIN_PASSWORD."""
    sm = current_app.appbuilder.sm
    if sm.count_users():
        return "People exist already: no admin bootstrap."
    email = (current_app.config["ADMIN_EMAIL"] or DEFAULT_ADMIN_EMAIL).strip().lower()
    password = current_app.config["ADMIN_PASSWORD"]
    source = "ADMIN_EMAIL/ADMIN_PASSWORD"
    if not password:
        if current_app.config.get("PRODUCTION"):
            return (
                "No people and no ADMIN_PASSWORD: set ADMIN_EMAIL and ADMIN_PASSWORD and "
                "run `flask setup` again, or run `flask fab create-admin`."
            )
        password = secrets.token_urlsafe(12)
        source = "generated now, shown once (set ADMIN_EMAIL/ADMIN_PASSWORD in .env to choose)"
    try:
        check_password(password, email)
    except InvalidValue as exc:
        raise click.ClickException(f"ADMIN_PASSWORD: {exc}") from exc
    user = sm.add_user(
        username=email, first_name="Admin", last_name="", email=email,
        role=sm.find_role(sm.auth_role_admin), password=password,
    )
    if not user:
        raise click.ClickException("Could not create the admin; see the log.")
    shown = password if "generated" in source else "(the ADMIN_PASSWORD value)"
    return f"Admin created: {email} / {shown}  [credentials: {source}]"


@click.command("setup")
@with_appcontext
def setup_command() -> None:
    """Permissions, roles, default teams and the first admin. Idempotent; run after `flask db upgrade`."""
    from .security import sync_roles

    appbuilder = current_app.appbuilder
    sync_roles(appbuilder.sm)
    appbuilder.add_permissions(update_perms=True)
    sync_roles(appbuilder.sm)
    created = ensure_default_teams()
    if created:
        click.echo(f"Teams created: {', '.join(created)}")
    from .sla.defaults import ensure_sla_defaults

    for line in ensure_sla_defaults(db.session):
        click.echo(line)
    click.echo(bootstrap_admin())


@click.command("reset-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def reset_password_command(email: str, password: str) -> None:
    """Set a new password for the person with this email (or username)."""
    sm = current_app.appbuilder.sm
    key = email.strip().lower()
    person = db.session.query(Person).filter(
        (db.func.lower(Person.email) == key) | (db.func.lower(Person.username) == key)
    ).first()
    if person is None:
        raise click.ClickException(f"No person with email {email}.")
    try:
        check_password(password, person.email)
    except InvalidValue as exc:
        raise click.ClickException(str(exc)) from exc
    sm.reset_password(person.id, password)
    click.echo(f"Password reset for {person.email}.")


@click.group("outbox")
def outbox_group() -> None:
    """The notification outbox."""


def _run_worker() -> None:
    import logging
    import signal
    import threading

    from . import worker

    # The worker's own process: what it does (steps taken, emails failing, stopping) is its log.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("app").setLevel(logging.INFO)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.run(current_app._get_current_object(), stop)


@click.group("worker")
def worker_group() -> None:
    """The scheduler: outbox sender and SLA ladder."""


@worker_group.command("run")
@with_appcontext
def worker_run() -> None:
    """Send emails and take SLA escalation steps until stopped (SIGTERM/Ctrl-C): the production worker."""
    _run_worker()


@outbox_group.command("run")
@with_appcontext
def outbox_run() -> None:
    """The same as `flask worker run` (kept for existing deployments)."""
    _run_worker()


@outbox_group.command("flush")
@with_appcontext
def outbox_flush() -> None:
    """Send every notification that is due now, once, and report."""
    from .notifications import sender

    outcome = sender.flush()
    click.echo(", ".join(f"{state}: {count}" for state, count in sorted(outcome.items())) or "Nothing due.")


@click.group("sla")
def sla_group() -> None:
    """Service levels."""


@sla_group.command("run-once")
@with_appcontext
def sla_run_once() -> None:
    """Take every escalation step that is due now, once, and report."""
    from .sla import ladder

    click.echo(f"Steps taken: {ladder.run_pass(db.session)}")


@sla_group.command("recompute")
@with_appcontext
def sla_recompute() -> None:
    """Recompute due times, state and next step of every open ticket (after an upgrade or a big change)."""
    from .sla import recompute

    click.echo(f"Tickets recomputed: {recompute.all_open(db.session)}")


@click.group("inbound")
def inbound_group() -> None:
    """The inbound mailbox (replies by email)."""


@inbound_group.command("read")
@with_appcontext
def inbound_read() -> None:
    """Read the mailbox once now (as the worker does every IMAP_POLL_SECONDS) and report."""
    from .inbound import service

    if not current_app.config.get("IMAP_HOST"):
        raise click.ClickException("IMAP_HOST is not set: there is no mailbox to read.")
    counts = service.run_pass(db.session)
    click.echo(", ".join(f"{outcome}: {n}" for outcome, n in sorted(counts.items())) or "No messages.")


@click.group("demo")
def demo_group() -> None:
    """Demo data."""


@demo_group.command("seed")
@click.option("--tickets", type=click.IntRange(0), default=1000, show_default=True)
@click.option("--people", type=click.IntRange(1), default=50, show_default=True)
@click.option("--comments-per-ticket", type=click.IntRange(0), default=2, show_default=True)
@click.option("--seed", "rng_seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@with_appcontext
def demo_seed(tickets: int, people: int, comments_per_ticket: int, rng_seed: int) -> None:
    """Bulk-load realistic teams, people, founders, tickets and comments (password of every
    demo person: demo-password-1). Writes no notifications."""
    import time

    from .demo.seed import seed

    started = time.perf_counter()
    result = seed(db.session, tickets, people, comments_per_ticket, rng_seed)
    click.echo(
        f"Seeded {result.tickets} tickets, {result.assignments} assignments, {result.comments} comments, "
        f"{result.people} people, {result.founders} founders in {time.perf_counter() - started:.1f} s."
    )
    # The seed writes rows in bulk, past the hooks that set each ticket's service level: set
    # them now, so the Due column and the Overdue / Due soon queues show the demo's state.
    from .sla import recompute

    started = time.perf_counter()
    click.echo(f"Service levels set on {recompute.all_open(db.session)} open tickets in "
               f"{time.perf_counter() - started:.1f} s.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(reset_password_command)
    app.cli.add_command(outbox_group)
    app.cli.add_command(worker_group)
    app.cli.add_command(sla_group)
    app.cli.add_command(demo_group)
    app.cli.add_command(inbound_group)
