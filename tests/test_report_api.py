"""GET /api/v1/report/summary: the dashboard's figures as JSON, under the same visibility rule,
described by the OpenAPI document, and a bad parameter answers 400 naming the field."""
from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from app.reports.figures import summary
from tests.conftest import DOM, INTL, team
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)
from tests.test_api_contract import fetch_spec, jwt_for
from tests.test_dashboard import floor, listed_count, open_matrix, tiles, workload  # noqa: F401  (fixture)

URL = "/api/v1/report/summary"


def json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, for jsonschema to check answers."""
    if isinstance(node, dict):
        out = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    return node


def _without_time(figures: dict) -> dict:
    return {key: value for key, value in figures.items() if key != "generated_at"}


@pytest.mark.parametrize("who", ["asha", "lead", "admin"])
def test_summary_is_the_dashboards_figures_for_the_caller(app, floor, api_for, who):
    person = getattr(floor, who)
    answer = api_for(person).get(URL)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _without_time(answer.json) == _without_time(summary(person))


def test_visibility_and_team(app, floor, api_for):
    asha = api_for(floor.asha).get(URL).json
    assert tiles(asha) == {"open": 2, "unassigned": 0, "overdue": 1, "due_soon": 1, "waiting": 0}
    assert asha["workload"] is None
    # Asha asking for Domestic gets Domestic's tickets she may see: T9 (resolved) only.
    domestic = api_for(floor.asha).get(URL, query_string={"team": team(DOM).id}).json
    assert tiles(domestic)["open"] == 0 and domestic["team"]["name"] == DOM
    assert [row["resolution"]["tickets"]["count"] for row in domestic["response_times"]] == [1]
    admin = api_for(floor.admin).get(URL, query_string={"team": team(INTL).id}).json
    assert open_matrix(admin) == {INTL: {"Urgent": 1, "High": 1, "Medium": 1, "Low": 1}}
    assert workload(admin) == [("Asha Agent", 2), ("Bala Agent", 1)]


def test_period(app, floor, api_for):
    today = floor.now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Asia/Kolkata")).date()
    since, until = today - timedelta(days=75), today - timedelta(days=50)
    answer = api_for(floor.admin).get(URL, query_string={"since": since.isoformat(), "until": until.isoformat()})
    assert answer.status_code == 200
    body = answer.json
    assert body["period"] == {"since": since.isoformat(), "until": until.isoformat(), "timezone": "Asia/Kolkata"}
    assert [(row["team"]["name"], row["first_response"]["median_minutes"]) for row in body["response_times"]] == [
        (INTL, 10.0)]
    assert body["weekly"][-1]["week"] == (until - timedelta(days=until.weekday())).isoformat()


@pytest.mark.parametrize("query, field", [
    ({"team": "abc"}, "team"),
    ({"team": "999999"}, "team"),
    ({"team": "-1"}, "team"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-02-30"}, "until"),
    ({"since": "1999-12-31"}, "since"),
    ({"since": "2026-05-02", "until": "2026-05-01"}, "since"),
    ({"since": "2024-01-01", "until": "2026-01-01"}, "since"),
])
def test_bad_parameters_answer_400_naming_the_field(app, floor, api_for, query, field):
    answer = api_for(floor.admin).get(URL, query_string=query)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert list(answer.json["message"]) == [field]
    assert field in answer.json["message"][field][0]


def test_needs_a_token(app, floor, client_for):
    assert app.test_client().get(URL).status_code == 401
    # the browser's session cookie does not authorise API calls
    assert client_for(floor.admin).get(URL).status_code == 401


def test_links_list_the_counted_tickets(app, floor, api_for, client_for):
    body = api_for(floor.lead).get(URL).json
    client = client_for(floor.lead)
    assert listed_count(client, body["unassigned"]["link"]) == body["unassigned"]["count"] == 1
    assert listed_count(client, body["sla_met"][0]["with_sla"]["link"]) == 3


def test_documented_and_answers_match_the_document(app, floor, api_for):
    spec = fetch_spec(app, jwt_for(app, floor.admin.email))
    operation = spec["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"team", "since", "until"}
    assert operation["security"] and "400" in operation["responses"]
    schema = json_schema({**spec["components"]["schemas"]["ReportSummary"], "components": spec["components"]})
    for who in ("asha", "lead", "admin"):
        body = api_for(getattr(floor, who)).get(URL).json
        jsonschema.Draft4Validator(schema).validate(body)
