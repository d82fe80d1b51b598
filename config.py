"""All settings, read from the environment (and `.env`, which real env vars override)."""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv
from flask_appbuilder.security.manager import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env", override=False)

DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
MIN_SECRET_KEY_LENGTH = 32  # JWT signing (HS256) wants at least 256 bits


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalize_database_url(url: str) -> str:
    """Heroku/Render style `postgres://` and bare `postgresql://` both mean psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def is_production() -> bool:
    env = (os.environ.get("APP_ENV") or os.environ.get("FLASK_ENV") or "").lower()
    return env == "production" or bool(os.environ.get("RENDER"))


PRODUCTION = is_production()

# --- Core --------------------------------------------------------------------
SECRET_KEY = os.environ.get("FLASK_SECRET_KEY") or DEV_SECRET_KEY
SQLALCHEMY_DATABASE_URI = normalize_database_url(
    os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'escalations.db'}"
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
BASE_URL = (os.environ.get("BASE_URL") or "http://localhost:5000").rstrip("/")
# Address and port of `make run` (run.py, Werkzeug's server): this machine only unless
# HOST says otherwise (0.0.0.0 serves the network). gunicorn takes its own --bind.
HOST = os.environ.get("HOST") or "127.0.0.1"
PORT = int(os.environ.get("PORT") or 5000)

# --- Flask-AppBuilder ----------------------------------------------------------
APP_NAME = "Deyor Escalations"
APP_ICON = "/static/img/logo.png"
APP_THEME = ""
FAB_SECURITY_MANAGER_CLASS = "app.security.DeyorSecurityManager"
FAB_INDEX_VIEW = "app.views.home.HomeView"
# The schema comes from migrations and permissions from `flask setup` (run once
# per deploy), never from each worker's boot, which races with several workers.
FAB_CREATE_DB = False
FAB_UPDATE_PERMS = _bool("FAB_UPDATE_PERMS", False)
FAB_ADD_SECURITY_API = True
FAB_API_MAX_PAGE_SIZE = 100
# FAB's OpenAPI views would document any version and its menu API: the app serves its own
# /api/v1/_openapi (exactly the registered APIs) and Swagger UI at /swagger/v1, for admins.
FAB_ADD_OPENAPI_VIEWS = False
FAB_ADD_MENU_API = False  # /api/v1/menu/, the menu as JSON: no client of ours needs it
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
AUTH_USERNAME_CI = True
# The password policy (app/credentials.py) also on FAB's own password fields.
FAB_PASSWORD_COMPLEXITY_ENABLED = True
FAB_PASSWORD_COMPLEXITY_VALIDATOR = "app.security.fab_password_complexity"
AUTH_RATE_LIMITED = _bool("AUTH_RATE_LIMITED", True)
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT") or "10 per 20 second"
RATELIMIT_ENABLED = AUTH_RATE_LIMITED
# memory:// counts in each process: with several gunicorn workers or instances a client
# gets the budget once per process. redis://HOST:PORT/DB shares one count (render.yaml
# points it at a Render Key Value instance).
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
# Prepended to every key in that storage, so apps (or test runs) sharing one Redis keep
# their counts apart.
RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX") or "deyor-escalations"
# When that storage does not answer, count in the process's memory until it does again
# (Flask-Limiter retries it) instead of failing every login with a 500.
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_HEADERS_ENABLED = True
# "Forgot password" requests (POST /forgot-password/) per client address.
PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT") or "5 per 15 minute"
# A client locked out of signing in is written to the audit log (once per limit window).
RATELIMIT_ON_BREACH_CALLBACK = "app.security.record_lock_out"

# --- Security of the session ---------------------------------------------------
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
# A browser session ends at logout, at any password change, at deactivation, and at the
# latest this many hours after sign-in (app/credentials.py).
SESSION_MAX_AGE_HOURS = float(os.environ.get("SESSION_MAX_AGE_HOURS") or 24)
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SECURE = PRODUCTION
# How many proxies in front of the app append to X-Forwarded-For (and set
# X-Forwarded-Proto/-Host). 0: none, the client address is the socket's peer and
# forwarded headers are ignored (a client could claim any address in them).
# Render terminates TLS in one proxy: render.yaml sets 1.
PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS") or 0)

# --- Bootstrap -----------------------------------------------------------------
ADMIN_EMAIL = os.environ.get("ADMIN_EMAIL") or ""
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD") or ""
DEFAULT_TEAMS = ["International Operations", "Domestic Operations"]

# --- Mail (used by notifications) ----------------------------------------------
MAIL_SERVER = os.environ.get("SMTP_HOST") or ""
MAIL_PORT = int(os.environ.get("SMTP_PORT") or 587)
MAIL_USERNAME = os.environ.get("SMTP_USER") or None
MAIL_PASSWORD = os.environ.get("SMTP_PASS") or None
MAIL_USE_TLS = _bool("SMTP_USE_TLS", MAIL_PORT == 587)
MAIL_USE_SSL = _bool("SMTP_USE_SSL", MAIL_PORT == 465)
MAIL_DEFAULT_SENDER = os.environ.get("MAIL_FROM") or "escalations@localhost"
MAIL_SUPPRESS_SEND = False  # Flask-Mail would suppress under TESTING; tests use a real SMTP server
MAIL_TIMEOUT = int(os.environ.get("SMTP_TIMEOUT") or 20)
NOTIFY_EMAILS = os.environ.get("NOTIFY_EMAILS") or ""

# --- Service levels ------------------------------------------------------------------
# Times shown to people (screens, emails) are in this zone; stored times are UTC.
DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE") or "Asia/Kolkata"
# How often the scheduler (`flask worker run`, or in-process under `make run`) looks for
# escalation steps that have come due.
SLA_POLL_SECONDS = float(os.environ.get("SLA_POLL_SECONDS") or 30)

# --- Dashboard ---------------------------------------------------------------------------
# How often the scheduler recomputes the admin's figures over every ticket (app/reports/
# snapshots.py); an admin's dashboard reads them while younger than twice this. 0: always live.
REPORT_SNAPSHOT_SECONDS = float(os.environ.get("REPORT_SNAPSHOT_SECONDS") or 300)
# --- Audit log ---------------------------------------------------------------------
# Events older than this many days are deleted by the scheduler (in batches).
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS") or 400)

# --- Notification outbox ------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS") or 8)
OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OUTBOX_BACKOFF_SECONDS") or 30)
OUTBOX_BACKOFF_MAX_SECONDS = int(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS") or 3600)
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS") or 120)
OUTBOX_POLL_SECONDS = float(os.environ.get("OUTBOX_POLL_SECONDS") or 5)
# `python run.py` (make run) sends from a background thread unless this is off;
# production runs `flask outbox run` as its own process instead.
OUTBOX_IN_PROCESS = _bool("OUTBOX_IN_PROCESS", True)
# TEAM_EMAILS_<TEAM NAME IN UPPER_SNAKE>, e.g. TEAM_EMAILS_DOMESTIC_OPERATIONS
TEAM_EMAILS = {
    key[len("TEAM_EMAILS_"):]: value
    for key, value in os.environ.items()
    if key.startswith("TEAM_EMAILS_") and value.strip()
}

# --- Attachments -------------------------------------------------------------------
# Files on tickets (app/attachments): per file, per ticket in all, and per request.
ATTACHMENT_MAX_MB = float(os.environ.get("ATTACHMENT_MAX_MB") or 10)
ATTACHMENT_TICKET_MAX_MB = float(os.environ.get("ATTACHMENT_TICKET_MAX_MB") or 100)
ATTACHMENT_MAX_FILES = int(os.environ.get("ATTACHMENT_MAX_FILES") or 10)
# Every request body: the most files one request may carry and 1 MB for the rest of the form.
# Werkzeug refuses a longer body (413) from its Content-Length, before reading any of it.
MAX_CONTENT_LENGTH = int((ATTACHMENT_MAX_MB * ATTACHMENT_MAX_FILES + 1) * 1024 * 1024)
# --- Exports ----------------------------------------------------------------------
# The most rows one CSV or Excel export holds: a longer list is refused with its count (narrow
# it with filters), never cut short.
EXPORT_MAX_ROWS = int(os.environ.get("EXPORT_MAX_ROWS") or 100_000)

# --- Translations ----------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "en"
# FAB 5.3 reads BABEL_TRANSLATION_DIRECTORIES (";"-separated) and puts its own
# catalogues first; a relative entry would resolve against the `app` package, so
# the top-level `translations/` folder is given as an absolute path.
BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
LANGUAGES = {
    "en": {"flag": "gb", "name": "English"},
    "hi": {"flag": "in", "name": "हिन्दी"},
}

# --- Inbound mailbox (replies to the app's emails become comments) -------------------------
# No IMAP_HOST: nothing is read. IMAP_SECURITY: ssl (IMAPS, default port 993), starttls (the
# plain port upgraded, refused when the server does not offer it) or none (plain text, for a
# server on this machine): a connection never falls back to plain text by itself.
IMAP_HOST = os.environ.get("IMAP_HOST") or ""
IMAP_SECURITY = (os.environ.get("IMAP_SECURITY") or "ssl").strip().lower()
IMAP_PORT = int(os.environ.get("IMAP_PORT") or (993 if IMAP_SECURITY == "ssl" else 143))
IMAP_USER = os.environ.get("IMAP_USER") or ""
IMAP_PASS = os.environ.get("IMAP_PASS") or ""
IMAP_FOLDER = os.environ.get("IMAP_FOLDER") or "INBOX"
IMAP_PROCESSED_FOLDER = os.environ.get("IMAP_PROCESSED_FOLDER") or "Processed"
IMAP_TIMEOUT = float(os.environ.get("IMAP_TIMEOUT") or 30)
# The mailbox's own address: outgoing emails' Reply-To (escalations+<token>@… for one person).
INBOUND_ADDRESS = os.environ.get("INBOUND_ADDRESS") or IMAP_USER
# How often the scheduler reads the mailbox.
IMAP_POLL_SECONDS = float(os.environ.get("IMAP_POLL_SECONDS") or 30)
# Larger messages are not read (recorded as ignored, moved to Processed, kept in the mailbox).
INBOUND_MAX_BYTES = int(os.environ.get("INBOUND_MAX_BYTES") or 10 * 1024 * 1024)
