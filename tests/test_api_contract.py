"""The REST API against its own OpenAPI description.

1. `/api/v1/_openapi` is a valid OpenAPI 3.0 document (checked with `jsonschema` against the
   OpenAPI 3.0 meta-schema schemathesis ships, plus every `$ref` resolving) and it describes our
   eight resources: paths, methods, request bodies, partial PUTs.
2. Schemathesis generates requests from that document and sends them to the app, once with an
   Agent's token and once with an Admin's: never a 5xx, every response conforms to the status
   codes, content types, headers and schemas the document declares, and the Agent never sees a
   ticket (or a comment on one) they may not see: not in a list, by id, in a `count`, in `_info`.
   With both databases the Agent's run is on PostgreSQL and the Admin's on SQLite
   (tests/conftest.py CONTRACT_RUNS_ELSEWHERE).
3. Swagger UI (`/swagger/v1`) is for logged-in admins only.

Schemathesis is driven through its engine (`schemathesis.engine.from_schema(...).execute()`, what
`schemathesis run` uses) against the test app served over HTTP from a background thread. Its
pytest integration (`schemathesis.pytest.from_fixture`) writes `request.node._nodeid`, which
pytest 9's nodes no longer have, and the engine's in-process WSGI transport hands
`max_redirects` to werkzeug in the fuzzing phase (TypeError); over HTTP neither happens, and
each request gets its own thread, app context and database session, as in production.

Bounded to stay near half a minute per role and database: fixed seed, deterministic
generation, no shrinking, 15 examples per operation in the fuzzing phase, six-step stateful
scenarios, TRACE as the one undeclared method, and only valid values in the coverage phase for
reads (invalid `q` objects all answer 400 the same way; fuzzing still sends invalid ones).

Nothing is excused: every response must match the document, shapes and datetimes included.
`q` is published as a string parameter holding a JSON object (the form client generators can
use) with its schema under `x-json-schema`; for schemathesis that same parameter is given back
as OpenAPI's structured form (`content: application/json` with that schema), so it generates
valid and invalid objects rather than random text.
"""
from __future__ import annotations

import copy
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import jsonschema
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.specs.openapi.definitions import OPENAPI_30
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Founder, Ticket
from tests.conftest import DOM, INTL, PASSWORD, team

SEED = 20260601
RESOURCES = ("ticket", "comment", "team", "founder", "member", "notification", "sla_policy", "calendar")
OUR_PATHS = r"^/api/v1/(" + "|".join(RESOURCES + ("report",)) + r")/"  # + the figures (no rows)
# Phrases only the hidden rows carry: no response to the agent may ever contain one.
HIDDEN_MARK = "Zq7Secret"

# Which checks run: every check schemathesis has, except `positive_data_acceptance`.
# That one expects every schema-valid request to succeed, but a schema cannot say that
# `team` must be the id of an existing team or that a booking id has a format; the API
# rightly answers those with 422 (or 404 for a ticket the caller may not see).
CHECKS = {"positive_data_acceptance": {"enabled": False}}


# --- helpers ----------------------------------------------------------------------------------
def jwt_for(app, email: str) -> str:
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": email, "password": PASSWORD, "provider": "db"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def fetch_spec(app, token: str) -> dict:
    response = app.test_client().get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.json


def _walk_refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _walk_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_refs(value, f"{where}/{index}")


def _resolve(spec: dict, ref: str) -> Any:
    assert ref.startswith("#/"), f"external reference {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _deref(spec: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = _resolve(spec, node["$ref"])
    return node


def _body_schema(spec: dict, path: str, method: str) -> dict:
    body = spec["paths"][path][method]["requestBody"]
    return _deref(spec, _deref(spec, body)["content"]["application/json"]["schema"])


# --- the data the runs act on -------------------------------------------------------------------
@dataclass
class World:
    admin: Any
    agent: Any
    hidden_tickets: set[int]
    visible_tickets: set[int]
    hidden_comments: set[int]


