"""The scheduler: one loop for everything that happens without a request.

Each turn sends the outbox's due emails, goes on with queued SLA re-computations (a policy
or calendar changed) and takes the SLA ladder's due steps, then waits. Every
REPORT_SNAPSHOT_SECONDS it also recomputes the admin's dashboard figures (app/reports/snapshots.py).
`flask worker run` is the production process (render.yaml's worker); `make run` starts the
same loop in a background thread. Several may run at once: the outbox's leases and the
ladder's claims and unique steps keep each email and each step to one of them.

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


def turn(app: Flask, stop: threading.Event | None = None, ladder_due: bool = True) -> None:
    """One round: the outbox, then (when its interval has passed) the ladder."""
    from .notifications import sender
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
        finally:
            db.session.remove()


def refresh_reports(app: Flask) -> None:
    """The admin's dashboard figures over every ticket (app/reports/snapshots.py)."""
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
    log.info("Worker started (outbox every %ss, SLA ladder every %ss)", poll, ladder_every)
    next_ladder = 0.0
    reports_every = app.config["REPORT_SNAPSHOT_SECONDS"]
    if reports_every > 0:
        # Its own thread: at a million tickets a refresh takes many seconds, which must not
        # hold up the emails and the ladder.
        threading.Thread(target=_reports_loop, args=(app, stop, reports_every), name="report-snapshots",
                         daemon=True).start()
    while not stop.is_set():
        ladder_due = time.monotonic() >= next_ladder
        try:
            turn(app, stop, ladder_due)
        except Exception:  # keep the worker alive through a database outage
            log.exception("Worker turn failed; retrying in %ss", poll)
        if ladder_due:
            next_ladder = time.monotonic() + ladder_every
        stop.wait(poll)
    log.info("Worker stopped")


def start_in_background(app: Flask) -> threading.Event:
    """The worker as a daemon thread (for `make run`)."""
    stop = threading.Event()
    threading.Thread(target=run, args=(app, stop), name="worker", daemon=True).start()
    return stop
