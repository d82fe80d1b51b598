"""A client generated from the running app's OpenAPI document does the agent's and the admin's
whole job, with no hand edits.

`openapi-python-client` (pinned in requirements-dev.txt) turns `/api/v1/_openapi`, fetched from
the test app served over HTTP, into a Python package in a temporary directory (never committed),
with `--fail-on-warning`: a document the generator cannot fully read fails here. The tests then
import that package and work through its typed functions and models, as an integrator would.
"""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from app.extensions import db
from app.models import Ticket
from tests.conftest import DOM, INTL, PASSWORD, team

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


class Generated:
    """The generated package: `g.api("ticket_api.ticket_get")`, `g.model("TicketApiPost")`."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url

    def api(self, dotted: str) -> ModuleType:
        return importlib.import_module(f"{self.package.__name__}.api.{dotted}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)

    def login(self, email: str, password: str = PASSWORD):
        """Log in through the generated login operation; an authenticated client."""
        body = self.model("SecurityLoginBody")(
            username=email, password=password, provider=self.model("SecurityLoginBodyProvider").DB,
        )
        anonymous = self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)
        tokens = self.api("security.security_login").sync(client=anonymous, body=body)
        assert type(tokens).__name__ == "SecurityLoginResponse200", tokens
        return self.package.AuthenticatedClient(
            base_url=self.base_url, token=tokens.access_token, raise_on_unexpected_status=True,
        )


def generate_client(base_url: str, token: str, directory: Path) -> Generated:
    """Fetch the live document and generate a client package from it."""
    answer = requests.get(f"{base_url}/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    spec = directory / "openapi.json"
    spec.write_text(answer.text)
    config = directory / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported, not read
    name = f"deyor_client_{uuid.uuid4().hex[:8]}"  # one package per test: no stale modules
    done = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--output-path", str(directory / name),
         "--meta", "none", "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"generation failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    sys.path.insert(0, str(directory))
    try:
        package = importlib.import_module(name)
    finally:
        sys.path.remove(str(directory))
    return Generated(package, base_url)


@pytest.fixture
def people(make_person):
    return {
        "admin": make_person("Ada Admin", "Admin"),
        "agent": make_person("Carl Creator", "Agent", (INTL,)),
        "colleague": make_person("Asha Assigned", "Agent", (INTL,)),
        "lead": make_person("Lena Lead", "Lead", (INTL,)),
        "outsider": make_person("Dev Domestic", "Agent", (DOM,)),
    }


@pytest.fixture
def generated(live_server, people, tmp_path) -> Generated:
    admin_token = requests.post(f"{live_server}/api/v1/security/login", json={
        "username": people["admin"].email, "password": PASSWORD, "provider": "db"}, timeout=30).json()["access_token"]
    return generate_client(live_server, admin_token, tmp_path)


def is_utc(value: Any) -> bool:
    return isinstance(value, datetime) and value.utcoffset() == timedelta(0)


def list_query(g: Generated, prefix: str, *filters: tuple[str, str, Any], **extra: Any) -> str:
    """`q` built from the generated query model of a list operation, as JSON."""
    item, column = g.model(f"{prefix}QFiltersItem"), g.model(f"{prefix}QFiltersItemCol")
    query = g.model(f"{prefix}Q")(
        filters=[item(col=column(col), opr=opr, value=value) for col, opr, value in filters], **extra,
    )
    return json.dumps(query.to_dict())


def test_generated_client_does_the_agents_whole_job(generated, people):
    g, agent, colleague, lead = generated, people["agent"], people["colleague"], people["lead"]
    client = g.login(agent.email)
    intl = team(INTL).id

    # create, with two assignees
    created = g.api("ticket_api.ticket_post").sync(client=client, body=g.model("TicketApiPost")(
        subject="Flight missed in Delhi", booking_id=" del-2024/15 ", team=intl,
        assignees=[colleague.id, lead.id], priority=g.model("TicketApiPostPriority").URGENT,
        customer_name="Ravi Kumar", customer_contact="+91 98765 43210",
    ))
    assert type(created).__name__ == "TicketPostResponse201", created
    ticket_id = created.id
    assert created.result.booking_id == "DEL-2024/15"  # the row as GET shows it
    assert [person.id for person in created.result.assignees] == [colleague.id, lead.id]

    # list with a filter: a JSON `q` is read exactly ('+' and '/' stay themselves)
    listing = g.api("ticket_api.ticket_get_list").sync(client=client, q=list_query(
        g, "TicketApiGetList", ("subject", "search", "+91 98765"), ("booking_id", "eq", "DEL-2024/15"),
        order_column=g.model("TicketApiGetListQOrderColumn").UPDATED_AT,
        order_direction=g.model("TicketApiGetListQOrderDirection").DESC, page=0, page_size=25,
    ))
    assert type(listing).__name__ == "TicketGetListResponse200", listing
    assert listing.count == 1 and listing.ids == [ticket_id]
    row = listing.result[0]
    assert [person.id for person in row.assignees] == [colleague.id, lead.id]
    assert {person.first_name for person in row.assignees} == {"Asha", "Lena"}
    assert row.team.name == INTL and row.created_by.id == agent.id and row.resolved_at is None
    # a filter that matches nothing, and a key the list does not know (refused by name)
    nothing = g.api("ticket_api.ticket_get_list").sync(
        client=client, q=list_query(g, "TicketApiGetList", ("booking_id", "eq", "DEL-2024/16")))
    assert nothing.count == 0 and nothing.result == []
    unknown = g.api("ticket_api.ticket_get_list").sync(client=client, q=json.dumps({"columns": ["id"]}))
    assert type(unknown).__name__ == "TicketGetListResponse400" and "columns" in unknown.message

    # show
    shown = g.api("ticket_api.ticket_get").sync(ticket_id, client=client)
    assert type(shown).__name__ == "TicketGetResponse200", shown
    ticket = shown.result
    assert ticket.id == ticket_id and ticket.customer_contact == "+91 98765 43210"
    assert len(ticket.assignees) == 2 and ticket.resolved_by is None and ticket.resolved_at is None
    assert ticket.created_by.first_name == "Carl" and is_utc(ticket.created_at) and is_utc(ticket.updated_at)

    # comment
    comment = g.api("comment_api.comment_post").sync(
        client=client, body=g.model("CommentApiPost")(ticket=ticket_id, body="Called the airline"))
    assert type(comment).__name__ == "CommentPostResponse201", comment
    comments = g.api("comment_api.comment_get_list").sync(
        client=client, q=list_query(g, "CommentApiGetList", ("ticket", "rel_o_m", ticket_id)))
    assert [c.body for c in comments.result] == ["Called the airline"]
    assert comments.result[0].author.id == agent.id and is_utc(comments.result[0].created_at)

    # partial update to Resolved
    put, status = g.api("ticket_api.ticket_put"), g.model("TicketApiPutStatus")
    resolved = put.sync(ticket_id, client=client, body=g.model("TicketApiPut")(
        status=status.RESOLVED, resolution_notes="Rebooked on the next flight", version=ticket.version))
    assert type(resolved).__name__ == "TicketPutResponse200", resolved
    after = g.api("ticket_api.ticket_get").sync(ticket_id, client=client).result
    assert after.status == "Resolved" and after.resolved_by.id == agent.id and is_utc(after.resolved_at)
    assert after.resolution_notes == "Rebooked on the next flight"

    # the same version again is a conflict, in its documented shape
    stale = put.sync(ticket_id, client=client, body=g.model("TicketApiPut")(priority=g.model(
        "TicketApiPutPriority").LOW, version=ticket.version))
    assert type(stale).__name__ == "TicketPutResponse409" and stale.message

    # reopen
    reopened = put.sync(ticket_id, client=client, body=g.model("TicketApiPut")(status=status.OPEN, reopen_reason="Refund bounced"))
    assert type(reopened).__name__ == "TicketPutResponse200", reopened
    again = g.api("ticket_api.ticket_get").sync(ticket_id, client=client).result
    assert again.status == "Open" and again.resolved_by is None and again.resolved_at is None

    # errors in their documented shapes: a field named, a missing ticket, a ticket one may not see
    refused = g.api("ticket_api.ticket_post").sync(client=client, body=g.model("TicketApiPost")(
        subject="No booking", booking_id="x", team=intl))
    assert type(refused).__name__ == "TicketPostResponse422" and "booking_id" in refused.message.to_dict()
    assert type(g.api("ticket_api.ticket_get").sync(999999, client=client)).__name__ == "TicketGetResponse404"
    outsider = g.login(people["outsider"].email)
    hidden = g.api("ticket_api.ticket_get").sync(ticket_id, client=outsider)
    assert type(hidden).__name__ == "TicketGetResponse404"
    assert g.api("ticket_api.ticket_get_list").sync(client=outsider).count == 0


def test_generated_client_does_the_admins_job(generated, people, app):
    g = generated
    admin = g.login(people["admin"].email)

    roles = g.api("security_roles.security_roles_get_list").sync(client=admin)
    agent_role = next(role.id for role in roles.result if role.name == "Agent")
    teams = g.api("team_api.team_get_list").sync(client=admin)
    intl = next(row.id for row in teams.result if row.name == INTL)

    # create a member, who can then work through the same client
    created = g.api("member_api.member_post").sync(client=admin, body=g.model("MemberApiPost")(
        first_name="Nina", last_name="New", email="Nina.New@deyor.test", phone="+91 98200 00001",
        password="a-long-unusual-passphrase-7", roles=[agent_role], teams=[intl],
    ))
    assert type(created).__name__ == "MemberPostResponse201", created
    member = g.api("member_api.member_get").sync(created.id, client=admin).result
    assert member.email == "nina.new@deyor.test" and member.last_login is None
    assert [role.name for role in member.roles] == ["Agent"] and [t.name for t in member.teams] == [INTL]
    nina = g.login("nina.new@deyor.test", "a-long-unusual-passphrase-7")
    ticket = g.api("ticket_api.ticket_post").sync(client=nina, body=g.model("TicketApiPost")(
        subject="Visa rejected", booking_id="VIS-100", team=intl, assignees=[people["colleague"].id]))
    assert type(ticket).__name__ == "TicketPostResponse201", ticket

    # list notifications: the new ticket's email is in the outbox
    notifications = g.api("notification_api.notification_get_list").sync(client=admin, q=list_query(
        g, "NotificationApiGetList", ("ticket_id", "eq", ticket.id)))
    assert type(notifications).__name__ == "NotificationGetListResponse200", notifications
    assert [n.event for n in notifications.result] == ["created"]
    row = notifications.result[0]
    assert people["colleague"].email in row.to_addrs and is_utc(row.created_at) and row.sent_at is None

    # the member list reads every person, last logins included
    members = g.api("member_api.member_get_list").sync(client=admin, q=json.dumps({"page_size": 100}))
    nina_row = next(m for m in members.result if m.id == created.id)
    assert is_utc(nina_row.last_login)


def test_datetimes_carry_a_utc_offset_out_and_are_read_with_or_without_one(generated, people, live_server):
    g, agent = generated, people["agent"]
    client = g.login(agent.email)
    created = g.api("ticket_api.ticket_post").sync(client=client, body=g.model("TicketApiPost")(
        subject="Hotel overbooked", booking_id="GOA-7781", team=team(INTL).id))
    ticket_id = created.id
    with_token = {"Authorization": f"Bearer {client.token}"}

    # out: every time in the raw JSON is RFC 3339 with the UTC offset, and typed clients read UTC
    raw = requests.get(f"{live_server}/api/v1/ticket/{ticket_id}", headers=with_token, timeout=30).json()["result"]
    assert raw["created_at"].endswith("+00:00") and raw["updated_at"].endswith("+00:00")
    shown = g.api("ticket_api.ticket_get").sync(ticket_id, client=client).result
    db.session.expire_all()
    stored = db.session.get(Ticket, ticket_id).created_at  # naive UTC in the database
    assert shown.created_at == stored.replace(tzinfo=timezone.utc)

    # in: the same instant with an offset, in UTC with Z, or naive (UTC) selects the same rows
    def count_after(when: str) -> int:
        q = list_query(g, "TicketApiGetList", ("created_at", "gt", when))
        answer = g.api("ticket_api.ticket_get_list").sync(client=client, q=q)
        assert type(answer).__name__ == "TicketGetListResponse200", answer
        return answer.count

    before, after = shown.created_at - timedelta(minutes=1), shown.created_at + timedelta(minutes=1)
    ist = timezone(timedelta(hours=5, minutes=30))
    for moment, expected in ((before, 1), (after, 0)):
        assert count_after(moment.astimezone(ist).isoformat()) == expected
        assert count_after(moment.isoformat().replace("+00:00", "Z")) == expected
        assert count_after(moment.replace(tzinfo=None).isoformat()) == expected
    bad = g.api("ticket_api.ticket_get_list").sync(
        client=client, q=list_query(g, "TicketApiGetList", ("created_at", "gt", "last tuesday")))
    assert type(bad).__name__ == "TicketGetListResponse400" and "created_at" in bad.message
