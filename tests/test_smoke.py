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
