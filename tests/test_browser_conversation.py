"""The conversation in a real browser, under the app's Content-Security-Policy: typing @ in the
comment box offers only the people who may see the ticket (name and email, as one types, by
mouse, by keyboard, on a phone), choosing one inserts their mention, the comment is posted and
the mentioned person's email queued; a mention of anyone else comes back refused with the typed
text kept; the Follow button follows and unfollows. English and Hindi, 1280 and 390 px wide;
the SQLite run saves the screens to test-results/screenshots/."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import MENTIONED, Notification, ticket_follower
from tests.conftest import DOM, INTL
from tests.test_browser import ROOT, chromium_page, log_in, visit

SHOTS = ROOT / "test-results/screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def floor(make_person, make_ticket):
    people = {
        "asha": make_person("Asha Agent", "Agent", (INTL,)),
        "bina": make_person("Bina Assigned", "Agent", (INTL,)),
        "lena": make_person("Lena Lead", "Lead", (INTL,)),
        "uma": make_person("Uma Unrelated", "Agent", (INTL,)),
        "otto": make_person("Otto Lead", "Lead", (DOM,)),
        "ada": make_person("Ada Admin", "Admin"),
    }
    ticket = make_ticket(
        people["asha"], INTL, assignees=[people["bina"]], subject="Hotel overbooked in Goa",
        booking_id="GOA-7781", priority="Urgent", description="Guest arrived at 23:00; no room.",
    )
    return people, ticket


def offered(page) -> list[str]:
    page.locator("#mention-list").wait_for(state="visible")
    return page.locator("#mention-list .mention-option strong").all_inner_texts()


def shoot(page, name: str) -> None:
    if db.engine.dialect.name == "sqlite":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_mention_picker_comment_and_follow(live_server, floor):
    from playwright.sync_api import expect

    people, ticket = floor
    ticket_id = ticket.id
    with chromium_page(live_server) as page:
        log_in(page, people["asha"].email)
        visit(page, f"/tickets/show/{ticket_id}")
        box = page.locator("#comment-body")

        # "@" alone: everyone who may see the ticket, never Uma (same team, not on it) or Otto
        box.click()
        box.press_sequentially("Please approve the refund @")
        expect(page.locator("#mention-list .mention-option")).to_have_count(4)
        assert offered(page) == ["Ada Admin", "Asha Agent", "Bina Assigned", "Lena Lead"]
        expect(box).to_have_attribute("aria-expanded", "true")
        # as one types, by name
        box.press_sequentially("le")
        expect(page.locator("#mention-list .mention-option")).to_have_count(1)
        expect(page.locator("#mention-list .mention-option")).to_contain_text("lena.lead@deyor.test")
        shoot(page, "conversation-picker-1280")
        page.locator("#mention-list .mention-option").first.click()
        expect(box).to_have_value("Please approve the refund @lena.lead@deyor.test ")
        expect(page.locator("#mention-list")).to_be_hidden()

        # by keyboard: Uma finds nobody; Bina with the arrow keys and Enter
        box.press_sequentially("and @uma")
        expect(page.locator("#mention-list .mention-empty")).to_be_visible()
        expect(page.locator("#mention-list .mention-option")).to_have_count(0)
        for _ in range(3):
            box.press("Backspace")
        box.press_sequentially("a")  # "@a": Ada, Asha, Bina (assigned), Lena (lead)
        expect(page.locator("#mention-list .mention-option")).to_have_count(4)
        box.press("ArrowDown")
        box.press("ArrowDown")
        expect(page.locator("#mention-list .mention-option.active strong")).to_have_text("Bina Assigned")
        box.press_sequentially("ss")  # "@ass": Bina Assigned only
        expect(page.locator("#mention-list .mention-option")).to_have_count(1)
        box.press("ArrowUp")
        expect(page.locator("#mention-list .mention-option.active strong")).to_have_text("Bina Assigned")
        box.press("Enter")
        expect(box).to_have_value(
            "Please approve the refund @lena.lead@deyor.test and @bina.assigned@deyor.test ")
        expect(page.locator("#mention-list")).to_be_hidden()
        page.click("#comment-form button[type=submit]")
        expect(page.locator(".ticket-comment").last).to_contain_text("@lena.lead@deyor.test")
        rows = db.session.scalars(select(Notification.to_addrs).where(
            Notification.ticket_id == ticket_id, Notification.event == MENTIONED)).all()
        assert sorted(rows) == ["bina.assigned@deyor.test", "lena.lead@deyor.test"]

        # a mention typed by hand of someone who may not see the ticket: refused, text kept
        box.fill("Ask @uma.unrelated@deyor.test too")
        page.click("#comment-form button[type=submit]")
        expect(page.locator(".alert-danger")).to_contain_text(
            "Uma Unrelated (uma.unrelated@deyor.test) may not see this ticket")
        expect(page.locator("#comment-body")).to_have_value("Ask @uma.unrelated@deyor.test too")

        # follow, then unfollow
        expect(page.locator("#follower-names")).to_contain_text("Nobody follows this ticket yet.")
        page.click("#follow-button")
        expect(page.locator("#follower-names")).to_have_text("Asha Agent")
        expect(page.locator("#follow-button")).to_have_attribute("aria-pressed", "true")
        shoot(page, "conversation-followed-1280")
        page.click("#follow-button")
        expect(page.locator("#follow-button")).to_have_attribute("aria-pressed", "false")
        assert db.session.scalars(select(ticket_follower.c.user_id)).all() == []


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "hi"])
def test_picker_and_follow_fit_a_phone(live_server, floor, lang):
    from playwright.sync_api import expect

    people, ticket = floor
    ticket_id = ticket.id
    with chromium_page(live_server) as page:
        log_in(page, people["lena"].email)
        if lang == "hi":
            page.goto("/lang/hi")
        page.set_viewport_size(PHONE)
        visit(page, f"/tickets/show/{ticket_id}")
        page.click("#follow-button")
        expect(page.locator("#follower-names")).to_have_text("Lena Lead")
        box = page.locator("#comment-body")
        box.click()
        box.press_sequentially("@")
        expect(page.locator("#mention-list .mention-option")).to_have_count(4)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        listing, area = page.locator("#mention-list").bounding_box(), box.bounding_box()
        assert listing["x"] >= 0 and listing["x"] + listing["width"] <= PHONE["width"]
        assert abs(listing["width"] - area["width"]) < 2 and listing["y"] >= area["y"] + area["height"] - 1
        for option in page.locator("#mention-list .mention-option").all():
            assert option.bounding_box()["height"] >= 44
        assert page.locator("#follow-button").bounding_box()["height"] >= 40
        if lang == "hi":
            expect(page.locator("#comment-help")).not_to_contain_text("Type @")
        shoot(page, f"conversation-picker-{lang}-390")
        # a tap chooses
        page.locator("#mention-list .mention-option", has_text="Bina Assigned").dispatch_event("pointerdown")
        expect(box).to_have_value("@bina.assigned@deyor.test ")
        page.set_viewport_size(DESKTOP)
        box.press_sequentially("@a")
        expect(page.locator("#mention-list .mention-option").first).to_be_visible()
        shoot(page, f"conversation-picker-{lang}-1280")
