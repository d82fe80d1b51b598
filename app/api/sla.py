"""/api/v1/sla_policy/ and /api/v1/calendar/: admins write, every member of staff reads.

Shapes (SPEC "Service levels"): a policy is {id, team (id, or null for the default), priority,
first_response_minutes, resolution_minutes, calendar (id)}; a calendar is {id, name, timezone,
around_the_clock, windows: [{weekday, start "HH:MM", end "HH:MM"}], holidays: [{date, name}]}.
The rules are the admin screens' (app/sla/validation.py); a change recomputes the open tickets
it governs, as from the screens.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ..models import PRIORITIES, Calendar, CalendarWindow, Holiday, SlaPolicy, Team
from ..sla import recompute
from ..sla.service import build_working_calendar, working_time
from ..sla.validation import (
    MAX_TARGET_MINUTES,
    check_has_working_time,
    check_holiday_day,
    check_timezone,
    check_window,
)
from ..tickets.validation import InvalidValue
from .admin import SimpleCrudApi
from .base import ApiError
from .fields import DomainString, RelatedId
from .schemas import StrictSchema, _text


class HourMinute(fields.Field):
    """A local wall-clock time as "HH:MM"."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "09:00",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            if not isinstance(value, str) or len(value) != 5:
                raise ValueError(value)
            return datetime.strptime(value, "%H:%M").time()
        except ValueError as exc:
            raise ValidationError("Must be a time as HH:MM (00:00 to 23:59).") from exc


def _minutes(label: str):
    return fields.Integer(strict=True, required=True, validate=validate.Range(
        min=1, max=MAX_TARGET_MINUTES, error=f"{label} must be 1 to {MAX_TARGET_MINUTES} minutes (a year)."))


# --- requests ---------------------------------------------------------------------------------
class SlaPolicySchema(StrictSchema):
    team = RelatedId(Team, "team", allow_none=True, load_default=None,
                     metadata={"description": "A team's id, or null: the default for teams without their own."})
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    first_response_minutes = _minutes("first_response_minutes")
    resolution_minutes = _minutes("resolution_minutes")
    calendar = RelatedId(Calendar, "calendar", required=True)


class WindowSchema(StrictSchema):
    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 = Monday … 6 = Sunday"})
    start = HourMinute(required=True)
    end = HourMinute(required=True, metadata={"description": "00:00 is midnight, the day's end"})


class HolidaySchema(StrictSchema):
    date = fields.Date(required=True, attribute="day", data_key="date")
    name = DomainString(_text("Name", 120, required=True), required=True)


class CalendarSchema(StrictSchema):
    name = DomainString(_text("Name", 80, required=True), required=True)
    timezone = DomainString(check_timezone, load_default="Asia/Kolkata")
    around_the_clock = fields.Boolean(load_default=False)
    windows = fields.List(fields.Nested(WindowSchema), load_default=list, validate=validate.Length(max=70))
    holidays = fields.List(fields.Nested(HolidaySchema), load_default=list, validate=validate.Length(max=1000))


# --- answers: every key always there ------------------------------------------------------------
class SlaPolicyOut(Schema):
    id = fields.Integer(required=True)
    team = fields.Integer(attribute="team_id", required=True, allow_none=True)
    priority = fields.String(required=True)
    first_response_minutes = fields.Integer(required=True)
    resolution_minutes = fields.Integer(required=True)
    calendar = fields.Integer(attribute="calendar_id", required=True)


class WindowOut(Schema):
    weekday = fields.Integer(required=True)
    start = HourMinute(required=True)
    end = HourMinute(required=True)


class HolidayOut(Schema):
    date = fields.Date(attribute="day", data_key="date", required=True)
    name = fields.String(required=True)


class CalendarOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    around_the_clock = fields.Boolean(required=True)
    windows = fields.List(fields.Nested(WindowOut), required=True)
    holidays = fields.List(fields.Nested(HolidayOut), required=True)


