"""The workspace list in a real browser: a queue, the multi-choice status filter, search by ESC
number, the phone layout, and the list in Hindi with no English left from the framework."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests.conftest import DOM, INTL
from tests.test_browser import SCREENSHOTS, chromium_page, log_in, pick_select2, visit

# FAB's own English on list pages (buttons, pager, filters, counts): none may be left in Hindi.
FAB_ENGLISH = ("Add Filter", "Record Count", "Page size", "Actions", "Search", "Refresh", "Starts with",
               "Ends with", "Equal to", "Contains", "Back", "Show", "Edit", "Delete", "No records found",
               "Add", "Previous", "Next", "Filters", "Apply filters", "Clear all", "Per page", "Unassigned",
               "Age", "Updated", "Due")


@pytest.fixture
def desk(make_person, make_ticket):
    asha = make_person("Asha Agent", "Agent", (INTL,))
    omar = make_person("Omar Other", "Agent", (INTL,))
    make_person("Dev Domestic", "Agent", (DOM,))
    made = {
        "mine-open": make_ticket(omar, INTL, assignees=[asha], priority="Low", subject="Hotel refund",
                                 booking_id="HTL-0001"),
        "mine-waiting": make_ticket(omar, INTL, assignees=[asha], priority="Urgent", status="Waiting",
                                    subject="Airline voucher", booking_id="AIR-0002"),
        "mine-progress": make_ticket(omar, INTL, assignees=[asha], priority="High", status="In Progress",
                                     subject="Visa appointment", booking_id="VIS-0003"),
        "mine-resolved": make_ticket(omar, INTL, assignees=[asha], status="Resolved", subject="Seat change",
                                     booking_id="SEAT-0004"),
        "not-mine": make_ticket(omar, INTL, assignees=[omar], subject="Someone else's", booking_id="ELSE-0005"),
    }
    return {key: ticket.id for key, ticket in made.items()}


def bookings(page) -> list[str]:
    return [cell.strip() for cell in page.locator("td.col-booking").all_inner_texts()]


@pytest.mark.browser
def test_an_agent_works_from_a_queue_filters_status_and_finds_an_esc_number(live_server, desk):
    with chromium_page(live_server) as page:
        log_in(page, "asha.agent@deyor.test")
        # The queue from the menu: my open work, resolved left out.
        page.click("a.dropdown-toggle:has-text('Tickets')")
        page.click(".dropdown-menu a:has-text('My open tickets')")
        page.wait_for_url("**/tickets/list/?_flt_0_assignees=me*")
        assert page.locator("#list-title").inner_text() == "My open tickets"
        assert sorted(bookings(page)) == ["AIR-0002", "HTL-0001", "VIS-0003"]
        assert page.locator("li.active a[data-queue='my_open']").count() == 1

        # Several statuses at once, chosen in the multi-choice box, shown as chips.
        visit(page, "/tickets/list/")
        pick_select2(page, "filter-status", "Open")
        pick_select2(page, "filter-status", "Waiting")
        page.click("#apply-filters")
        page.wait_for_url("**_flt_0_status=Waiting*")
        assert "_flt_0_created_at" not in page.url  # empty fields stay out of the shareable URL
        assert sorted(bookings(page)) == ["AIR-0002", "HTL-0001"]
        chips = page.locator(".filter-chip").all_inner_texts()
        assert any("Status: Open" in chip for chip in chips) and any("Status: Waiting" in chip for chip in chips)
        # Waiting is on top when sorted by priority: Urgent first.
        page.click("th a:has-text('Priority')")
        page.wait_for_url("**_oc_TicketModelView=priority*")
        assert bookings(page) == ["AIR-0002", "HTL-0001"]

        # An ESC number in the search box opens that ticket.
        page.fill("#ticket-search", f"esc-{desk['mine-progress']}")
        page.press("#ticket-search", "Enter")
        page.wait_for_url(f"**/tickets/show/{desk['mine-progress']}")
        # Someone else's ticket by number: nothing found, nothing told.
        visit(page, "/tickets/list/")
        page.fill("#ticket-search", f"ESC-{desk['not-mine']}")
        page.press("#ticket-search", "Enter")
        page.wait_for_url("**search=*")
        assert bookings(page) == [] and "No tickets match these filters." in page.inner_text("#empty-state")


@pytest.mark.browser
def test_on_a_phone_rows_are_cards_and_nothing_scrolls_sideways(live_server, desk):
    with chromium_page(live_server) as page:
        log_in(page, "asha.agent@deyor.test")
        page.set_viewport_size({"width": 390, "height": 844})
        visit(page, "/tickets/list/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        card = page.locator("tr.ticket-row").first
        box = card.bounding_box()
        assert box["width"] <= 390 and box["height"] > 60  # a card, not a squeezed table row
        assert page.locator("table.ticket-table thead").is_hidden()
        # The filters fold away behind a button on a phone; the chips stay in view.
        assert page.locator("#ticket-filters").is_hidden()
        page.click(".filter-toggle")
        page.locator("#ticket-filters").wait_for(state="visible")
        if db.engine.dialect.name == "sqlite":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            visit(page, "/tickets/list/")
            page.screenshot(path=str(SCREENSHOTS / "ticket-list-phone.png"), full_page=False)
            page.set_viewport_size({"width": 1280, "height": 800})
            visit(page, "/tickets/list/")
            page.screenshot(path=str(SCREENSHOTS / "ticket-list.png"), full_page=False)


@pytest.mark.browser
def test_the_list_in_hindi_has_no_english_left(live_server, desk):
    with chromium_page(live_server) as page:
        log_in(page, "asha.agent@deyor.test")
        visit(page, "/lang/hi")
        visit(page, "/tickets/list/?_flt_0_status=Open&_flt_0_status=Waiting")
        text = page.inner_text("body")
        left = [word for word in FAB_ENGLISH if re.search(rf"\b{re.escape(word)}\b", text)]
        assert not left, left
        assert "हिन्दी" in page.inner_html("nav, header")