@pytest.fixture
def world(app, make_person, make_ticket) -> World:
    """Teams, people in teams, founders, tickets and comments; some tickets hidden from the agent.

    The hidden tickets are made first, so they hold the small ids generators like to try.
    """
    admin = make_person("Ada Admin", "Admin")
    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Olga Other", "Agent", (INTL,))
    domestic = make_person("Dev Domestic", "Agent", (DOM,))
    lead = make_person("Lena Lead", "Lead", (INTL,))
    make_person("Ivan Inactive", "Agent", (INTL,), active=False)
    db.session.add_all([
        Founder(name="Farah Founder", email="farah@deyor.test", active=True),
        Founder(name="Felix Former", email="felix@deyor.test", active=False),
    ])
    db.session.commit()

    hidden = [
        make_ticket(colleague, INTL, subject=f"{HIDDEN_MARK} colleague's own", booking_id="HID-0001"),
        make_ticket(domestic, DOM, assignees=[domestic], subject=f"{HIDDEN_MARK} domestic", booking_id="HID-0002",
                    customer_name=f"{HIDDEN_MARK} Guest"),
        make_ticket(lead, INTL, assignees=[colleague], subject=f"{HIDDEN_MARK} lead's", booking_id="HID-0003"),
    ]
    visible = [
        make_ticket(agent, INTL, subject="Refund pending", booking_id="VIS-0001"),
        make_ticket(colleague, INTL, assignees=[agent, colleague], subject="Visa delayed", booking_id="VIS-0002"),
        make_ticket(domestic, DOM, assignees=[agent], subject="Cab missing", booking_id="VIS-0003",
                    status="In Progress"),
    ]
    hidden_comments = []
    for ticket in hidden:
        comment = Comment(ticket=ticket, author=ticket.created_by, body=f"{HIDDEN_MARK} note")
        db.session.add(comment)
        hidden_comments.append(comment)
    for ticket in visible:
        db.session.add(Comment(ticket=ticket, author=ticket.created_by, body="Called the hotel"))
    db.session.commit()
    return World(
        admin=admin, agent=agent,
        hidden_tickets={t.id for t in hidden}, visible_tickets={t.id for t in visible},
        hidden_comments={c.id for c in hidden_comments},
    )


# --- 1. the document --------------------------------------------------------------------------
def test_openapi_document_is_valid_openapi_3(app, world):
    spec = fetch_spec(app, jwt_for(app, world.admin.email))

    assert re.fullmatch(r"3\.0\.\d+", spec["openapi"]), spec["openapi"]
    errors = sorted(jsonschema.Draft4Validator(OPENAPI_30).iter_errors(spec), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors[:20])
    unresolved = []
    for where, ref in _walk_refs(spec):
        try:
            _resolve(spec, ref)
        except (KeyError, IndexError, TypeError):
            unresolved.append(f"{where} -> {ref}")
    assert not unresolved, unresolved
    # Every schema in components is itself a usable JSON Schema.
    broken = []
    for name, schema in spec["components"]["schemas"].items():
        try:
            jsonschema.Draft4Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            broken.append(f"{name}: {exc.message}")
    assert not broken, broken


