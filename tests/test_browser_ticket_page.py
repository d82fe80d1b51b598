"""The ticket page in a real browser, under the app's Content-Security-Policy: the resolve form
opens on Resolve, a reopen asks for its reason, an edit refused for a conflict keeps what was
typed, and the page fits a 390 px phone (no sideways scroll, thumb-sized buttons).

The SQLite run saves the pages (agent, lead, admin; 1280 and 390 px wide) to
test-results/screenshots/, or the README's two pictures to docs/screenshots/ with
UPDATE_SCREENSHOTS=1.
"""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Ticket
from tests.conftest import INTL, fresh
from tests.test_browser import ROOT, chromium_page, log_in, visit
from tests.test_workflow import post_status

UPDATE = os.environ.get("UPDATE_SCREENSHOTS") == "1"
SHOTS = ROOT / "test-results/screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def crew(make_person, make_ticket):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    lead = make_person("Lena Lead", "Lead", (INTL,))
    admin = make_person("Ada Admin", "Admin")
    ticket = make_ticket(
        agent, INTL, assignees=[agent], subject="Hotel overbooked in Goa", booking_id="GOA-7781",
        customer_name="Priya Nair", customer_contact="priya@example.com", priority="Urgent",
        description="Guest arrived at 23:00; the hotel has no room. Family of four with a toddler.",
    )
    return {"agent": agent, "lead": lead, "admin": admin}, ticket


@pytest.mark.browser
def test_resolve_opens_its_form_then_a_reopen_asks_for_the_reason(live_server, crew):
    from playwright.sync_api import expect

    people, ticket = crew
    ticket_id, email = ticket.id, people["agent"].email
    with chromium_page(live_server) as page:
        log_in(page, email)
        visit(page, f"/tickets/show/{ticket_id}")
        notes = page.locator("#resolution_notes")
        expect(notes).to_be_hidden()
        page.click("#resolve-toggle")
        expect(notes).to_be_visible()
        expect(notes).to_be_focused()
        notes.fill("Moved the family to the Taj; refund of the first night confirmed.")
        page.click("#resolve-form button[type=submit]")
        expect(page.locator("#ticket-status")).to_have_text("Resolved")
        expect(page.locator("#resolution-notes")).to_contain_text("Moved the family to the Taj")

        reason = page.locator("#reopen_reason")
        expect(reason).to_be_hidden()
        page.click("#reopen-toggle")
        expect(reason).to_be_visible()
        # without a reason the browser's own check stops it; the server refuses it too (HTTP tests)
        reason.fill("The refund has not arrived after a week.")
        page.click("#reopen-form button[data-status='In Progress']")
        expect(page.locator("#ticket-status")).to_have_text("In Progress")
        comment = page.locator(".ticket-comment").last
        expect(comment).to_contain_text("Reopened: The refund has not arrived after a week.")
        expect(comment).to_contain_text("Asha Agent")
        history = page.locator(".ticket-history")
        expect(history).to_contain_text("Moved the family to the Taj")
        expect(history).to_contain_text("Resolution by Asha Agent")

    stored = fresh(ticket)
    assert stored.status == "In Progress" and stored.resolution_notes is None
    assert [c.body for c in stored.comments] == ["Reopened: The refund has not arrived after a week."]


@pytest.mark.browser
def test_an_edit_refused_for_a_conflict_shows_the_message_and_keeps_the_typed_text(live_server, crew):
    from playwright.sync_api import expect

    people, ticket = crew
    ticket_id, email = ticket.id, people["agent"].email
    with chromium_page(live_server) as page:
        log_in(page, email)
        visit(page, f"/tickets/edit/{ticket_id}")
        page.fill("#subject", "Hotel overbooked in Goa: family moved")
        page.fill("#description", "Typed for ten minutes:\nthe whole story of the night.")
        # meanwhile the ticket is changed another way (here: straight in the database)
        db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(
            priority="Low", version=Ticket.version + 1))
        db.session.commit()
        page.click("#model_form button[type=submit]")
        expect(page.locator(".alert-danger")).to_contain_text("changed by someone else")
        expect(page.locator("#subject")).to_have_value("Hotel overbooked in Goa: family moved")
        expect(page.locator("#description")).to_have_value("Typed for ten minutes:\nthe whole story of the night.")
        assert fresh(ticket).subject == "Hotel overbooked in Goa"

        # sending again, knowingly, saves it
        page.click("#model_form button[type=submit]")
        page.wait_for_url(re.compile(rf"/tickets/show/{ticket_id}$"))
        expect(page.locator(".alert-success")).to_be_visible()
    assert fresh(ticket).subject == "Hotel overbooked in Goa: family moved"


@pytest.mark.browser
def test_the_page_fits_a_phone_and_a_desktop_for_every_role(live_server, crew, client_for):
    from playwright.sync_api import expect

    people, ticket = crew
    client = client_for(people["agent"])
    client.post(f"/tickets/comment/{ticket.id}", data={"body": "Called the hotel: no room tonight."})
    client.post(f"/tickets/comment/{ticket.id}", data={"body": "Booked the Taj for the family."})
    lead = client_for(people["lead"])
    post_status(lead, ticket, "Resolved", "Family moved to the Taj; first night refunded.")
    post_status(client, ticket, "In Progress", reopen_reason="The refund has not arrived yet.")
    ticket_id = ticket.id
    screenshots = db.engine.dialect.name == "sqlite"
    SHOTS.mkdir(parents=True, exist_ok=True)
    for role in ("agent", "lead", "admin"):
        with chromium_page(live_server) as page:
            log_in(page, people[role].email)
            for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                visit(page, f"/tickets/show/{ticket_id}")
                expect(page.locator("#conversation")).to_be_visible()
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (role, size, width)
                # desktop: the details beside the conversation; phone: stacked under it; history last
                conversation, details, history = (
                    page.locator(sel).bounding_box() for sel in ("#conversation", "#details", "#history"))
                if size == "desktop":
                    assert details["x"] > conversation["x"] + conversation["width"] - 1, (conversation, details)
                else:
                    assert details["y"] >= conversation["y"] + conversation["height"] - 1, (conversation, details)
                assert history["y"] >= max(conversation["y"] + conversation["height"],
                                           details["y"] + details["height"]) - 1
                if size == "phone":
                    for button in page.locator("#ticket-actions .btn, #comment-form .btn").all():
                        box = button.bounding_box()
                        assert box["height"] >= 40, (role, button.inner_text(), box)
                if screenshots:
                    page.screenshot(path=str(SHOTS / f"ticket-page-{role}-{size}.png"), full_page=True)
                    if UPDATE and role == "lead":
                        name = "ticket-page.png" if size == "desktop" else "ticket-page-phone.png"
                        page.screenshot(path=str(ROOT / "docs/screenshots" / name), full_page=True)
