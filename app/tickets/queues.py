"""The work queues: named links to the ticket list with its own filters and sort.

A queue is nothing but a URL of the list (see app/tickets/filters.py for the `_flt_` form),
so it costs what the list costs, can be shared, refined with more filters and saved as a view.
`me` and `mine` are read for whoever opens the link.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from ..models import STATUS_IN_PROGRESS, STATUS_OPEN, STATUS_RESOLVED, STATUS_WAITING
from .filters import ME, MY_TEAMS, NONE

VIEW = "TicketModelView"
LIST_PATH = "/tickets/list/"
NOT_RESOLVED = [("_flt_0_status", s) for s in (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_WAITING)]


def _order(column: str, direction: str) -> list[tuple[str, str]]:
    return [(f"_oc_{VIEW}", column), (f"_od_{VIEW}", direction)]


@dataclass(frozen=True)
class Queue:
    key: str
    name: str  # the menu entry's name (its menu_access permission), never translated
    label: str
    icon: str
    args: tuple[tuple[str, str], ...]
    empty: str  # what the empty list says to do

    @property
    def href(self) -> str:
        return f"{LIST_PATH}?{urlencode(self.args)}"


QUEUES = (
    Queue("my_open", "My open tickets", _l("My open tickets"), "fa-user",
          tuple([("_flt_0_assignees", ME)] + NOT_RESOLVED + _order("updated_at", "desc")),
          _l("No open tickets assigned to you. New escalations assigned to you will appear here.")),
    Queue("unassigned", "Unassigned", _l("Unassigned"), "fa-user-plus",
          tuple([("_flt_0_team", MY_TEAMS), ("_flt_0_assignees", NONE)] + NOT_RESOLVED + _order("created_at", "asc")),
          _l("Every open ticket of your teams has someone on it.")),
    Queue("urgent", "Urgent", _l("Urgent"), "fa-bolt",
          tuple([("_flt_0_priority", "Urgent")] + NOT_RESOLVED + _order("updated_at", "desc")),
          _l("No urgent tickets open.")),
    Queue("overdue", "Overdue", _l("Overdue"), "fa-exclamation-triangle",
          tuple([("_flt_0_sla_state", "breached")] + NOT_RESOLVED + _order("due", "asc")),
          _l("Nothing is overdue.")),
    Queue("due_soon", "Due soon", _l("Due soon"), "fa-clock-o",
          tuple([("_flt_0_sla_state", "due_soon")] + NOT_RESOLVED + _order("due", "asc")),
          _l("Nothing is due soon.")),
    Queue("waiting", "Waiting", _l("Waiting"), "fa-pause",
          tuple([("_flt_0_status", STATUS_WAITING)] + _order("updated_at", "asc")),
          _l("No tickets are waiting on a customer or a supplier.")),
    Queue("recently_resolved", "Recently resolved", _l("Recently resolved"), "fa-check",
          (("_flt_0_status", STATUS_RESOLVED), ("_flt_0_resolved_at", "-7d")) + tuple(_order("resolved_at", "desc")),
          _l("Nothing was resolved in the last seven days.")),
)


def queue_for(args: list[tuple[str, str]]) -> Optional[Queue]:
    """The queue whose link these list arguments are (pages and page sizes aside), if any."""
    wanted = sorted((key, value) for key, value in args if not key.startswith(("page_", "psize_")))
    for queue in QUEUES:
        if sorted(queue.args) == wanted:
            return queue
    return None