def test_openapi_document_describes_our_resources(app, world):
    spec = fetch_spec(app, jwt_for(app, world.admin.email))
    paths = spec["paths"]

    for resource in RESOURCES:
        assert "get" in paths[f"/api/v1/{resource}/"], resource
        assert "get" in paths[f"/api/v1/{resource}/{{pk}}"], resource
        assert "get" in paths[f"/api/v1/{resource}/_info"], resource
    for resource in ("ticket", "team", "founder"):
        assert {"get", "put", "delete"} <= set(paths[f"/api/v1/{resource}/{{pk}}"]), resource
    for resource in ("ticket", "comment", "team", "founder", "member"):
        assert "post" in paths[f"/api/v1/{resource}/"], resource
    # Comments are never edited or deleted; people are deactivated, never deleted;
    # notifications are read-only.
    assert set(paths["/api/v1/comment/{pk}"]) == {"get"}
    assert "delete" not in paths["/api/v1/member/{pk}"]
    assert set(paths["/api/v1/notification/"]) == {"get"}
    assert set(paths["/api/v1/notification/{pk}"]) == {"get"}

    ticket_post = _body_schema(spec, "/api/v1/ticket/", "post")
    assert {"subject", "booking_id", "team"} <= set(ticket_post["required"])
    assert ticket_post["properties"]["team"]["type"] == "integer"
    assert ticket_post["properties"]["assignees"]["type"] == "array"
    assert ticket_post["properties"]["assignees"]["items"]["type"] == "integer"
    assert ticket_post.get("additionalProperties") is False

    ticket_put = _body_schema(spec, "/api/v1/ticket/{pk}", "put")
    assert ticket_put["properties"]["team"]["type"] == "integer"
    assert ticket_put["properties"]["assignees"]["items"]["type"] == "integer"
    assert {"Open", "In Progress", "Waiting", "Resolved"} == set(ticket_put["properties"]["status"]["enum"])

    comment_post = _body_schema(spec, "/api/v1/comment/", "post")
    assert set(comment_post["required"]) == {"ticket", "body"}
    assert comment_post["properties"]["ticket"]["type"] == "integer"

    member_post = _body_schema(spec, "/api/v1/member/", "post")
    assert member_post["properties"]["password"].get("writeOnly") is True
    assert member_post["properties"]["teams"]["items"]["type"] == "integer"

    # PUT is a partial update everywhere: the document must not demand every field.
    for resource in ("ticket", "team", "founder", "member"):
        put = _body_schema(spec, f"/api/v1/{resource}/{{pk}}", "put")
        assert not put.get("required"), f"PUT /api/v1/{resource}/{{pk}} documents required fields {put['required']}"

    for path, operations in paths.items():
        if re.match(OUR_PATHS, path):
            for method, operation in operations.items():
                assert operation.get("security"), f"{method.upper()} {path} is not marked as needing a token"


