"""The navigation menu rendered once per kind of reader, not on every page.

FAB renders the menu on each page: for each of its some thirty items a permission check and a
url_for, through nested template macros, about a millisecond of every page (a tenth of the
ticket list's). The HTML is the same for everyone with the same permissions, language and saved
views, so each process keeps it under exactly those (the key below): a change to any of them
is a new key, and the menu is rendered afresh. Anonymous pages (sign-in) are rendered as FAB
does.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Hashable, Optional

from flask import current_app, g, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

MENU_TEMPLATE = "appbuilder/navbar_menu_items.html"
CACHED_MENUS = 256  # kinds of reader kept per process (least recently used dropped first)

_menus: OrderedDict[Hashable, Markup] = OrderedDict()
_lock = Lock()


def _reader_key() -> Optional[Hashable]:
    """What the menu's HTML depends on: the permissions, the language, the person's saved views
    (in the Tickets menu) and the app's root. None before the person's permissions are loaded
    (an anonymous page)."""
    permissions = g.get("_permissions")
    if permissions is None or not current_user.is_authenticated or permissions[0] != current_user.id:
        return None
    saved = tuple((view.id, view.name) for view in current_user.saved_views)
    return frozenset(permissions[1]), str(get_locale()), saved, request.script_root


def _render() -> Markup:
    return Markup(render_template(MENU_TEMPLATE, menu=current_app.appbuilder.menu, appbuilder=current_app.appbuilder))


def cached_menu() -> Markup:
    """The menu's <li> items for the current reader (templates/appbuilder/navbar_menu.html)."""
    key = _reader_key()
    if key is None:
        return _render()
    with _lock:
        menu = _menus.get(key)
        if menu is not None:
            _menus.move_to_end(key)
            return menu
    menu = _render()
    with _lock:
        _menus[key] = menu
        while len(_menus) > CACHED_MENUS:
            _menus.popitem(last=False)
    return menu


def forget_menus() -> None:
    """Drop every kept menu (tests, and anything that changes the menu's own structure)."""
    with _lock:
        _menus.clear()
