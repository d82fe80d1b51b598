"""The create and edit forms in a real browser: the duplicate warning while typing a booking ID,
the assignee picker finding someone as one types, and a phone (390 px) with no sideways
scrolling. Screenshots (SQLite run): create-form.png and create-form-phone.png, to
test-results/screenshots/ or, with UPDATE_SCREENSHOTS=1, to docs/screenshots/."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Ticket
from tests.conftest import DOM, INTL
from tests.test_browser import SCREENSHOTS, chromium_page, log_in, selected_labels, visit

PHONE = {"width": 390, "height": 844}


def _snap(page, name: str) -> None:
    if db.engine.dialect.name == "sqlite":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _pick_by_typing(page, field_id: str, typed: str, label: str) -> None:
    """Open the picker, type `typed` key by key, click the entry reading exactly `label`."""
    page.locator(f"#{field_id} + .select2-container .select2-selection").click()
    search = page.locator(".select2-container--open input.select2-search__field").first
    search.press_sequentially(typed, delay=30)
    option = page.locator(".select2-container--open .select2-results__option").filter(
        has_text=re.compile(f"^{re.escape(label)}$"))
    option.click()
    page.locator(".select2-container--open").first.wait_for(state="detached")


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    # Nor does anything inside the form scroll sideways (a table wider than its box); a text
    # box scrolls its own long text, as it should.
    wide = page.evaluate("""() => [...document.querySelectorAll('.ticket-form *')]
        .filter(el => !['INPUT', 'TEXTAREA'].includes(el.tagName))
        .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible'
                      && getComputedStyle(el).overflowX !== 'hidden')
        .map(el => el.tagName + '.' + el.className)""")
    assert not wide, wide


@pytest.mark.browser
def test_typing_a_booking_id_with_open_tickets_shows_them_and_saving_still_works(
        live_server, make_person, make_ticket):
    from playwright.sync_api import expect

    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Bina Colleague", "Agent", (INTL,))
    open_one = make_ticket(agent, INTL, assignees=[colleague], subject="Hotel overbooked in Goa", booking_id="GOA-7781")
    make_ticket(colleague, INTL, subject="Colleague's private note", booking_id="GOA-7781")  # hidden from the agent
    make_ticket(agent, INTL, subject="Old complaint", booking_id="GOA-7781", status="Resolved")
    agent_email, colleague_email, open_id = agent.email, colleague.email, open_one.id

    with chromium_page(live_server) as page:
        log_in(page, agent_email)
        visit(page, "/tickets/add")
        warning = page.locator("#duplicate-warning")
        expect(warning).to_be_hidden()
        page.locator("#booking_id").press_sequentially("goa-7781", delay=40)
        expect(warning).to_be_visible()
        entries = warning.locator("li")
        expect(entries).to_have_count(1)  # the open one the agent may see: not the hidden, not the resolved
        link = entries.first.locator("a")
        expect(link).to_have_text(f"ESC-{open_id}")
        expect(link).to_have_attribute("href", f"/tickets/show/{open_id}")
        expect(entries.first).to_contain_text("Hotel overbooked in Goa")
        expect(entries.first).to_contain_text("Open")
        expect(entries.first).to_contain_text("Bina Colleague")
        expect(warning).not_to_contain_text("private")
        # The warning sits beneath the booking ID, inside the form.
        assert page.evaluate("document.getElementById('booking_id').parentNode.contains("
                             "document.getElementById('duplicate-warning'))")

        _pick_by_typing(page, "assignees", "bina", f"Bina Colleague <{colleague_email}>")
        page.fill("#subject", "Guest asks again about the room")
        _snap(page, "create-form.png")

        page.locator("#booking_id").press("End")
        page.locator("#booking_id").press("Backspace")  # GOA-778: no open ticket
        expect(warning).to_be_hidden()
        page.locator("#booking_id").press_sequentially("1")
        expect(warning).to_be_visible()

        page.click("#model_form button[type=submit]")
        page.wait_for_url(re.compile(r"/tickets/show/\d+$"))

    db.session.expire_all()
    saved = db.session.query(Ticket).filter_by(subject="Guest asks again about the room").one()
    assert saved.booking_id == "GOA-7781" and saved.team.name == INTL  # the creator's team by default
    assert [p.email for p in saved.assignees] == [colleague_email]


@pytest.mark.browser
def test_the_assignee_picker_finds_a_person_as_one_types_and_the_form_saves(live_server, make_person):
    from playwright.sync_api import expect

    agent = make_person("Asha Agent", "Agent", (INTL,))
    for i in range(25):  # more people than the picker offers before one types
        make_person(f"Anand Staff{i:02d}", "Agent", (DOM,))
    make_person("Gita Gone", "Agent", (DOM,), active=False)
    meera = make_person("Meera Krishnan", "Agent", (DOM,))
    agent_email, agent_label = agent.email, f"Asha Agent <{agent.email}>"
    meera_id, meera_label = meera.id, f"Meera Krishnan <{meera.email}>"

    with chromium_page(live_server) as page:
        log_in(page, agent_email)
        visit(page, "/tickets/add")
        assert page.locator("#assignees option").count() == 0  # nobody rendered into the page
        # Opened without typing, the team's people come first (the team is the agent's).
        page.locator("#assignees + .select2-container .select2-selection").click()
        options = page.locator(".select2-container--open .select2-results__option")
        expect(options.first).to_have_text(agent_label)
        assert "Meera" not in page.locator(".select2-container--open .select2-results").inner_text()
        page.keyboard.press("Escape")

        # A deactivated person is never offered.
        page.locator("#assignees + .select2-container .select2-selection").click()
        page.locator(".select2-container--open input.select2-search__field").first.press_sequentially("gita")
        results = page.locator(".select2-container--open .select2-results")
        expect(results).to_contain_text(re.compile("No results", re.I))
        expect(results).not_to_contain_text("Gita")
        page.keyboard.press("Escape")

        _pick_by_typing(page, "assignees", "krish", meera_label)
        assert selected_labels(page, "assignees") == [meera_label]
        page.fill("#subject", "Visa letter missing")
        page.fill("#booking_id", "VIS-5150")
        page.click("#model_form button[type=submit]")
        page.wait_for_url(re.compile(r"/tickets/show/\d+$"))
        expect(page.locator("body")).to_contain_text("Meera Krishnan")

    db.session.expire_all()
    ticket = db.session.query(Ticket).filter_by(booking_id="VIS-5150").one()
    assert [p.id for p in ticket.assignees] == [meera_id]


@pytest.mark.browser
@pytest.mark.parametrize("role", ["Agent", "Admin"])
def test_the_forms_fit_a_phone(live_server, make_person, make_ticket, role):
    from playwright.sync_api import expect

    person = make_person("Asha Agent" if role == "Agent" else "Ada Admin", role, (INTL,) if role == "Agent" else ())
    colleague = make_person("Bhuvaneshwari Venkataraman-Subramanian", "Agent", (INTL,))
    gone = make_person("Gita Gone", "Agent", (INTL,))
    ticket = make_ticket(person, INTL, assignees=[colleague, gone], booking_id="GOA-7781",
                         subject="Hotel overbooked in Goa; the guest has been waiting at reception since morning")
    gone.active = False
    db.session.commit()
    email, ticket_id, long_label = person.email, ticket.id, f"{colleague.full_name} <{colleague.email}>"

    with chromium_page(live_server) as page:
        page.set_viewport_size(PHONE)
        log_in(page, email)
        visit(page, "/tickets/add")
        page.locator("#booking_id").press_sequentially("goa-7781", delay=20)
        expect(page.locator("#duplicate-warning")).to_be_visible()
        _pick_by_typing(page, "assignees", "bhuv", long_label)
        page.fill("#subject", "Late check-out refused")
        _no_sideways_scroll(page)
        if role == "Agent":
            _snap(page, "create-form-phone.png")

        visit(page, f"/tickets/edit/{ticket_id}")
        expect(page.locator("#assignees + .select2-container")).to_contain_text("Gita Gone")
        expect(page.locator("#assignees + .select2-container")).to_contain_text("(deactivated)")
        _no_sideways_scroll(page)
