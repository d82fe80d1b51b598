"""The ticket list at /tickets/list/: the agent's workspace, rendered lean.

FAB's list builds a search form with a field per filterable column, a list widget that calls
url_for and gettext several times per row, and renders both through nested templates: most of
the page's time at a million tickets. Here FAB still parses the filters (`_flt_`, the domain
filters of app/tickets/filters.py), orders and pages (the view's datamodel), and checks the
permissions; the rows, filter bar and pager are prepared once in Python and rendered by one
template (tickets/list.html) with no per-row url_for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from urllib.parse import urlencode

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, literal, select, union_all

from ..models import PRIORITIES, STATUS_RESOLVED, STATUSES, Person, Team, Ticket, ticket_assignee, utcnow
from ..models.ticket import running_due
from ..reports import export as exports
from ..reports.ticket_export import ticket_columns, ticket_rows
from ..sla.display import display_time, due_badge, state_label
from ..tickets.filters import (
    AGE_BUCKETS, ME, MY_TEAMS, NONE, SLA_STATES, AssigneeFilter, StatusFilter, filter_problems, ticket_filters,
)
from ..tickets.ordering import SeverityOrder
from ..tickets.people import staff_clause
from ..tickets.queues import QUEUES, queue_for
from ..tickets.search import TicketSearchFilter, quoted_ticket_number
from ..tickets.visibility import (
    TicketVisibilityFilter, assigned_by_update, current_person, personal_tickets_by_update, sees_own_tickets_only,
)
from .base import CappedCountInterface

PAGE_SIZES = (25, 50, 100)
# First click on a header sorts this way: the most pressing first.
FIRST_DIRECTION = {"priority": "desc", "due": "asc", "created_at": "asc", "updated_at": "desc",
                   "resolved_at": "desc", "id": "desc", "status": "asc", "subject": "asc", "booking_id": "asc"}
STATUS_CSS = {"Open": "primary", "In Progress": "info", "Waiting": "default", "Resolved": "success"}
PRIORITY_CSS = {"Urgent": "danger", "High": "warning", "Medium": "info", "Low": "default"}
PERSON_COLUMNS = ("assignees", "created_by")
DATE_COLUMNS = ("created_at", "updated_at", "resolved_at", "first_responded_at")


def badge(css: str, kind: str, value: str, text: str) -> Markup:
    """A coloured label that also says what it means (the colour is never the only signal)."""
    return Markup('<span class="label label-{} {}-badge" data-{}="{}">{}</span>').format(css, kind, kind, value, text)


class AgeWords:
    """How long a ticket has been open, coarse: "3 d", "5 h", "12 min". The words are looked
    up once per page, not once per row."""

    def __init__(self, now: datetime):
        self.now = now
        self.days, self.hours, self.minutes = _("%(d)s d"), _("%(h)s h"), _("%(m)s min")

    def __call__(self, created_at: datetime) -> str:
        minutes = max(int((self.now - created_at).total_seconds() // 60), 0)
        if minutes >= 24 * 60:
            return self.days % {"d": minutes // (24 * 60)}
        if minutes >= 60:
            return self.hours % {"h": minutes // 60}
        return self.minutes % {"m": minutes}


@dataclass
class Row:
    id: int
    version: int
    subject: str
    booking_id: str
    team: str
    status: Markup
    priority: Markup
    due: Markup
    assignees: str
    age: str
    created: str
    updated: str
    # Open, and someone on it was deactivated (a leaver's ticket left for the leads).
    assignee_deactivated: bool = False


@dataclass
class ListedTicket:
    """What a row of the list shows of a ticket: its columns, team name and assignees."""
    id: int
    version: int
    subject: str
    booking_id: str
    status: str
    priority: str
    created_at: datetime
    updated_at: datetime
    sla_state: Optional[str]
    first_responded_at: Optional[datetime]
    first_response_due_at: Optional[datetime]
    resolve_due_at: Optional[datetime]
    team: str
    assignees: list[tuple[str, bool]]  # (full name, active), by first name

    def due(self) -> tuple[Optional[str], Optional[datetime]]:
        return self.sla_state, running_due(self.status, self.first_responded_at, self.first_response_due_at,
                                           self.resolve_due_at)


_LISTED_COLUMNS = ("id", "version", "subject", "booking_id", "status", "priority", "created_at", "updated_at",
                   "sla_state", "first_responded_at", "first_response_due_at", "resolve_due_at")


def listed_tickets(session, ids: list[int]) -> list[ListedTicket]:
    """The tickets of a page, in the order of `ids`, with team and assignees: one statement of
    the columns the rows show (a ticket with several assignees comes once per assignee). Loaded
    through the ORM, each ticket, its creator and every assignee became an object with every
    column: the largest share of the list's own Python time."""
    if not ids:
        return []
    ticket = Ticket.__table__
    rows = session.execute(
        select(*(ticket.c[name] for name in _LISTED_COLUMNS), Team.name, Person.first_name, Person.last_name,
               Person.active)
        .join(Team, Team.id == ticket.c.team_id)
        .outerjoin(ticket_assignee, ticket_assignee.c.ticket_id == ticket.c.id)
        .outerjoin(Person, Person.id == ticket_assignee.c.user_id)
        .where(ticket.c.id.in_(ids))
        .order_by(Person.first_name)
    )
    found: dict[int, ListedTicket] = {}
    width = len(_LISTED_COLUMNS)
    for row in rows:
        listed = found.get(row[0])
        if listed is None:
            listed = found[row[0]] = ListedTicket(*row[:width], team=row[width], assignees=[])
        first_name, last_name, active = row[width + 1:]
        if first_name is not None:
            listed.assignees.append((f"{first_name} {last_name}".strip(), active))
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True)
class ListQuery:
    """The list's rows, unpaged: its filters (visibility included), search term and sort."""
    filters: Filters
    term: str
    order_column: str
    direction: str

    def ids(self, datamodel):
        """The matching ticket ids in the list's order (an ORM Query, every page)."""
        return datamodel._apply_inner_all(
            datamodel.session.query(datamodel.obj.id), self.filters, self.order_column, self.direction,
            aliases_mapping={},
        )


