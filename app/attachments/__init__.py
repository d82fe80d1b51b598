"""Files on tickets: storage (the database by default), type by content, limits, serving rules.

- service.py: add_attachment(s), the one way in (checks, then stores in the caller's session);
- sniff.py, images.py, names.py: what a file is, its pixels and thumbnail, its name;
- storage.py: where the content lives (DatabaseStorage: pieces in `attachment_chunk`);
- http.py: how a file is served (headers, visibility).
"""
from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _

from . import service, sniff


def too_large_message() -> str:
    return _("The upload is too large: one request may carry at most %(max)s MB.",
             max=service.megabytes(request.max_content_length or 0))


def refuse_long_bodies() -> None:
    """A body longer than MAX_CONTENT_LENGTH is refused from its Content-Length before any of it
    is read, whichever view it was for and whenever that view would read it. (A body sent
    without a length is cut off by Werkzeug when it grows past the limit.)"""
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        abort(413)


def _too_large(error):
    message = too_large_message()
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(message=message), 413
    return render_template("error_plain.html", code=413, message=message), 413


def accept_attribute() -> str:
    """What a file chooser offers: the accepted types and their extensions."""
    return ",".join([*sniff.ACCEPTED, *(ext for exts in sniff.EXTENSIONS.values() for ext in exts)])


def limits_sentence() -> str:
    bounds = service.limits()
    return _("Up to %(files)s files at once, %(file_mb)s MB each: images, PDF, text, CSV, Word, Excel, "
             "emails (.eml).", files=bounds.files_per_request, file_mb=service.megabytes(bounds.file_bytes))


def install(app: Flask) -> None:
    service.install()
    app.before_request(refuse_long_bodies)
    app.register_error_handler(413, _too_large)
    app.jinja_env.globals.update(
        attachment_accept=accept_attribute, attachment_limits=service.limits,
        attachment_limits_sentence=limits_sentence,
    )
