"""The scheduler: one loop for everything that happens without a request.

Each turn sends the outbox's due emails, goes on with queued SLA re-computations (a policy
or calendar changed), takes the SLA ladder's due steps, queues the weekly digests that are
due (Monday 09:00, app/reports/digest.py) and reads the inbound mailbox (replies become
comments, every IMAP_POLL_SECONDS, when IMAP_HOST is set), then waits. Once an hour it also
prunes audit events past AUDIT_RETENTION_DAYS (in batches; several workers pruning at once
delete nothing twice). A thread of its own recomputes the dashboard's snapshots every
REPORT_SNAPSHOT_SECONDS (app/reports/snapshots.py).
`flask worker run` is the production process (render.yaml's worker); `make run` starts the
same loop in a background thread. Several may run at once: the outbox's leases and the
ladder's claims and unique steps, and the digest's unique (recipient, week) rows, keep each
email and each step to one of them.

SIGTERM (every deploy sends it) sets `stop`: the loop finishes the email or batch in flight,
claims nothing more and returns.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from .extensions import db

log = logging.getLogger(__name__)


PRUNE_EVERY_SECONDS = 3600


def turn(app: Flask, stop: threading.Event | None = None, ladder_due: bool = True, prune_due: bool = False,
         inbound_due: bool = False) -> None:
    """One round: the outbox, then (when their intervals have passed) the ladder, the mailbox and
    the pruning."""
    from . import audit
    from .notifications import sender
    from .reports import digest
    from .sla import ladder, recompute

    with app.app_context():
        try:
            sender.flush(stop=stop)
            if ladder_due and not (stop and stop.is_set()):
                recompute.run_pending(db.session, stop=stop)
                taken = ladder.run_pass(db.session, stop=stop)
                if taken:
                    log.info("SLA ladder: %s steps taken", taken)
                    sender.flush(stop=stop)  # their emails now, not a poll later
                if not (stop and stop.is_set()) and digest.run(db.session, stop=stop):
                    sender.flush(stop=stop)
            if inbound_due and app.config.get("IMAP_HOST") and not (stop and stop.is_set()):
                read_mailbox(stop)
            if prune_due and not (stop and stop.is_set()):
                pruned = audit.prune(db.session, stop=stop)
                if pruned:
                    log.info("Audit log: %s events past retention deleted", pruned)
        finally:
            db.session.remove()


def read_mailbox(stop: threading.Event | None = None) -> None:
    """One pass over the inbound mailbox. Its failures (IMAP down, database down) are logged and
    leave the messages where they are for the next pass; the other jobs carry on."""
    from .inbound import service

    try:
        counts = service.run_pass(db.session, stop=stop)
    except Exception:
        db.session.rollback()
        log.exception("Inbound mailbox: pass failed; messages left for the next pass")
        return
    if counts:
        log.info("Inbound mailbox: %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


def refresh_reports(app: Flask) -> None:
    """The dashboard's figures over every ticket, all teams and each team (app/reports/snapshots.py)."""
    from .reports import snapshots

    with app.app_context():
        try:
            started = time.monotonic()
            written = snapshots.refresh(db.session)
            log.info("Dashboard snapshots: %s recomputed in %.1fs", written, time.monotonic() - started)
        finally:
            db.session.remove()


def _reports_loop(app: Flask, stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        try:
            refresh_reports(app)
        except Exception:  # the dashboard computes live meanwhile
            log.exception("Dashboard snapshots failed; retrying in %ss", every)
        stop.wait(every)


def run(app: Flask, stop: threading.Event) -> None:
    """Loop until `stop` is set."""
    poll = app.config["OUTBOX_POLL_SECONDS"]
    ladder_every = app.config["SLA_POLL_SECONDS"]
    inbound_every = app.config["IMAP_POLL_SECONDS"]
    log.info("Worker started (outbox every %ss, SLA ladder every %ss, mailbox every %ss%s)", poll, ladder_every,
             inbound_every, "" if app.config.get("IMAP_HOST") else ": no IMAP_HOST, not read")
    next_ladder = next_prune = next_inbound = 0.0
    reports_every = app.config["REPORT_SNAPSHOT_SECONDS"]
    if reports_every > 0:
        # Its own thread: at a million tickets a refresh takes many seconds, which must not
        # hold up the emails, the ladder or the mailbox.
        threading.Thread(target=_reports_loop, args=(app, stop, reports_every), name="report-snapshots",
                         daemon=True).start()
    while not stop.is_set():
        ladder_due = time.monotonic() >= next_ladder
        prune_due = time.monotonic() >= next_prune
        inbound_due = time.monotonic() >= next_inbound
        try:
            turn(app, stop, ladder_due, prune_due, inbound_due)
        except Exception:  # keep the worker alive through a database outage
            log.exception("Worker turn failed; retrying in %ss", poll)
        if ladder_due:
            next_ladder = time.monotonic() + ladder_every
        if prune_due:
            next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        if inbound_due:
            next_inbound = time.monotonic() + inbound_every
        stop.wait(poll)
    log.info("Worker stopped")


def start_in_background(app: Flask) -> threading.Event:
    """The worker as a daemon thread (for `make run`)."""
    stop = threading.Event()
    threading.Thread(target=run, args=(app, stop), name="worker", daemon=True).start()
    return stop
