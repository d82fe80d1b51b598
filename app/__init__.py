"""Deyor Escalations: the application factory."""
from __future__ import annotations

import logging
from typing import Any, Optional

from flask import Flask, jsonify, render_template, request
from flask_appbuilder import AppBuilder
from flask_babel import gettext as _
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from . import headers
from .extensions import csrf, db, mail, migrate
from .sla.display import display_time

log = logging.getLogger(__name__)
MIGRATIONS_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "migrations"


class InsecureConfiguration(RuntimeError):
    pass


def _check_secret_key(app: Flask) -> None:
    import config

    key = app.config.get("SECRET_KEY") or ""
    if app.config.get("PRODUCTION") and (key == config.DEV_SECRET_KEY or len(key) < config.MIN_SECRET_KEY_LENGTH):
        raise InsecureConfiguration(
            f"FLASK_SECRET_KEY must be a random value of at least {config.MIN_SECRET_KEY_LENGTH} "
            "characters in production."
        )


def _resolve_dotted(app: Flask, key: str) -> None:
    """A setting that names a function ("package.module.function") becomes that function."""
    value = app.config.get(key)
    if isinstance(value, str):
        from werkzeug.utils import import_string

        app.config[key] = import_string(value)


def _sqlite_connection_setup(dbapi_connection, connection_record) -> None:
    # Unicode-aware lower() so case-insensitive search matches PostgreSQL's ILIKE,
    # and enforced foreign keys so ON DELETE CASCADE behaves the same.
    dbapi_connection.create_function(
        "lower", 1, lambda s: s.lower() if isinstance(s, str) else s, deterministic=True
    )
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _register_error_pages(app: Flask) -> None:
    def _error(code: int, message: str):
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(message=message), code
        if code >= 500:  # the layout's menu asks the database, which may be what failed
            return render_template("error_plain.html", code=code, message=message), code
        appbuilder = app.appbuilder
        return render_template(
            "error.html", code=code, message=message, appbuilder=appbuilder, base_template=appbuilder.base_template,
        ), code

    app.register_error_handler(403, lambda e: _error(403, _("You do not have access to this page.")))
    app.register_error_handler(404, lambda e: _error(404, _("Not found")))
    def _method_not_allowed(e):
        body, code = _error(405, _("Method not allowed"))
        return body, code, {"Allow": ", ".join(sorted(e.valid_methods))} if e.valid_methods else {}

    app.register_error_handler(405, _method_not_allowed)
    # Flask-Limiter's RateLimitExceeded is a 429: its Retry-After and X-RateLimit-* headers
    # are added to whatever this answers.
    app.register_error_handler(429, lambda e: _error(429, _("Too many attempts. Please wait a moment and try again.")))
    app.register_error_handler(500, lambda e: _error(500, _("Something went wrong; it has been logged.")))


def _refuse_unparsable_json():
    """A JSON body nested deeper than the parser's recursion limit raises RecursionError, which
    Flask's get_json(silent=True) and FAB's views do not catch: answer 400 before any view runs."""
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        try:
            request.get_json(silent=True)
        except RecursionError:
            return jsonify(message="The body is not valid JSON."), 400
    return None


def _blank_when_none(value: Any) -> Any:
    """Jinja prints None as "None": FAB's show pages showed it for every empty field. An empty
    value reads as blank, in every template at once."""
    return "" if value is None else value


def create_app(overrides: Optional[dict[str, Any]] = None) -> Flask:
    app = Flask(__name__)
    app.jinja_env.finalize = _blank_when_none
    app.add_template_filter(display_time, "local_time")  # every time shown: DISPLAY_TIMEZONE
    app.config.from_object("config")
    app.config.update(overrides or {})
    _check_secret_key(app)
    _resolve_dotted(app, "FAB_PASSWORD_COMPLEXITY_VALIDATOR")
    _resolve_dotted(app, "RATELIMIT_ON_BREACH_CALLBACK")
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    headers.install(app)  # first: its nonce hook runs before any other before_request

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    mail.init_app(app)

    from . import attachments, audit, babel_cache, credentials
    from .notifications import comments as comment_emails
    from .notifications import outbox
    from .sla import service as sla_service
    from .tickets import history

    history.install()
    attachments.install(app)  # after history: a new ticket's "created" precedes its uploads
    outbox.install()
    comment_emails.install()
    sla_service.install()
    credentials.install()
    audit.install()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_connection_setup)
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        babel_cache.install(app)
        from .api import register_apis
        from .views import register_views

        register_views(appbuilder)
        register_apis(appbuilder)

    from .cli import register_cli
    from .health import health

    from .views.base import sanitize_list_args

    app.before_request(_refuse_unparsable_json)
    app.before_request(sanitize_list_args)
    app.register_blueprint(health)
    register_cli(app)
    _register_error_pages(app)
    return app
