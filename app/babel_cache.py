"""Translations resolved once per request, not once per string.

Flask-Babel finds the request's translations anew for every gettext: three context lookups and
the locale turned into its identifier, each time. A page translates a hundred strings or more
(the menu, the list's labels and badges), which made the lookup a measurable share of the list
page's time. The result is kept where Flask-Babel itself keeps per-request state
(`babel_translations`, which its `refresh()` and `force_locale()` reset), so switching the
language within a request still works.
"""
from __future__ import annotations

from flask import Flask
from flask.globals import _cv_app
from flask_babel import Domain, _get_current_context, get_translations


class RequestCachedDomain(Domain):
    def get_translations(self):
        ctx = _get_current_context()
        if ctx is None:
            return super().get_translations()
        translations = getattr(ctx, "babel_translations", None)
        if translations is None:
            translations = ctx.babel_translations = super().get_translations()
        return translations


def _translations():
    """The translations cached for this request (where RequestCachedDomain keeps them: Flask-
    Babel's namespace on `g`), reached straight from the app context: the templates' hundred
    strings went through Flask-Babel's lookups twice each."""
    ctx = _cv_app.get(None)
    space = getattr(ctx.g, "_flask_babel", None) if ctx is not None else None
    translations = getattr(space, "babel_translations", None)
    return translations if translations is not None else get_translations()


def install(app: Flask) -> None:
    """Make the app's Babel (created by FAB) use the cached domain, and the templates' `_`
    read it directly."""
    babel = app.extensions["babel"].instance
    babel.__dict__["domain_instance"] = RequestCachedDomain(domain=babel.domain)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