@dataclass(frozen=True)
class Named:
    """A team or a person as the filter bar names them."""
    id: int
    name: str
    email: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


def filter_vocabulary(session, person_ids: list[int]) -> tuple[list[Named], list[Named]]:
    """Every team (the team filter, the bulk team change) and the people already chosen in the
    person filters, in one statement: the list page's statement budget does not grow with the
    filters. People are named only if they are staff (the pickers' own scope, people_by_ids)."""
    query = select(literal("team"), Team.id, Team.name, literal(""))
    if person_ids:
        query = union_all(query, select(
            literal("person"), Person.id, Person.first_name + " " + Person.last_name, Person.email,
        ).where(Person.id.in_(person_ids), staff_clause()))
    teams, people = [], []
    for kind, pk, name, email in session.execute(query):
        (teams if kind == "team" else people).append(Named(pk, name, email))
    return sorted(teams, key=lambda team: team.name), people


@dataclass
class Chip:
    """One active filter value, with the list's URL without it."""
    label: str
    value: str
    remove_url: str


class TicketInterface(SeverityOrder, CappedCountInterface):
    """The ticket list's datamodel: severity order, capped count, and no rebuilt filters.

    FAB copies the filters into a fresh `Filters` for the inner query, and each `Filters()`
    converts every column of the model to its filter classes: three times per list request,
    a noticeable share of it. The ticket filters are all on the ticket's own columns, so the
    inner query's filters are the filters."""

    def get_inner_filters(self, filters: Optional[Filters]) -> Optional[Filters]:
        return filters

    def page_ids(self, filters: Filters, order_column: str, order_direction: str, page: int,
                 page_size: int) -> tuple[int, list[int]]:
        """The count of the list and the ids of one page of it, in order.

        For a person who sees only their own tickets (created or assigned: some thousands) the
        ids come with the count of all matches, `count(*) OVER ()`, from the one pass that
        sorts them: counting them apart probed the ticket table for each of them a second time.
        Their plain list by last update, and anyone's own assigned work by last update (My open
        tickets), do not read the ticket table at all (_by_update). Leads and admins (their
        teams', or all, tickets) otherwise get the capped count."""
        person = current_person()
        assigned = own_assignments(filters, person) if order_column == "updated_at" else None
        counted = None
        if assigned is not None:  # My open tickets, for anyone
            counted = self._by_update(assigned_by_update(person, assigned), order_direction, page, page_size)
        elif sees_own_tickets_only(person):
            if order_column == "updated_at" and only_visibility(filters):
                counted = self._by_update(personal_tickets_by_update(person), order_direction, page, page_size)
            else:
                counted = self._apply_inner_all(
                    self.session.query(self.obj.id, func.count().over()), filters, order_column,
                    order_direction, page, page_size, aliases_mapping={},
                ).all()
        if counted:  # (nothing here, or a page past the end: count as for anyone)
            return counted[0][1], [pk for pk, _total in counted]
        ids = [pk for (pk,) in self._apply_inner_all(
            self.session.query(self.obj.id), filters, order_column, order_direction, page, page_size,
            aliases_mapping={},
        )]
        return self.count_around(filters, len(ids), page, page_size), ids

    def _by_update(self, tickets, direction: str, page: Optional[int], page_size: int) -> list:
        """A page of (id, count of all) by last update, from `tickets`' (id, updated_at) read off
        indexes alone: an agent's plain list, and anyone's own assigned work."""
        mine = tickets.subquery()
        order = (mine.c.updated_at.asc(), mine.c.id.asc()) if direction == "asc" else \
            (mine.c.updated_at.desc(), mine.c.id.desc())
        return self.session.execute(
            select(mine.c.id, func.count().over()).order_by(*order).limit(page_size).offset((page or 0) * page_size)
        ).all()


