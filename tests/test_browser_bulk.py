"""The list's bulk toolbar in a real browser, under the Content-Security-Policy."""
from __future__ import annotations

import os

import pytest

from app.extensions import db
from app.models import Notification, TicketEvent
from tests.conftest import INTL, fresh
from tests.test_browser import chromium_page, log_in, pick_select2, visit

SHOTS = os.environ.get("BULK_SCREENSHOTS")  # a folder: also photograph the toolbar there


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
        if SHOTS:
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
@pytest.mark.skipif(not SHOTS, reason="screenshots only when BULK_SCREENSHOTS names a folder")
@pytest.mark.parametrize("role", ["Agent", "Lead", "Admin"])
def test_toolbar_screenshots(live_server, make_person, make_ticket, role):
    person = make_person(f"{role} Person", role, (INTL,))
    for n in range(3):
        make_ticket(person, INTL, booking_id=f"BK-{n:04d}", subject=f"Refund {n}")
    for width in (1280, 390):
        with chromium_page(live_server) as page:
            page.set_viewport_size({"width": width, "height": 900})
            log_in(page, person.email)
            visit(page, "/tickets/list/")
            page.check("#bulk-select-all")
            page.select_option("#bulk-action", "bulk_status")
            page.select_option("#bulk-status", "Resolved")
            page.screenshot(path=f"{SHOTS}/bulk-{role.lower()}-{width}.png", full_page=width == 390)