class SlaPolicyApi(SimpleCrudApi):
    resource_name = "sla_policy"
    datamodel = SQLAInterface(SlaPolicy)
    model = SlaPolicy
    schema = add_model_schema = SlaPolicySchema()
    edit_model_schema = SlaPolicySchema(partial=True)
    list_model_schema = show_model_schema = SlaPolicyOut()
    list_columns = show_columns = ["id", "team", "priority", "first_response_minutes", "resolution_minutes",
                                   "calendar"]
    add_columns = edit_columns = list(SlaPolicySchema().fields)
    order_columns = ["id", "priority"]
    search_columns = ["team", "priority", "calendar"]
    base_order = ("id", "asc")

    def _check(self, data: dict, item=None) -> None:
        team = data["team"] if "team" in data else (item.team if item is not None else None)
        priority = data.get("priority") or (item.priority if item is not None else None)
        query = select(SlaPolicy.id).where(SlaPolicy.priority == priority)
        query = query.where(SlaPolicy.team_id.is_(None) if team is None else SlaPolicy.team_id == team.id)
        if item is not None:
            query = query.where(SlaPolicy.id != item.id)
        if self.datamodel.session.scalar(query) is not None:
            raise ApiError(422, {"priority": ["There is already a policy for this team and priority."]})
        calendar = data.get("calendar")
        if calendar is not None:
            try:
                check_has_working_time(build_working_calendar(calendar), "calendar")
            except InvalidValue as exc:
                raise ApiError(422, {"calendar": [str(exc)]}) from exc

    def post_headless(self):
        return self._then_recompute(super().post_headless)

    def put_headless(self, pk):
        before = self.datamodel.session.get(SlaPolicy, pk) if isinstance(pk, int) else None
        key = (before.team_id, before.priority) if before is not None else None
        return self._then_recompute(super().put_headless, pk, also=key)

    def delete_headless(self, pk):
        before = self.datamodel.session.get(SlaPolicy, pk) if isinstance(pk, int) else None
        key = (before.team_id, before.priority) if before is not None else None
        return self._then_recompute(super().delete_headless, pk, also=key)

    def _then_recompute(self, write, *args, also=None):
        response = write(*args)
        if response.status_code in (200, 201):
            body = response.json or {}
            result = body.get("result") or {}
            keys = {also} if also else set()
            if result:
                keys.add((result.get("team"), result.get("priority")))
            for team_id, priority in keys:
                recompute.request(team_id, priority, self.datamodel.session)
        return response


class CalendarApi(SimpleCrudApi):
    resource_name = "calendar"
    datamodel = SQLAInterface(Calendar)
    model = Calendar
    schema = add_model_schema = CalendarSchema()
    edit_model_schema = CalendarSchema(partial=True)
    list_model_schema = show_model_schema = CalendarOut()
    list_columns = show_columns = ["id", "name", "timezone", "around_the_clock", "windows", "holidays"]
    add_columns = edit_columns = list(CalendarSchema().fields)
    order_columns = ["id", "name"]
    search_columns = ["name", "timezone", "around_the_clock"]
    base_order = ("id", "asc")

    def _check(self, data: dict, item=None) -> None:
        if "name" in data:
            self._unique(Calendar.name, data["name"], item, "name")
        windows = data.get("windows")
        for index, window in enumerate(windows or []):
            earlier = [(w["weekday"], w["start"], w["end"]) for w in windows[:index]]
            try:
                check_window(window["weekday"], window["start"], window["end"], earlier)
            except InvalidValue as exc:
                raise ApiError(422, {"windows": {str(index): [str(exc)]}}) from exc
        seen: set[date] = set()
        for index, holiday in enumerate(data.get("holidays") or []):
            try:
                check_holiday_day(holiday["day"], date.today())
                if holiday["day"] in seen:
                    raise InvalidValue(f"{holiday['day'].isoformat()} is given twice.")
            except InvalidValue as exc:
                raise ApiError(422, {"holidays": {str(index): [str(exc)]}}) from exc
            seen.add(holiday["day"])
        spans = [(w["weekday"], w["start"], w["end"]) for w in windows] if windows is not None else [
            (w.weekday, w.start, w.end) for w in (item.windows if item else [])
        ]
        working = working_time(
            data.get("timezone") or (item.timezone if item else "Asia/Kolkata"), spans,
            data["around_the_clock"] if "around_the_clock" in data else bool(item and item.around_the_clock),
        )
        try:
            check_has_working_time(working, "windows")
        except InvalidValue as exc:
            raise ApiError(422, {"windows": [str(exc)]}) from exc

    def _prepare(self, data: dict) -> dict:
        data = dict(data)
        if "windows" in data:
            data["windows"] = [CalendarWindow(**w) for w in data["windows"]]
        if "holidays" in data:
            data["holidays"] = [Holiday(**h) for h in data["holidays"]]
        return data

    def put_headless(self, pk):
        response = super().put_headless(pk)
        if response.status_code == 200:
            recompute.request_for_calendar(pk, self.datamodel.session)
        return response

    def check_delete(self, item) -> None:
        used = self.datamodel.session.scalars(select(SlaPolicy).where(SlaPolicy.calendar_id == item.id)).first()
        if used is not None:
            raise ApiError(422, f"The calendar is used by the policy {used}: change that first.")

