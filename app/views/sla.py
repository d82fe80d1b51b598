"""Admin screens for service levels: calendars (with their windows and holidays) and policies.

Every change to a policy or a calendar re-computes the due times of the open tickets it
governs (app/sla/recompute.py: in the request when few, else by the worker).
Rules spanning several fields (overlapping windows, a calendar with no working time) are
checked in pre_add/pre_update, whose refusal FAB shows as a message and saves nothing.
"""
from __future__ import annotations

from datetime import date

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, TimeField

from ..extensions import db
from ..forms_util import rule
from ..models import PRIORITIES, Calendar, CalendarWindow, Holiday, SlaPolicy
from ..sla import recompute
from ..sla.service import build_working_calendar, working_calendar
from ..sla.validation import check_has_working_time, check_holiday_day, check_minutes, check_timezone, check_window
from ..tickets import validation as v
from .base import RowScopedActionsMixin

WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
            (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]


def _weekday_name(value) -> str:
    return str(dict(WEEKDAYS).get(value, value))


def _hhmm(value) -> str:
    return value.strftime("%H:%M") if value else ""


def _check_calendar_in_use(calendar: Calendar, windows=None) -> None:
    """A calendar that a policy counts on must keep some working time (`windows`: as it will be)."""
    session = db.session
    with session.no_autoflush:
        in_use = calendar.id and session.scalar(select(SlaPolicy.id).where(SlaPolicy.calendar_id == calendar.id))
        if in_use:
            check_has_working_time(build_working_calendar(calendar, windows), calendar.name)


class CalendarWindowView(RowScopedActionsMixin, ModelView):
    route_base = "/calendar-windows"
    datamodel = SQLAInterface(CalendarWindow)
    list_title = _l("Working hours")
    add_title = _l("Add working hours")
    edit_title = show_title = _l("Working hours")
    add_row_message, edit_row_message = _l("Working hours added."), _l("Working hours saved.")
    delete_row_message = _l("Working hours deleted.")
    label_columns = {"calendar": _l("Calendar"), "weekday": _l("Weekday"), "start": _l("Start"), "end": _l("End")}
    list_columns = show_columns = ["calendar", "weekday", "start", "end"]
    add_columns = edit_columns = ["calendar", "weekday", "start", "end"]
    base_order = ("weekday", "asc")
    formatters_columns = {"weekday": _weekday_name, "start": _hhmm, "end": _hhmm}
    search_columns = ["calendar", "weekday"]
    # FAB has no form field for a Time column: HTML time inputs (HH:MM).
    add_form_extra_fields = edit_form_extra_fields = {
        "weekday": SelectField(_l("Weekday"), choices=WEEKDAYS, coerce=int),
        "start": TimeField(_l("Start"), format="%H:%M", description=_l("Local time, HH:MM.")),
        "end": TimeField(
            _l("End"), format="%H:%M",
            description=_l("Local time, HH:MM; 00:00 means midnight. A night shift is two windows, split at midnight."),
        ),
    }

    def _check(self, window: CalendarWindow) -> None:
        if window.calendar is None:
            raise v.InvalidValue(_("%(label)s is required.", label=_("Calendar")))
        with self.datamodel.session.no_autoflush:
            others = [
                (w.weekday, w.start, w.end) for w in window.calendar.windows if w is not window and w.id != window.id
            ]
        check_window(window.weekday, window.start, window.end, others)

    def pre_add(self, item: CalendarWindow) -> None:
        self._check(item)

    def pre_update(self, item: CalendarWindow) -> None:
        self._check(item)
        _check_calendar_in_use(item.calendar)

    def pre_delete(self, item: CalendarWindow) -> None:
        _check_calendar_in_use(item.calendar, [w for w in item.calendar.windows if w.id != item.id])

    def post_add(self, item: CalendarWindow) -> None:
        recompute.request_for_calendar(item.calendar_id)

    post_update = post_delete = post_add


class HolidayView(RowScopedActionsMixin, ModelView):
    route_base = "/holidays"
    datamodel = SQLAInterface(Holiday)
    list_title = _l("Holidays")
    add_title = _l("Add a holiday")
    edit_title = show_title = _l("Holiday")
    add_row_message, edit_row_message = _l("Holiday added."), _l("Holiday saved.")
    delete_row_message = _l("Holiday deleted.")
    label_columns = {"calendar": _l("Calendar"), "day": _l("Date"), "name": _l("Name")}
    list_columns = show_columns = add_columns = edit_columns = ["calendar", "day", "name"]
    base_order = ("day", "asc")
    search_columns = ["calendar", "day", "name"]
    validators_columns = {
        "name": [rule(lambda value: v.normalize_text(value, label=str(_l("Name")), required=True, max_length=120))],
    }

    def pre_add(self, item: Holiday) -> None:
        if item.calendar is None:
            raise v.InvalidValue(_("%(label)s is required.", label=_("Calendar")))
        check_holiday_day(item.day, date.today())
        clash = [h for h in item.calendar.holidays if h is not item and h.id != item.id and h.day == item.day]
        if clash:
            raise v.InvalidValue(_("%(label)s: %(day)s is already a holiday (%(name)s).", label=_("Date"),
                                   day=item.day.isoformat(), name=clash[0].name))

    pre_update = pre_add

    def post_add(self, item: Holiday) -> None:
        recompute.request_for_calendar(item.calendar_id)

    post_update = post_delete = post_add


