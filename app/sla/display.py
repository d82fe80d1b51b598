"""SLA times as people read them: in DISPLAY_TIMEZONE, and as "due in 2 h" / "overdue 35 min"."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup

from ..models import utcnow


def display_time(value: Optional[datetime], fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored (naive UTC) instant in the display zone, with the zone's abbreviation."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    local = value.replace(tzinfo=timezone.utc).astimezone(zone)
    return f"{local.strftime(fmt)} {local.tzname()}"


def span(minutes: float) -> str:
    """A duration in the largest sensible unit: "35 min", "2 h 10 min", "3 d 4 h"."""
    minutes = int(round(abs(minutes)))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h", d=days, h=hours) if hours else _("%(d)s d", d=days)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=mins) if mins else _("%(h)s h", h=hours)
    return _("%(m)s min", m=mins)


def due_words(due_at: Optional[datetime], now: datetime) -> str:
    """"due in 2 h" or "overdue 35 min", in wall-clock time (what a person waits)."""
    if due_at is None:
        return ""
    minutes = (due_at - now).total_seconds() / 60
    if minutes >= 0:
        return _("due in %(span)s", span=span(minutes))
    return _("overdue %(span)s", span=span(minutes))


def state_label(state: Optional[str]) -> str:
    return {
        "on_track": _("on track"), "due_soon": _("due soon"), "breached": _("breached"),
        "met": _("met"), "paused": _("paused"),
    }.get(state or "", "")


def due_badge(value: tuple[Optional[str], Optional[datetime]], now: Optional[datetime] = None) -> Markup:
    """The list's Due cell: words in a coloured label (the colour is never the only signal)."""
    state, due_at = value if isinstance(value, tuple) else (None, None)
    if state is None:
        return Markup("")
    if due_at is None:  # resolved (met or breached), or paused while Waiting
        css = {"met": "success", "breached": "danger"}.get(state, "default")
        return Markup('<span class="label label-{} sla-badge" data-sla="{}">{}</span>').format(
            css, state, state_label(state)
        )
    now = now or utcnow()
    overdue = due_at < now
    css = "danger" if overdue else ("warning" if state == "due_soon" else "info")
    return Markup('<span class="label label-{} sla-badge" data-sla="{}" title="{}">{}</span>').format(
        css, "breached" if overdue else state, display_time(due_at), due_words(due_at, now)
    )
