from tests.conftest import INTL


def test_agent_lists_own_ticket(cast, client_for):
    people, ticket = cast
    r = client_for(people["agent_creator"]).get("/tickets/list/")
    assert r.status_code == 200, r.data[:500]
    assert b"GOA-7781" in r.data
    r = client_for(people["agent_unrelated"]).get("/tickets/list/")
    assert b"GOA-7781" not in r.data
    r = client_for(people["agent_unrelated"]).get(f"/tickets/show/{ticket.id}")
    assert r.status_code == 404
    r = client_for(people["agent_creator"]).get(f"/tickets/show/{ticket.id}")
    assert r.status_code == 200, r.data[:3000]


def test_an_empty_field_reads_blank_never_none(make_person, make_ticket, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    ticket = make_ticket(agent)  # no resolution, no customer, no notify emails
    page = client_for(agent).get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert "Resolution notes" in page
    assert ">None<" not in page and "None</span>" not in page
