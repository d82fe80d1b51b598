"""GET /api/v1/report/summary: the dashboard's figures as JSON (app/reports/figures.py), over the
tickets the caller may see. `team` (a team's id), `since` and `until` (the company's days,
YYYY-MM-DD; default the last 30 days) narrow it; a bad value answers 400 naming the field."""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, protect, safe

from ..models import PRIORITIES
from ..reports.figures import ReportError, parse_day, parse_team
from ..reports.snapshots import dashboard_summary
from ..tickets.visibility import current_person
from .contract import ContractApi, _add

_INT = {"type": "integer"}
_LINK = {"type": "string", "description": "The ticket list filtered to exactly the counted tickets"}
FIGURE = {"type": "object", "required": ["count", "link"], "additionalProperties": False,
          "properties": {"count": _INT, "link": _LINK}}
_REF = "#/components/schemas/"
_FIGURE = {"$ref": _REF + "ReportFigure"}
_TEAM = {"type": "object", "required": ["id", "name"], "additionalProperties": False,
         "properties": {"id": _INT, "name": {"type": "string"}}}
_MINUTES = {"type": "number", "nullable": True, "description": "Working minutes; null when nothing to measure"}


def _object(properties: dict, nullable: bool = False) -> dict:
    schema = {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}
    if nullable:
        schema["nullable"] = True
    return schema


def _timing() -> dict:
    return _object({"tickets": _FIGURE, "median_minutes": _MINUTES, "p90_minutes": _MINUTES})


SUMMARY = _object({
    "period": _object({
        "since": {"type": "string", "format": "date"}, "until": {"type": "string", "format": "date"},
        "timezone": {"type": "string", "description": "The zone whose days these are (DISPLAY_TIMEZONE)"},
    }),
    "team": {**_TEAM, "nullable": True, "description": "The team asked for, or null for all"},
    "generated_at": {"type": "string", "format": "date-time", "description": "When the figures were computed"},
    "snapshot": {"type": "boolean", "description": (
        "true: an admin's default period, read from the snapshot the scheduler keeps (as of generated_at)")},
    "open": _object({
        "total": _FIGURE,
        "by_team": {"type": "array", "items": _object({
            "team": _TEAM, "total": _FIGURE,
            "priorities": _object({priority: _FIGURE for priority in reversed(PRIORITIES)}),
        })},
    }),
    "unassigned": _FIGURE,
    "overdue": _FIGURE,
    "due_soon": _FIGURE,
    "waiting": _FIGURE,
    "age": {"type": "array", "items": _object({
        "bucket": {"type": "string", "enum": ["0-1", "1-3", "3-7", "7-30", "30-"]},
        "min_days": _INT, "max_days": {"type": "integer", "nullable": True}, "count": _INT, "link": _LINK,
    })},
    "weekly": {"type": "array", "description": "The 12 weeks (Monday first) ending with the one holding `until`",
               "items": _object({"week": {"type": "string", "format": "date"}, "created": _FIGURE,
                                 "resolved": _FIGURE})},
    "response_times": {"type": "array", "description": "Per team: first responses and resolutions in the period",
                       "items": _object({"team": _TEAM, "first_response": _timing(), "resolution": _timing()})},
    "sla_met": {"type": "array", "items": _object({
        "team": _TEAM, "met": _FIGURE, "with_sla": _FIGURE,
        "rate": {"type": "number", "nullable": True, "description": "met / with_sla"},
    })},
    "workload": {"type": "array", "nullable": True,
                 "description": "Leads and admins: open tickets per assignee, busiest first (null for agents)",
                 "items": _object({
                     "person": _TEAM, "open": _FIGURE,
                     "oldest_created_at": {"type": "string", "format": "date-time", "nullable": True},
                 })},
    "repeat_bookings": _object({
        "count": {**_INT, "description": "Bookings with two or more tickets created in the period"},
        "bookings": {"type": "array", "items": _object({"booking_id": {"type": "string"}, "count": _INT,
                                                        "link": _LINK})},
    }),
    "teams": {"type": "array", "items": _TEAM},
})


class ReportApi(ContractApi):
    resource_name = "report"
    openapi_spec_tag = "Report"

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        _add(api_spec.components.schema, "ReportFigure", FIGURE)
        _add(api_spec.components.schema, "ReportSummary", SUMMARY)

    @expose("/summary", methods=["GET"])
    @protect()
    @safe
    def summary(self):
        """The dashboard's figures
        ---
        get:
          description: >-
            The dashboard's figures over the tickets the caller may see (agents: their own work;
            leads: their teams' tickets; admins: all), each with a link to the ticket list of
            exactly the counted tickets.
          parameters:
          - in: query
            name: team
            schema:
              type: integer
            description: Only this team's tickets (a team's id)
          - in: query
            name: since
            schema:
              type: string
              format: date
            description: First day of the period (the company's days); default 29 days before `until`
          - in: query
            name: until
            schema:
              type: string
              format: date
            description: Last day of the period, included; default today. At most 366 days in all.
          responses:
            200:
              description: The figures
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/ReportSummary'
            400:
              $ref: '#/components/responses/400'
            500:
              $ref: '#/components/responses/500'
        """
        session = self.appbuilder.session
        try:
            team = parse_team(session, request.args.get("team"))
            since = parse_day("since", request.args.get("since"))
            until = parse_day("until", request.args.get("until"))
            figures = dashboard_summary(current_person(), team, since, until, session=session)
        except ReportError as error:
            return self.response_400(message={error.field: [error.message]})
        return self.response(200, **figures)