def own_assignments(filters: Optional[Filters], person: Optional[Person]) -> Optional[list[str]]:
    """The statuses chosen (none: any) when a list shows exactly the tickets assigned to the
    viewer, in some statuses or all (My open tickets), and None for any other list."""
    if filters is None or person is None or not person.is_active:
        return None
    statuses, mine = [], False
    for flt, value in zip(filters.filters, filters.values):
        if isinstance(flt, TicketVisibilityFilter):
            continue  # (what is assigned to someone is visible to them)
        chosen = flt.chosen(value) if isinstance(flt, (AssigneeFilter, StatusFilter)) else None
        if isinstance(flt, AssigneeFilter) and not mine and chosen in (["me"], [str(person.id)]):
            mine = True
        elif isinstance(flt, StatusFilter) and not statuses and chosen:
            statuses = chosen
        else:
            return None
    return statuses if mine else None


def only_visibility(filters: Optional[Filters]) -> bool:
    """Whether a list is filtered by nothing but the visibility rule (no filter, no search)."""
    return filters is None or all(isinstance(flt, TicketVisibilityFilter) for flt in filters.filters)


def applied_filters(datamodel, chosen: list[tuple[BaseFilter, object]]) -> Filters:
    """A `Filters` holding exactly `chosen` (filter, value) pairs, built without FAB's
    per-column conversion (see TicketInterface)."""
    filters = Filters.__new__(Filters)
    filters.filter_converter, filters.datamodel = datamodel.filter_converter_class, datamodel
    filters.search_columns, filters._search_filters, filters._all_filters = [], {}, {}
    filters.filters = [flt for flt, _value in chosen]
    filters.values = [value for _flt, value in chosen]
    return filters


