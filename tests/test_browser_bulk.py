"""The list's bulk toolbar in a real browser, under the Content-Security-Policy."""
from __future__ import annotations


import pytest

from app.extensions import db
from app.models import Notification, TicketEvent
from tests.conftest import INTL, fresh
from tests.test_browser import SCREENSHOTS, chromium_page, log_in, pick_select2, visit

SHOTS = SCREENSHOTS


@pytest.mark.browser
def test_a_lead_bulk_assigns_three_tickets_to_a_person(live_server, make_person, make_ticket):
    lead = make_person("Lena Lead", "Lead", (INTL,))
    agent = make_person("Asha Agent", "Agent", (INTL,))
    helper = make_person("Hari Helper", "Agent", (INTL,))
    tickets = [make_ticket(agent, INTL, booking_id=f"BK-{n:04d}", subject=f"Refund {n}") for n in range(4)]
    chosen, left = tickets[:3], tickets[3]

    with chromium_page(live_server) as page:
        log_in(page, lead.email)
        visit(page, "/tickets/list/?psize_TicketModelView=25")
        # Only the chosen action's values show; resolving adds the notes box.
        assert page.locator("#bulk-assignees").is_hidden()
        page.select_option("#bulk-action", "bulk_status")
        page.select_option("#bulk-status", "Resolved")
        assert page.locator("#bulk-notes").is_visible()
        page.select_option("#bulk-action", "bulk_add_assignees")
        assert page.locator("#bulk-notes").is_hidden()

        page.check("#bulk-select-all")
        assert page.locator("input.action_check:checked").count() == 4
        page.uncheck(f"input.action_check[value='{left.id}']")
        assert page.locator("#bulk-count").inner_text() == "3 selected"
        pick_select2(page, "bulk-assignees", f"Hari Helper <{helper.email}>")
        page.screenshot(path=f"{SHOTS}/bulk-lead-1280.png", full_page=True)
        page.click("#bulk-apply")
        page.wait_for_selector("text=3 tickets updated.")
        assert "psize_TicketModelView=25" in page.url  # back to the same list

    db.session.expire_all()
    for ticket in chosen:
        assert [p.id for p in fresh(ticket).assignees] == [helper.id]
        assert db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, field="assignees").count() == 1
        assert db.session.query(Notification).filter_by(ticket_id=ticket.id, event="assigned").one().to_addrs == helper.email
    assert fresh(left).assignees == []
    assert db.session.query(Notification).filter_by(ticket_id=left.id, event="assigned").count() == 0


@pytest.mark.browser
@pytest.mark.parametrize("role", ["Agent", "Lead", "Admin"])
def test_toolbar_by_role_on_a_desktop_and_a_phone(live_server, make_person, make_ticket, role):
    """Resolving asks for the notes once; moving to another team is offered to leads and admins
    only; on a 390 px phone the toolbar fits the width (photographed at both sizes)."""
    person = make_person(f"{role} Person", role, (INTL,))
    for n in range(3):
        make_ticket(person, INTL, booking_id=f"BK-{n:04d}", subject=f"Refund {n}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        with chromium_page(live_server) as page:
            page.set_viewport_size({"width": width, "height": 900})
            log_in(page, person.email)
            visit(page, "/tickets/list/")
            page.check("#bulk-select-all")
            offered = page.locator("#bulk-action option").evaluate_all("options => options.map(o => o.value)")
            assert ("bulk_team" in offered) == (role != "Agent"), offered
            page.select_option("#bulk-action", "bulk_status")
            page.select_option("#bulk-status", "Resolved")
            assert page.locator("#bulk-notes").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=f"{SHOTS}/bulk-{role.lower()}-{width}.png", full_page=width == 390)
