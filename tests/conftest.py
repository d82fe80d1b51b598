"""Fixtures: one app per database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set),
built by the real migrations and `flask setup` steps; every test starts from empty tables."""
from __future__ import annotations

import os
import re
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.sla.defaults import ensure_sla_defaults
from app.models import Person, Team, Ticket
from config import normalize_database_url

PASSWORD = "correct-horse-42"
SLA_TODAY = date(2026, 12, 3)  # the seeded holidays: 2026 and 2027, whatever the day the tests run
INTL, DOM = "International Operations", "Domestic Operations"
DATA_TABLES = [
    "report_snapshot", "quarantined_message", "inbound_message", "digest_sent", "attachment_thumbnail", "attachment_chunk", "attachment", "audit_event", "saved_view", "sla_step", "sla_recompute", "sla_policy", "holiday", "calendar_window", "calendar", "notification", "ticket_event", "comment", "ticket_follower", "ticket_assignee", "ticket", "founder", "person_team", "login_session",
    "ab_user_role", "ab_user_group", "ab_api_key", "ab_user", "team",
]


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


# With both databases, each API contract run (minutes of generated requests) runs on one: the
# Agent's, which checks that nothing hidden leaks, where production's visibility SQL runs; the
# Admin's on SQLite. Every endpoint's data access runs on both in the HTTP tests.
CONTRACT_RUNS_ELSEWHERE = ("test_schemathesis_finds_no_contract_violation[sqlite-agent]",
                           "test_schemathesis_finds_no_contract_violation[postgresql-admin]")


def _runs_elsewhere(item) -> bool:
    if "[postgresql" in item.nodeid and item.get_closest_marker("browser"):
        return True
    return item.nodeid.endswith(CONTRACT_RUNS_ELSEWHERE) and "postgresql" in backends()