class TicketListMixin:
    """The list route of TicketModelView (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One domain filter per column replaces FAB's string operators (app/tickets/filters.py).
        domain = ticket_filters(self.datamodel)
        self._filters._search_filters = domain
        self._filters._all_filters = domain
        self.search_filters = domain

    def list_query(self) -> ListQuery:
        """What the list shows, read from its query string: the visibility rule, the filters,
        the search and the sort (the page aside). The list and its export both read it here."""
        view = type(self).__name__
        get_filter_args(self._filters)
        chosen = list(zip(self._base_filters.filters, self._base_filters.values))
        chosen += zip(self._filters.filters, self._filters.values)
        term = request.args.get("search", "").strip()
        if term:
            chosen.append((TicketSearchFilter("id", self.datamodel), term))
        order_column = request.args.get(f"_oc_{view}") or self.base_order[0]
        direction = request.args.get(f"_od_{view}") or (self.base_order[1] if order_column == self.base_order[0]
                                                         else FIRST_DIRECTION.get(order_column, "asc"))
        return ListQuery(applied_filters(self.datamodel, chosen), term, order_column, direction)

    @expose("/list/")
    @has_access
    def list(self):
        args = list(request.args.items(multi=True))
        view = type(self).__name__
        shown = self.list_query()
        term, order_column, direction = shown.term, shown.order_column, shown.direction
        if term:
            # "ESC-2685" opens that ticket wherever one types it, whatever the list's filters.
            number = quoted_ticket_number(term)
            if number is not None and self.datamodel.get(number, self._base_filters) is not None:
                return redirect(url_for(".show", pk=number))
        page = int(request.args.get(f"page_{view}") or 0)
        page_size = int(request.args.get(f"psize_{view}") or self.page_size)
        count, ids = self.datamodel.page_ids(shown.filters, order_column, direction, page, page_size)
        if term and count == 1 and page == 0 and ids:
            return redirect(url_for(".show", pk=ids[0]))
        self.update_redirect()
        teams, people = filter_vocabulary(self.datamodel.session, _person_ids(args))
        queue = queue_for(args)
        sm = self.appbuilder.sm
        return self.render_template(
            self.list_template,
            title=str(queue.label) if queue else self.list_title,
            rows=self._rows(listed_tickets(self.datamodel.session, ids)),
            count=count,
            page=page,
            page_size=page_size,
            pages=self._pages(count, page, page_size, args, view),
            page_sizes=[(size, _url(_replace(args, f"psize_{view}", str(size), view))) for size in PAGE_SIZES],
            sort=self._sort_links(args, view, order_column, direction),
            queue=queue,
            queues=[(q, q.href, q is queue) for q in QUEUES],
            term=term,
            chips=self._chips(args, teams, people),
            people={ME: _("Me"), NONE: _("No assignee"), **{str(p.id): p.label for p in people}},
            person_extras={
                "assignees": [{"id": ME, "text": _("Me")}, {"id": NONE, "text": _("No assignee")}],
                "created_by": [{"id": ME, "text": _("Me")}],
            },
            show_base=url_for(".show", pk=0)[:-1],
            problems=filter_problems(),
            chosen=self._chosen(args),
            teams=teams,
            statuses=[(status, _(status)) for status in STATUSES],
            priorities=[(priority, _(priority)) for priority in reversed(PRIORITIES)],
            sla_states=[(state, state_label(state)) for state in SLA_STATES],
            keep=[(key, value) for key, value in args
                  if key in (f"_oc_{view}", f"_od_{view}", f"psize_{view}")],
            filtered=any(key.startswith("_flt_") for key, _v in args) or bool(term),
            can_add=sm.has_access("can_add", self.class_permission_name),
            can_edit=sm.has_access("can_edit", self.class_permission_name),
            can_bulk_edit=sm.has_access("can_bulk_edit", self.class_permission_name),
            can_change_team=sm.has_access("can_bulk_team", self.class_permission_name),
            exports=self._export_links(args, view) if sm.has_access("can_export", self.class_permission_name) else [],
            people_endpoint=url_for(".people"),
            view_name=view,
        )

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The list as it is shown (filters, search, sort, queue or saved view: the list's own
        query string), every page, as ?format=csv or xlsx. Over EXPORT_MAX_ROWS, or an unknown
        format, nothing is sent: back to the list with the reason."""
        fmt = request.args.get("format", "")
        back = _url_of_list([(k, v) for k, v in request.args.items(multi=True) if k != "format"])
        if fmt not in exports.FORMATS:
            flash(_("Export format: choose CSV or Excel (format=csv or format=xlsx)."), "danger")
            return redirect(back)
        session = self.datamodel.session
        ids = self.list_query().ids(self.datamodel)
        try:
            rows = exports.count_rows(session, ids, current_app.config["EXPORT_MAX_ROWS"])
        except exports.TooManyRows as refused:
            flash(too_many_message(refused), "danger")
            return redirect(back)
        filters = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "format"])
        exports.record_export(session, "ticket", fmt, filters, rows)
        return exports.response(fmt, "tickets", ticket_columns(), ticket_rows(session, ids), sheet=_("Tickets"))

    # --- pieces of the page ------------------------------------------------------------
    @staticmethod
    def _rows(tickets: list[ListedTicket]) -> list[Row]:
        now = utcnow()
        age = AgeWords(now)
        statuses = {status: badge(STATUS_CSS[status], "status", status, _(status)) for status in STATUSES}
        priorities = {priority: badge(PRIORITY_CSS[priority], "priority", priority, _(priority))
                      for priority in PRIORITIES}
        return [
            Row(
                id=ticket.id,
                version=ticket.version,
                subject=ticket.subject,
                booking_id=ticket.booking_id,
                team=ticket.team,
                status=statuses[ticket.status],
                priority=priorities[ticket.priority],
                due=due_badge(ticket.due(), now),
                assignees=", ".join(name for name, _active in ticket.assignees),
                assignee_deactivated=ticket.status != STATUS_RESOLVED and any(
                    not active for _name, active in ticket.assignees),
                age=age(ticket.created_at),
                created=display_time(ticket.created_at),
                # (the year only when it is not this one)
                updated=display_time(ticket.updated_at, "%d %b %H:%M" if ticket.updated_at.year == now.year
                                     else "%d %b %Y"),
            )
            for ticket in tickets
        ]

    @staticmethod
    def _export_links(args, view: str) -> list[tuple[str, str, str]]:
        """(format, label, URL) of the export buttons: the list's arguments, pages aside."""
        kept = [(k, v) for k, v in args if not k.startswith(("page_", "psize_"))]
        path = url_for(".export")
        return [(fmt, label, f"{path}?{urlencode(kept + [('format', fmt)])}")
                for fmt, label in (("csv", _("CSV")), ("xlsx", _("Excel")))]

    @staticmethod
    def _pages(count: int, page: int, page_size: int, args, view: str) -> dict:
        """Previous/next and a window of page numbers around the current one (0-based in URLs)."""
        last = max((int(count) - 1) // page_size, 0)
        window = range(max(page - 2, 0), min(page + 3, last + 1))

        def link(number: int) -> str:
            return _url(_replace(args, f"page_{view}", str(number), view))

        return {
            "first": page * page_size + 1 if count else 0,
            "last_row": min((page + 1) * page_size, int(count)),
            "prev": link(page - 1) if page > 0 else None,
            "next": link(page + 1) if page < last else None,
            "numbers": [(number + 1, link(number), number == page) for number in window],
        }

    @staticmethod
    def _sort_links(args, view: str, column: str, direction: str) -> dict:
        """Per sortable column: the URL a click on its header goes to, and its current arrow."""
        links = {}
        for name, first in FIRST_DIRECTION.items():
            if name == column:
                new, arrow = ("asc" if direction == "desc" else "desc"), direction
            else:
                new, arrow = first, None
            rest = [(k, v) for k, v in args if k not in (f"_oc_{view}", f"_od_{view}", f"page_{view}")]
            links[name] = (_url(rest + [(f"_oc_{view}", name), (f"_od_{view}", new)]), arrow)
        return links

    def _chips(self, args, teams: list[Named], chosen_people: list[Named]) -> list[Chip]:
        """What the list is filtered by, in words, each with a link that drops it."""
        team_names = {str(team.id): team.name for team in teams}
        people = {str(person.id): person.name for person in chosen_people}
        words = {ME: _("me"), NONE: _("no one"), MY_TEAMS: _("my teams")}
        words.update({status: _(status) for status in STATUSES})
        words.update({priority: _(priority) for priority in PRIORITIES})
        words.update({state: state_label(state) for state in SLA_STATES})
        ages = {key: age_label(low, high) for key, low, high in AGE_BUCKETS}
        chips = []
        for key, value in args:
            column, kind = _filter_key(key)
            if column is None or not value.strip():
                continue
            label = str(self.label_columns.get(column, column))
            if column in DATE_COLUMNS:
                label = f"{label} {_('from') if kind == 0 else _('to')}"
            shown = team_names.get(value) if column == "team" else people.get(value) if column in PERSON_COLUMNS else None
            shown = ages.get(value) if column == "age" else shown
            rest = [(k, v) for k, v in args if (k, v) != (key, value) and not k.startswith("page_")]
            chips.append(Chip(label, shown or words.get(value, value), _url(rest)))
        term = request.args.get("search", "").strip()
        if term:
            rest = [(k, v) for k, v in args if k != "search" and not k.startswith("page_")]
            chips.append(Chip(_("Search"), term, _url(rest)))
        return chips

    def _chosen(self, args) -> dict:
        """The filter bar's current values: column → [values] (dates: from/to)."""
        chosen: dict = {}
        for key, value in args:
            column, kind = _filter_key(key)
            if column is None:
                continue
            if column in DATE_COLUMNS:
                chosen[f"{column}_{'from' if kind == 0 else 'to'}"] = value
            else:
                chosen.setdefault(column, []).append(value)
        return chosen


def age_label(low: int, high: Optional[int]) -> str:
    """An age range in words: "< 1 day", "1–3 days", "> 30 days"."""
    if not low:
        return _("< %(n)s day", n=high)
    if high is None:
        return _("> %(n)s days", n=low)
    return _("%(low)s–%(high)s days", low=low, high=high)


def _filter_key(key: str) -> tuple[Optional[str], int]:
    """("status", 0) for "_flt_0_status"; (None, 0) for any other argument."""
    if not key.startswith("_flt_") or len(key) < 7 or not key[5].isdigit() or key[6] != "_":
        return None, 0
    return key[7:], int(key[5])


def _person_ids(args) -> list[int]:
    """The people named by id in the person filters (at most twenty)."""
    return [int(value) for key, value in args
            if _filter_key(key)[0] in PERSON_COLUMNS and value.isdigit() and len(value) < 19][:20]


def _replace(args, key: str, value: str, view: str) -> list[tuple[str, str]]:
    """The arguments with `key` set to `value` (a new page size starts at the first page)."""
    drop = {key, f"page_{view}"} if key.startswith("psize_") else {key}
    return [(k, v) for k, v in args if k not in drop] + [(key, value)]


def too_many_message(refused) -> str:
    return _("This list has %(count)s tickets; an export holds at most %(cap)s. Nothing was exported: "
             "narrow the list with filters (team, status, dates) or a search, then export again.",
             count=f"{refused.count:,}", cap=f"{refused.cap:,}")


def _url_of_list(args) -> str:
    path = url_for(".list")
    return f"{path}?{urlencode(args)}" if args else path


def _url(args) -> str:
    return f"{request.path}?{urlencode(args)}" if args else request.path