class CalendarView(RowScopedActionsMixin, ModelView):
    route_base = "/calendars"
    datamodel = SQLAInterface(Calendar)
    list_title = _l("Calendars")
    add_title = _l("Add a calendar")
    edit_title = show_title = _l("Calendar")
    add_row_message, edit_row_message = _l("Calendar added."), _l("Calendar saved.")
    delete_row_message = _l("Calendar deleted.")
    formatters_columns = {"around_the_clock": lambda value: _("Yes") if value else _("No")}
    label_columns = {
        "name": _l("Name"), "timezone": _l("Time zone"), "around_the_clock": _l("Around the clock"),
        "windows": _l("Working hours"), "holidays": _l("Holidays"),
    }
    description_columns = {
        "timezone": _l("An IANA time zone name, e.g. Asia/Kolkata."),
        "around_the_clock": _l("Every minute counts: weekly windows and holidays are ignored."),
    }
    list_columns = ["name", "timezone", "around_the_clock"]
    show_columns = ["name", "timezone", "around_the_clock"]
    add_columns = edit_columns = ["name", "timezone", "around_the_clock"]
    related_views = [CalendarWindowView, HolidayView]
    show_template = "appbuilder/general/model/show_cascade.html"
    edit_template = "appbuilder/general/model/edit_cascade.html"
    validators_columns = {
        "name": [rule(lambda value: v.normalize_text(value, label=str(_l("Name")), required=True, max_length=80))],
        "timezone": [rule(check_timezone)],
    }

    def pre_update(self, item: Calendar) -> None:
        _check_calendar_in_use(item)

    def pre_delete(self, item: Calendar) -> None:
        used = self.datamodel.session.scalars(select(SlaPolicy).where(SlaPolicy.calendar_id == item.id)).first()
        if used is not None:
            raise v.InvalidValue(_("The calendar %(name)s is used by the policy %(policy)s: change that first.",
                                   name=item.name, policy=str(used)))

    def post_update(self, item: Calendar) -> None:
        recompute.request_for_calendar(item.id)


class SlaPolicyView(RowScopedActionsMixin, ModelView):
    route_base = "/sla-policies"
    datamodel = SQLAInterface(SlaPolicy)
    list_title = _l("SLA policies")
    add_title = _l("Add an SLA policy")
    edit_title = show_title = _l("SLA policy")
    add_row_message, edit_row_message = _l("SLA policy added."), _l("SLA policy saved.")
    delete_row_message = _l("SLA policy deleted.")
    label_columns = {
        "team": _l("Team"), "priority": _l("Priority"), "first_response_minutes": _l("First response (working minutes)"),
        "resolution_minutes": _l("Resolution (working minutes)"), "calendar": _l("Calendar"),
    }
    description_columns = {
        "team": _l("Empty: the default for every team without its own policy for this priority."),
    }
    list_columns = show_columns = add_columns = edit_columns = [
        "team", "priority", "first_response_minutes", "resolution_minutes", "calendar",
    ]
    base_order = ("priority", "asc")
    formatters_columns = {"team": lambda team: str(team) if team else str(_l("Default")), "priority": _}
    add_form_extra_fields = edit_form_extra_fields = {
        "priority": SelectField(_l("Priority"), choices=[(p, _l(p)) for p in PRIORITIES]),
    }
    validators_columns = {
        "first_response_minutes": [rule(lambda value: check_minutes(value, str(_l("First response (working minutes)"))))],
        "resolution_minutes": [rule(lambda value: check_minutes(value, str(_l("Resolution (working minutes)"))))],
    }

    def _check(self, policy: SlaPolicy) -> None:
        if policy.calendar is None:
            raise v.InvalidValue(_("%(label)s is required.", label=_("Calendar")))
        check_has_working_time(working_calendar(policy.calendar), str(_l("Calendar")))
        session = self.datamodel.session
        query = select(SlaPolicy.id).where(SlaPolicy.priority == policy.priority, SlaPolicy.id != (policy.id or 0))
        query = query.where(SlaPolicy.team_id.is_(None) if policy.team is None else SlaPolicy.team_id == policy.team.id)
        with session.no_autoflush:
            if session.scalar(query) is not None:
                raise v.InvalidValue(_("%(label)s: there is already a policy for this team and priority.",
                                       label=_("Priority")))

    pre_add = pre_update = _check

    def post_add(self, item: SlaPolicy) -> None:
        recompute.request(item.team_id, item.priority)

    post_update = post_delete = post_add
