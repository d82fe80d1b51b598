"""In a real browser: a Hindi admin meets none of FAB's English on its screens (dialogs and the
filter operators the scripts draw included), the 404 page keeps the navbar, and a person saves
a filtered list as a view and opens it again from the Tickets menu."""
from __future__ import annotations

import os
import re

import pytest

from app.extensions import db
from tests.conftest import INTL
from tests.test_browser import chromium_page, log_in, visit
from tests.test_i18n import FAB_ENGLISH

SHOTS = os.environ.get("I18N_SCREENSHOTS")  # a folder: also save the screens as PNG files there


def english_left(text: str) -> set[str]:
    """FAB's English words in a page's visible text, as whole words."""
    return {word for word in FAB_ENGLISH if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)}


def shoot(page, name: str) -> None:
    if SHOTS and db.engine.dialect.name == "sqlite":
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
def test_a_hindi_admin_sees_no_fab_english(live_server, make_person, make_ticket):
    admin = make_person("Ada Admin", "Admin", (INTL,))
    ticket = make_ticket(admin, INTL, assignees=[admin], subject="Hotel overbooked")
    with chromium_page(live_server) as page:
        log_in(page, admin.email)
        # the language menu names the languages; choosing हिन्दी switches the screens
        page.click(".navbar-right .dropdown-toggle:has(.flag)")
        page.click("a:has-text('हिन्दी')")
        page.wait_for_load_state()
        assert "हिन्दी" in page.inner_text(".navbar-right")

        for url, name in [("/tickets/add", "add"), (f"/tickets/show/{ticket.id}", "ticket"),
                          ("/teams/list/", "teams"), ("/users/list/", "people")]:
            visit(page, url)
            text = page.inner_text("body")
            assert not english_left(text), (url, english_left(text))
            shoot(page, f"i18n-hi-{name}")

        # FAB's filter script draws the operators: add a filter and read them
        visit(page, "/teams/list/")
        page.click("#accordion1 a.accordion-toggle")
        page.click("#filter_form button.dropdown-toggle:has-text('फ़िल्टर जोड़ें')")
        page.click("#filter_form .dropdown-menu a.filter[name=name]")
        operators = page.locator("#filter_form select option").all_inner_texts()
        assert "इसमें शामिल है" in operators, operators
        assert not english_left(" | ".join(operators))
        # the delete confirmation dialog
        page.locator("a.confirm[id^=btn-delete-]").first.click()
        page.locator("#modal-confirm").wait_for(state="visible")
        dialog = page.inner_text("#modal-confirm")
        assert "क्या आप वाकई इसे हटाना चाहते हैं?" in dialog and not english_left(dialog), dialog
        shoot(page, "i18n-hi-confirm")
        page.click("#modal-confirm button[data-dismiss=modal]")

        response = visit(page, "/no-such-page")
        assert response.status == 404
        assert page.locator(".navbar .dropdown-toggle:has-text('टिकट')").count() == 1  # the app's navbar
        assert "नहीं मिला" in page.inner_text("body")
        assert not english_left(page.inner_text("body"))
        shoot(page, "i18n-hi-404")


@pytest.mark.browser
def test_the_login_form_asks_for_the_email(live_server, make_person):
    person = make_person("Ravi Rao", "Agent", (INTL,))
    with chromium_page(live_server) as page:
        visit(page, "/login/")
        assert page.inner_text("label[for=username]").strip() == "Email"
        assert page.get_attribute("#username", "placeholder") == "Your email address"
        shoot(page, "i18n-login")
        log_in(page, person.email)
        assert "/dashboard/" in page.url  # the home page after sign-in


@pytest.mark.browser
def test_save_a_filtered_list_as_a_view_and_open_it_from_the_menu(live_server, make_person, make_ticket):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    # two hits for "goa": a search with one hit opens that ticket instead of the list
    make_ticket(agent, INTL, assignees=[agent], subject="Hotel overbooked in Goa", booking_id="GOA-1")
    make_ticket(agent, INTL, assignees=[agent], subject="Goa transfer missed", booking_id="GOA-2")
    make_ticket(agent, INTL, assignees=[agent], subject="Refund not received", booking_id="REF-2")
    with chromium_page(live_server) as page:
        log_in(page, agent.email)
        visit(page, "/tickets/list/")
        page.fill("#ticket-search", "goa")
        page.click("form.ticket-search button[type=submit]")
        page.wait_for_url("**/tickets/list/?*search=goa*")
        page.fill("#save-view-name", "Goa trouble")
        page.click("form.save-view button[type=submit]")
        page.wait_for_url("**/tickets/list/?search=goa")
        assert "“Goa trouble” saved" in page.inner_text("body")
        shoot(page, "i18n-saved-view-list")

        visit(page, "/tickets/list/")  # the unfiltered list: both tickets
        assert page.locator("tr:has(a[href*='/tickets/show/'])").count() == 3
        page.click(".navbar-nav > li.dropdown > a:has-text('Tickets')")
        page.screenshot(path=os.path.join(SHOTS, "i18n-saved-view-menu.png")) if SHOTS else None
        page.click("a.saved-view-link:has-text('Goa trouble')")
        page.wait_for_url("**/tickets/list/?search=goa")
        rows = page.locator("tr:has(a[href*='/tickets/show/'])")
        assert rows.count() == 2 and all("Goa" in text for text in rows.all_inner_texts())
        assert page.input_value("#ticket-search") == "goa"

        # rename it on /views/
        page.click(".navbar-nav > li.dropdown > a:has-text('Tickets')")
        page.click("a:has-text('Manage my views')")
        page.wait_for_url("**/views/")
        page.fill("form[action$='/rename'] input[name=name]", "Goa")
        page.click("form[action$='/rename'] button[type=submit]")
        page.wait_for_url("**/views/")
        assert "renamed to “Goa”" in page.inner_text("body")
        shoot(page, "i18n-saved-views")
