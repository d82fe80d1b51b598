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
from flask_babel import Domain, _get_current_context


class RequestCachedDomain(Domain):
    def get_translations(self):
        ctx = _get_current_context()
        if ctx is None:
            return super().get_translations()
        translations = getattr(ctx, "babel_translations", None)
        if translations is None:
            translations = ctx.babel_translations = super().get_translations()
        return translations


def install(app: Flask) -> None:
    """Make the app's Babel (created by FAB) use the cached domain."""
    babel = app.extensions["babel"].instance
    babel.__dict__["domain_instance"] = RequestCachedDomain(domain=babel.domain)
