"""Security headers on every response (Flask-Talisman): CSP with a per-request script nonce,
no framing, no MIME sniffing, a referrer policy, and HSTS in production; and a `Server`
header that names no software versions."""
from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman
from werkzeug.serving import WSGIRequestHandler

# Every <script> of FAB's templates and ours carries nonce="{{ baselib.get_nonce() }}", which
# calls the `csp_nonce()` Jinja global Talisman defines: scripts run from this origin or with
# this request's nonce, never inline otherwise, never through eval. Templates use inline style
# attributes, hence 'unsafe-inline' for styles only. Bootstrap's icon fonts and Select2's
# images come from /static (some as data: URLs).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",  # + 'nonce-…' per request
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def install(app: Flask) -> Talisman:
    """Call before any other extension registers a before_request hook, so the nonce exists
    even for a request another hook answers (a 429, a CSRF 400)."""
    config = app.config
    return Talisman(
        app,
        # Render's proxy terminates TLS and redirects http to https; tests and `make run` use http.
        force_https=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="strict-origin-when-cross-origin",
        # Sent by Talisman on https requests only (behind the proxy: X-Forwarded-Proto).
        strict_transport_security=config["PRODUCTION"],
        # The session cookie flags are config.py's; Talisman would otherwise force its own.
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's server (run.py, `make run`) sends `Server: Werkzeug/<version> Python/<version>`
    with every response, which a Server header set by the app would not replace (both would
    go out). This handler names the app instead. gunicorn, which serves production, sends
    `Server: gunicorn` without a version."""

    def version_string(self) -> str:
        return "Deyor Escalations"