def test_openapi_document_is_exactly_what_is_served(app, world):
    """Every registered API shares the contract base; the document lists the served routes only,
    one integer id for every method, JWT as the one security scheme, errors with their shapes."""
    from flask_appbuilder.api import BaseApi

    from app.api.contract import ContractApi

    apis = [view for view in app.appbuilder.baseviews if isinstance(view, BaseApi)]
    assert apis and all(isinstance(view, ContractApi) for view in apis), [
        type(view).__name__ for view in apis if not isinstance(view, ContractApi)]
    spec = fetch_spec(app, jwt_for(app, world.admin.email))
    served = {str(rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    documented = {re.sub(r"\{(\w+)\}", r"<\1>", path) for path in spec["paths"]}
    assert documented == {re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule) for rule in served}
    assert "/api/v1/menu/" not in spec["paths"] and "/api/v1/_openapi" in spec["paths"]
    assert set(spec["components"]["securitySchemes"]) == {"jwt", "jwt_refresh"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert all("api_key" not in entry for entry in operation.get("security", [])), (method, path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"]["type"] == "integer", (method, path, parameter)
    assert all(f"/api/v1/{r}/<int:pk>" in served for r in ("ticket", "team", "founder"))
    assert not any(rule.endswith("/<pk>") for rule in served)
    not_found = spec["components"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert not_found["required"] == ["message"]
    # what a generated client reads a row with: arrays for to-many, nullable where it may be empty
    ticket = spec["components"]["schemas"]["TicketApi.get"]
    assert ticket["properties"]["assignees"]["type"] == "array"
    assert ticket["properties"]["resolved_by"]["nullable"] is True
    assert ticket["properties"]["resolved_at"]["nullable"] is True
    assert set(ticket["required"]) == set(ticket["properties"])


def test_put_is_partial_as_documented(app, world):
    """What the PUT bodies' missing `required` promises: one field alone is an update."""
    headers = {"Authorization": f"Bearer {jwt_for(app, world.admin.email)}"}
    client = app.test_client()
    team_id = client.get("/api/v1/team/", headers=headers).json["ids"][0]
    founder_id = client.get("/api/v1/founder/", headers=headers).json["ids"][0]
    for path, body in [
        (f"/api/v1/team/{team_id}", {"default_emails": "ops@deyor.test"}),
        (f"/api/v1/founder/{founder_id}", {"name": "Farah F. Founder"}),
        (f"/api/v1/member/{world.agent.id}", {"phone": "+91 98200 00000"}),
        (f"/api/v1/ticket/{min(world.visible_tickets)}", {"priority": "Urgent"}),
    ]:
        response = client.put(path, json=body, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])


def test_openapi_document_needs_a_permitted_login(app, world):
    client = app.test_client()
    assert client.get("/api/v1/_openapi").status_code == 401
    agent = {"Authorization": f"Bearer {jwt_for(app, world.agent.email)}"}
    assert client.get("/api/v1/_openapi", headers=agent).status_code == 403


# --- 2. property-based: schemathesis ------------------------------------------------------------
class LeakProbe:
    """What an agent may not see, and the check that none of it appears in a response."""

    def __init__(self, app, world: World) -> None:
        self.app = app
        self.hidden_tickets = set(world.hidden_tickets)
        self.hidden_comments = set(world.hidden_comments)
        self.requested: Counter = Counter()  # (operation label, hidden id) -> times asked

    def visible_limit(self, model) -> int:
        """Rows that exist now minus the hidden ones: an upper bound for the agent's `count`.

        Rows created during the run are the agent's own (visible), and the agent can delete nothing.
        """
        with self.app.app_context():
            total = db.session.scalar(select(func.count()).select_from(model))
        return total - (len(self.hidden_tickets) if model is Ticket else len(self.hidden_comments))

    def inspect(self, response, case) -> None:
        path = case.operation.path
        pk = (case.path_parameters or {}).get("pk")
        if path == "/api/v1/ticket/{pk}" and pk in self.hidden_tickets:
            self.requested[(case.operation.label, pk)] += 1
        text = response_text(response)
        if HIDDEN_MARK in text:
            at = text.index(HIDDEN_MARK)
            raise AssertionError(
                f"Text of a ticket or comment the agent may not see is in the response\n"
                f"…{text[max(0, at - 160):at + 60]}…"
            )
        if not path.startswith(("/api/v1/ticket/", "/api/v1/comment/")):
            return
        try:
            body = response.json()
        except Exception:
            return
        if not isinstance(body, dict):
            return
        if path.startswith("/api/v1/ticket/"):
            tickets, comments = ticket_ids_in_ticket_body(body), set()
        else:
            tickets, comments = ticket_ids_in_comment_body(body), comment_ids_in_comment_body(body)
        leaked_tickets = tickets & self.hidden_tickets
        leaked_comments = comments & self.hidden_comments
        if leaked_tickets or leaked_comments:
            raise AssertionError(
                f"Ids of tickets or comments the agent may not see are in the response\n"
                f"ticket ids {sorted(leaked_tickets)}, comment ids {sorted(leaked_comments)} "
                f"(hidden: tickets {sorted(self.hidden_tickets)}, comments {sorted(self.hidden_comments)})"
            )
        count = body.get("count")
        if case.method.upper() == "GET" and path in ("/api/v1/ticket/", "/api/v1/comment/") \
                and isinstance(count, int) and not isinstance(count, bool):
            model = Ticket if path == "/api/v1/ticket/" else Comment
            limit = self.visible_limit(model)
            if count > limit:
                raise AssertionError(
                    f"`count` includes rows the agent may not see\n"
                    f"`count` is {count} but at most {limit} {model.__tablename__}s are visible to the agent"
                )


def response_text(response) -> str:
    """The answer as text; an Excel export (a zip) as the text of its cells."""
    content = response.content or b""
    if content[:2] == b"PK":
        import io

        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(str(value) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for value in row if value is not None)
    return response.text or ""


def _rows(body: dict) -> list:
    result = body.get("result")
    if isinstance(result, list):
        return [row for row in result if isinstance(row, dict)]
    return [result] if isinstance(result, dict) else []


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _ints(values: Any) -> set[int]:
    found = {_as_int(v) for v in (values if isinstance(values, list) else [values])}
    return {v for v in found if v is not None}


def ticket_ids_in_ticket_body(body: dict) -> set[int]:
    """`ids`, the top-level `id`, `result[].id` and a create's `duplicates` of a ticket list, show,
    create or update."""
    ids = _ints(body.get("ids") or []) | _ints(body.get("id")) | _ints(body.get("duplicates") or [])
    for row in _rows(body):
        ids |= _ints(row.get("id"))
    return ids


def ticket_ids_in_comment_body(body: dict) -> set[int]:
    """`result[].ticket.id` (list, show), `result.ticket` (create) and the ticket choices of `_info`."""
    ids: set[int] = set()
    for row in _rows(body):
        ticket = row.get("ticket")
        ids |= _ints(ticket.get("id")) if isinstance(ticket, dict) else _ints(ticket)
    for key in ("add_columns", "edit_columns"):
        for column in body.get(key) or []:
            if isinstance(column, dict) and column.get("name") == "ticket":
                ids |= _ints([v.get("id") for v in column.get("values") or [] if isinstance(v, dict)])
    return ids


def comment_ids_in_comment_body(body: dict) -> set[int]:
    ids = _ints(body.get("ids") or []) | _ints(body.get("id"))
    for row in _rows(body):
        ids |= _ints(row.get("id"))
    return ids


_active_probe: Optional[LeakProbe] = None  # set while the agent's run is going on


@schemathesis.check
def no_hidden_ticket_leak(ctx, response, case):
    """Custom check: nothing about a ticket the agent may not see in any response (agent run only)."""
    probe = _active_probe
    if probe is not None:
        probe.inspect(response, case)
    return None


def with_probe_examples(spec: dict, world: World) -> dict:
    """The same document, plus explicit examples that ask for the hidden rows.

    The examples phase sends each of them, so the leak check is exercised on purpose, not by luck;
    the contract (paths, schemas, status codes) is untouched.
    """
    spec = copy.deepcopy(spec)
    paths = spec["paths"]
    hidden_tickets = sorted(world.hidden_tickets)
    ticket_examples = {f"hidden-ticket-{i}": {"value": pk} for i, pk in enumerate(hidden_tickets)}
    comment_examples = {f"hidden-comment-{i}": {"value": pk} for i, pk in enumerate(sorted(world.hidden_comments))}
    for method in ("get", "put", "delete"):
        for parameter in paths["/api/v1/ticket/{pk}"][method].get("parameters", []):
            if parameter.get("name") == "pk":
                parameter["examples"] = ticket_examples
    for parameter in paths["/api/v1/comment/{pk}"]["get"].get("parameters", []):
        if parameter.get("name") == "pk":
            parameter["examples"] = comment_examples

    def body_examples(operation: dict, values: list[dict]) -> None:
        media = _deref(spec, operation["requestBody"])["content"]["application/json"]
        media["examples"] = {f"probe-{i}": {"value": value} for i, value in enumerate(values)}

    body_examples(paths["/api/v1/comment/"]["post"], [{"ticket": pk, "body": "Any news?"} for pk in hidden_tickets])
    body_examples(paths["/api/v1/ticket/{pk}"]["put"], [{"status": "In Progress"}])
    # New tickets on the hidden tickets' bookings: their `duplicates` must not name those.
    body_examples(paths["/api/v1/ticket/"]["post"], [
        {"subject": "Same booking", "booking_id": booking, "team": team(INTL).id}
        for booking in ("HID-0001", "hid-0002", " HID-0003 ")
    ])

    def query_examples(operation: dict, values: list[dict]) -> None:
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == "q" and "content" in parameter:
                parameter["content"]["application/json"]["examples"] = {
                    f"probe-{i}": {"value": value} for i, value in enumerate(values)
                }

    query_examples(paths["/api/v1/comment/"]["get"], [
        {"filters": [{"col": "ticket", "opr": "rel_o_m", "value": pk}]} for pk in hidden_tickets
    ])
    query_examples(paths["/api/v1/ticket/"]["get"], [
        # Not the marker itself: generators reuse example values, and an echo would look like a leak.
        {"filters": [{"col": "subject", "opr": "search", "value": "Secret"}]},
        {"filters": [{"col": "booking_id", "opr": "sw", "value": "HID"}], "page_size": 100},
    ])
    return spec


@dataclass
class Failure:
    check: str
    operation: str
    title: str
    message: str
    request: str
    status: Optional[int]
    response: str


@dataclass
class RunReport:
    failures: dict[tuple, list[Failure]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cases: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    phase_seconds: dict = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        phases = ", ".join(
            f"{phase}: {n} in {self.phase_seconds.get(phase, 0):.1f}s" for phase, n in sorted(self.cases.items())
        )
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return f"{sum(self.cases.values())} cases in {self.seconds:.1f}s ({phases}); statuses {statuses}"

    def describe(self) -> str:
        """One paragraph per problem (same check, same kind of message), naming every operation."""
        problems: dict[tuple, list[list[Failure]]] = {}
        for (check, _operation, title, signature), group in self.failures.items():
            generic = re.sub(r"\b[A-Z][a-z]+Api\b", "<Api>", signature)
            problems.setdefault((check, title, generic), []).append(group)
        lines = []
        for (check, title, _generic), groups in sorted(problems.items()):
            first = groups[0][0]
            operations = ", ".join(f"{g[0].operation} ({len(g)}×)" for g in sorted(groups, key=lambda g: g[0].operation))
            lines.append(
                f"\n\n[{check}] {title}\n"
                f"  operations: {operations}\n"
                f"  e.g. {first.operation}: {_indent(first.message.strip()[:900])}\n"
                f"  request:  {first.request[:1500]}\n"
                f"  response: {first.status} {first.response[:500]}"
            )
        lines.extend(f"\n[engine error] {error}" for error in self.errors)
        return "".join(lines)


def _indent(text: str) -> str:
    return text.replace("\n", "\n      ")


def structured_q(spec: dict) -> dict:
    """The document with each `q` in its structured form (see the module docstring)."""
    spec = copy.deepcopy(spec)
    for item in spec["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "q" and "x-json-schema" in parameter:
                    parameter.pop("schema")
                    parameter["content"] = {"application/json": {"schema": parameter.pop("x-json-schema")}}
    return spec


def run_schemathesis(spec: dict, base_url: str, token: str, *, leak_check: bool) -> RunReport:
    config = SchemathesisConfig.from_dict({
        "seed": SEED,
        "base-url": base_url,
        "headers": {"Authorization": f"Bearer {token}"},
        "workers": 1,
        "request-timeout": 30,
        # Report every distinct failure of an operation, not only its first one.
        "continue-on-failure": True,
        "cache": {"enabled": False},
        "generation": {
            "max-examples": 15,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
        },
        "phases": {
            "coverage": {"unexpected-methods": ["trace"]},
            "stateful": {"max-steps": 6},
        },
        "checks": {**CHECKS, "no_hidden_ticket_leak": {"enabled": leak_check}},
        # Invalid values of `q` (a JSON object of eight keys) would make most of the coverage
        # phase's cases and all answer 400 the same way: reads get its valid values only.
        "operations": [{"include-method": "GET", "phases": {"coverage": {"generation": {"mode": "positive"}}}}],
    })
    # Only our eight resources: FAB's own /api/v1/security/*, /menu/ and /_openapi are left out
    # of the document itself (an `[[operations]]` entry would otherwise re-select them).
    ours = dict(spec, paths={path: item for path, item in structured_q(spec)["paths"].items()
                             if re.match(OUR_PATHS, path)})
    schema = schemathesis.openapi.from_dict(ours, config=config)
    report = RunReport()
    started = time.monotonic()
    phase_started: dict = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted):
            phase_started[event.phase.name.value] = time.monotonic()
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value in phase_started:
            report.phase_seconds[event.phase.name.value] = time.monotonic() - phase_started[event.phase.name.value]
        elif isinstance(event, events.ScenarioFinished):
            _collect(event, report)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                report.errors.append(f"after run: {failure.title}: {failure.message}")
    report.seconds = time.monotonic() - started
    return report


def _signature(message: str) -> str:
    """What makes two failures of one check on one operation the same problem."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    where = next((line for line in lines if line.startswith("Schema at ")), None)
    return where or (lines[0][:100] if lines else "")


def _collect(event: events.ScenarioFinished, report: RunReport) -> None:
    recorder = event.recorder
    report.cases[str(event.phase.value)] += len(recorder.cases)
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            report.statuses[interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            node = recorder.cases.get(case_id)
            case = node.value if node is not None else None
            response = recorder.find_response(case_id=case_id)
            status = response.status_code if response is not None else None
            failure = check.failure_info.failure
            operation = case.operation.label if case is not None else (event.label or "?")
            item = Failure(
                check=check.name,
                operation=operation,
                title=failure.title,
                message=failure.message or "",
                request=check.failure_info.code_sample,
                status=status,
                response=(response.text_lossy() if response is not None else ""),
            )
            key = (check.name, operation, failure.title, _signature(failure.message or ""))
            report.failures.setdefault(key, []).append(item)


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_schemathesis_finds_no_contract_violation(app, world, live_server, role):
    global _active_probe
    spec = structured_q(fetch_spec(app, jwt_for(app, world.admin.email)))
    person = world.agent if role == "agent" else world.admin
    probe = LeakProbe(app, world) if role == "agent" else None
    if probe is not None:
        spec = with_probe_examples(spec, world)
    _active_probe = probe
    try:
        report = run_schemathesis(spec, live_server, jwt_for(app, person.email), leak_check=probe is not None)
    finally:
        _active_probe = None

    print(f"\n{role}: {report.summary()}")
    assert sum(report.cases.values()) > 100, report.summary()
    assert report.statuses.get(200, 0) + report.statuses.get(201, 0) > 20, f"hardly anything succeeded: {report.summary()}"
    if report.failures or report.errors:
        pytest.fail(
            f"{role}: {len(report.failures)} distinct failure(s); {report.summary()}{report.describe()}",
            pytrace=False,
        )
    if probe is not None:  # the leak check was not vacuous: every hidden ticket was asked for by id
        asked = {pk for (label, pk) in probe.requested if label == "GET /api/v1/ticket/{pk}"}
        assert asked == probe.hidden_tickets, f"the hidden tickets were not all requested by id: {sorted(asked)}"


# --- 3. Swagger UI ------------------------------------------------------------------------------
def test_swagger_ui_is_for_logged_in_admins(app, world, client_for):
    admin = client_for(world.admin)
    page = admin.get("/swagger/v1")
    assert page.status_code == 200
    assert "swagger" in page.get_data(as_text=True).lower()
    assert admin.get("/api/v1/_openapi").status_code == 200  # what the page loads, with the session

    agent = client_for(world.agent)
    refused = agent.get("/swagger/v1")
    assert refused.status_code in (302, 403), refused.status_code
    assert "swagger-ui" not in refused.get_data(as_text=True).lower()
    assert agent.get("/api/v1/_openapi").status_code in (401, 403)

    anonymous = app.test_client()
    response = anonymous.get("/swagger/v1")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert anonymous.get("/api/v1/_openapi").status_code == 401