def pytest_collection_modifyitems(config, items) -> None:
    """Browser tests drive the app on SQLite only. What the screens read and write runs on both
    databases in the HTTP tests; a second browser run per test on PostgreSQL doubled the
    suite's slowest part for no check of its own. The API contract runs are split the same way
    (CONTRACT_RUNS_ELSEWHERE)."""
    elsewhere = [item for item in items if _runs_elsewhere(item)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the TEST_DATABASE_URL server, dropped at the end."""
    base = make_url(normalize_database_url(os.environ["TEST_DATABASE_URL"]))
    name = f"deyor_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own `g`, own DB session), as in production,
    even while the test itself holds one for its ORM work."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


def fresh(obj):
    """Reload `obj` from the database (requests commit in their own sessions)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def build_app(database_url: str, **overrides) -> Flask:
    """An app on `database_url`, migrated and set up the way `make run` does it."""
    from flask_migrate import upgrade

    from app.cli import ensure_default_teams
    from app.security import sync_roles

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "AUTH_RATE_LIMITED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        "ADMIN_EMAIL": "",
        "ADMIN_PASSWORD": "",
        # Production keeps FAB's scrypt; tests hash thousands of times, so a cheap method.
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        sync_roles(app.appbuilder.sm)
        app.appbuilder.add_permissions(update_perms=True)
        sync_roles(app.appbuilder.sm)
        ensure_default_teams()
        ensure_sla_defaults(db.session, SLA_TODAY)
    return app


@pytest.fixture(scope="session", params=backends())
def app(request) -> Iterator[Flask]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        yield build_app(url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield build_app(f"sqlite:///{Path(tmp) / 'test.db'}")


@pytest.fixture(autouse=True)
def _clean_tables(request) -> Iterator[None]:
    """Each test starts with only roles, permissions and the default teams."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _truncate()
        from app.cli import ensure_default_teams

        ensure_default_teams()
        ensure_sla_defaults(db.session, SLA_TODAY)
    with app.app_context():
        yield
        db.session.remove()


def _truncate() -> None:
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
    else:
        for table in DATA_TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def backend(app) -> str:
    return db.engine.dialect.name


# --- people, teams, tickets -----------------------------------------------------
def team(name: str) -> Team:
    return db.session.query(Team).filter_by(name=name).one()


@pytest.fixture
def make_person(app):
    def _make(name: str, role: str = "Agent", teams: tuple[str, ...] = (), active: bool = True) -> Person:
        sm = app.appbuilder.sm
        email = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") + "@deyor.test"
        first, _, last = name.partition(" ")
        person = sm.add_user(
            username=email, first_name=first, last_name=last or "-", email=email,
            role=sm.find_role(role), password=PASSWORD,
        )
        assert person, f"could not create {name}"
        person.teams = [team(t) for t in teams]
        person.active = active
        db.session.commit()
        return person

    return _make


@pytest.fixture
def make_ticket(app):
    def _make(creator: Person, team_name: str = INTL, assignees=(), **fields) -> Ticket:
        values = dict(subject="Refund not received", booking_id="DEY-1001", priority="High")
        values.update(fields)
        ticket = Ticket(team=team(team_name), created_by=creator, assignees=list(assignees), **values)
        db.session.add(ticket)
        db.session.commit()
        return ticket

    return _make


def login(client: FlaskClient, email: str, password: str = PASSWORD):
    return client.post("/login/", data={"username": email, "password": password}, follow_redirects=False)


@pytest.fixture
def client_for(app):
    """A test client logged in as the given person through the real login form."""
    clients = []

    def _client(person: Person) -> FlaskClient:
        client = app.test_client()
        response = login(client, person.email)
        assert response.status_code == 302 and "/login" not in response.headers["Location"], (
            f"login failed for {person.email}"
        )
        clients.append(client)
        return client

    return _client


# Who of the cast may see the cast's ticket (International Operations, created by
# agent_creator, assigned to agent_assigned).
SEES = {
    "admin": True,
    "lead_same_team": True,
    "lead_other_team": False,
    "agent_assigned": True,
    "agent_creator": True,
    "agent_unrelated": False,
}
CAST_ROLES = list(SEES)


@pytest.fixture
def cast(make_person, make_ticket):
    """The visibility cast and one ticket of International Operations."""
    people = {
        "admin": make_person("Ada Admin", "Admin"),
        "lead_same_team": make_person("Lena Lead", "Lead", (INTL,)),
        "lead_other_team": make_person("Otto Lead", "Lead", (DOM,)),
        "agent_assigned": make_person("Asha Assigned", "Agent", (INTL,)),
        "agent_creator": make_person("Carl Creator", "Agent", (INTL,)),
        "agent_unrelated": make_person("Uma Unrelated", "Agent", (INTL,)),
    }
    ticket = make_ticket(
        people["agent_creator"], INTL, assignees=[people["agent_assigned"]],
        subject="Hotel overbooked in Goa", booking_id="GOA-7781", customer_name="Priya Nair",
        customer_contact="priya@example.com", description="Guest arrived; no room.",
    )
    return people, ticket


# --- a real SMTP server for the notification tests ---------------------------------------
import asyncio  # noqa: E402
import email  # noqa: E402
import email.policy  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from email.message import EmailMessage  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402


@dataclass
class ReceivedMail:
    """One accepted SMTP transaction: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class _RecordingHandler:
    """aiosmtpd handler: stores accepted mail; answers `server.reply` instead when set."""

    def __init__(self, server: "SMTPTestServer") -> None:
        self.server = server

    async def handle_DATA(self, smtp, session, envelope) -> str:
        server = self.server
        with server.lock:
            server.data_commands += 1
        if server.delay:
            await asyncio.sleep(server.delay)
        if server.reply:
            with server.lock:
                server.refused += 1
            return server.reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            message=email.message_from_bytes(raw, policy=email.policy.default),
            raw=raw,
        )
        with server.lock:
            server.messages.append(mail)
        return "250 OK"

    async def handle_QUIT(self, smtp, session, envelope) -> str:
        if self.server.quit_delay:
            await asyncio.sleep(self.server.quit_delay)
        return "221 Bye"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPTestServer:
    """A real SMTP server on 127.0.0.1 that can fail on demand, be slow, go down and come back.

    `reply`: None to accept, or an SMTP reply such as "451 4.3.0 try later" for every DATA.
    `delay`: seconds to wait before answering DATA.
    `quit_delay`: seconds to wait before answering QUIT (the message is already accepted then).
    `stop()` / `start()`: down and up again on the same port.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.messages: list[ReceivedMail] = []
        self.reply: str | None = None
        self.delay: float = 0
        self.quit_delay: float = 0
        self.data_commands = 0  # DATA commands seen, accepted or refused
        self.refused = 0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        assert self._controller is None, "already running"
        controller = Controller(_RecordingHandler(self), hostname=self.host, port=self.port, ready_timeout=5)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Poll until at least `count` messages arrived (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.data_commands = self.refused = 0


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    server = SMTPTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_to_smtp(app, smtp_server, monkeypatch) -> SMTPTestServer:
    """Point the app's mail settings (read at send time) at the test SMTP server."""
    for key, value in {
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_TIMEOUT": 5,
        "MAIL_DEFAULT_SENDER": "escalations@deyor.test",
        "BASE_URL": "https://esc.deyor.test",
        "TEAM_EMAILS": {},
        "NOTIFY_EMAILS": "",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp_server


@pytest.fixture
def outbox_settings(app, monkeypatch):
    """Set OUTBOX_* for one test: outbox_settings(backoff_seconds=0, max_attempts=3, lease_seconds=1)."""

    def _set(**values) -> None:
        for key, value in values.items():
            name = f"OUTBOX_{key.upper()}"
            assert name in app.config, name
            monkeypatch.setitem(app.config, name, value)

    return _set


# --- the app over HTTP (browser and API contract tests) ------------------------------
import logging  # noqa: E402

from werkzeug.serving import make_server  # noqa: E402


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test app on a free local port for the length of one test: each request in its
    own thread, app context and database session, as in production. No access log lines."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        access_log.setLevel(level)


# --- the app as deployed: gunicorn processes on a database prepared by the deploy steps ---------
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import urllib.request  # noqa: E402
from contextlib import contextmanager  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_BOOT_SECONDS = 60


free_port = _free_port  # for the test modules


@pytest.fixture(scope="module")
def deployed_database(tmp_path_factory) -> str:
    """A throw-away SQLite database prepared as a deploy prepares one: `flask db upgrade`, `flask setup`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('deployed') / 'deployed.db'}"
    env = {**os.environ, "DATABASE_URL": url, "ADMIN_EMAIL": "", "ADMIN_PASSWORD": ""}
    for args in (["db", "upgrade"], ["setup"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "run.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    return url


@contextmanager
def gunicorn_instances(database_url: str, tmp_path: Path, count: int = 1, workers: int = 1,
                       **settings: str) -> Iterator[list[str]]:
    """`count` × `gunicorn run:app --workers N` (render.yaml's command) on free loopback ports,
    sharing one database and secret key; yields their base URLs once each answers /health and
    stops them afterwards. `settings`: environment variables on top of the test's own."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "TEAM_EMAILS_", "RATELIMIT_"))}
    env.pop("RENDER", None)
    env.update(
        DATABASE_URL=database_url,
        FLASK_SECRET_KEY=uuid.uuid4().hex * 2,  # 64 characters, as production requires; one for all
        OUTBOX_IN_PROCESS="0",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    servers: list[tuple[subprocess.Popen, str, Path]] = []
    try:
        for _ in range(count):
            port = _free_port()
            log = tmp_path / f"gunicorn-{port}.log"
            with log.open("w") as out:
                process = subprocess.Popen(
                    command + ["run:app", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                               "--no-control-socket"],  # else every instance claims ~/.gunicorn/gunicorn.ctl
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            servers.append((process, f"http://127.0.0.1:{port}", log))
        deadline = time.monotonic() + GUNICORN_BOOT_SECONDS
        for process, base, log in servers:
            while True:
                assert process.poll() is None, f"gunicorn exited:\n{log.read_text()[-3000:]}"
                try:
                    with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"no answer on {base}/health:\n{log.read_text()[-3000:]}"
                time.sleep(0.1)
        yield [base for _, base, _ in servers]
    finally:
        for process, _, _ in servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
        for process, _, _ in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the group started for this instance
                process.wait()


# --- a real IMAP server (Dovecot) for the inbound mail tests -----------------------------------
from tests.imap_server import DovecotServer, dovecot_available  # noqa: E402


@pytest.fixture(scope="session")
def imap_server() -> Iterator[DovecotServer]:
    """One Dovecot for the session (Debian's dovecot-imapd; .ci/run installs it), in a folder of
    its own under the system's temporary directory (pytest's are private to the user, and
    Dovecot's auth and mail processes run as other users when the tests run as root)."""
    import shutil

    assert dovecot_available(), "Dovecot is not installed: apt-get install dovecot-imapd"
    root = Path(tempfile.mkdtemp(prefix="deyor-dovecot-"))
    server = DovecotServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(app, imap_server, monkeypatch) -> DovecotServer:
    """The app reading the test Dovecot's INBOX (plain IMAP on 127.0.0.1), emptied first."""
    imap_server.clear()
    for key, value in {
        "IMAP_HOST": imap_server.host,
        "IMAP_PORT": imap_server.port,
        "IMAP_USER": imap_server.user,
        "IMAP_PASS": imap_server.password,
        "IMAP_SECURITY": "none",
        "IMAP_FOLDER": "INBOX",
        "IMAP_PROCESSED_FOLDER": "Processed",
        "IMAP_TIMEOUT": 10,
        "INBOUND_ADDRESS": imap_server.user,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return imap_server
