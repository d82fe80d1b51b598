"""The admin screens in a real browser, under the Content-Security-Policy: the role screen in
words with its Advanced toggle, and handing a leaver's tickets over from the people screen.
Screenshots at 1280 and 390 px, in English and Hindi, go to SCREENSHOTS."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Notification, TicketEvent, utcnow
from app.notifications import health
from tests.conftest import DOM, INTL, fresh
from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit


def shoot(page, name: str) -> None:
    """The page at a desktop's and a phone's width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def to_hindi(page) -> None:
    page.click(".navbar-right .dropdown-toggle:has(.flag)")
    page.click("a:has-text('हिन्दी')")
    page.wait_for_load_state()


@pytest.mark.browser
def test_role_screen_says_what_a_role_may_do_with_the_raw_permissions_behind_a_toggle(live_server, make_person, app):
    admin = make_person("Ada Admin", "Admin")
    agent_role = app.appbuilder.sm.find_role("Agent")
    with chromium_page(live_server) as page:
        log_in(page, admin.email)
        visit(page, "/tickets/list/")
        page.click(".navbar-nav .dropdown-toggle:has-text('Admin')")
        page.click(".navbar-nav a[href='/roles/list/']")
        page.wait_for_url("**/roles/list/")
        assert "Managed by setup" in page.inner_text("body")
        shoot(page, "admin-roles-en")
        visit(page, f"/roles/show/{agent_role.id}")
        words = page.inner_text(".role-areas")
        assert "Create tickets" in words and "See the tickets they created or are assigned to" in words
        assert "Delete tickets" not in words
        # The raw permissions are there but folded away until asked for.
        assert page.locator(".role-permissions").is_hidden()
        page.click(".role-advanced summary")
        assert page.locator(".role-permissions").is_visible()
        assert "can_add" in page.inner_text(".role-permissions")
        shoot(page, "admin-role-agent-en")
        to_hindi(page)
        visit(page, f"/roles/show/{agent_role.id}")
        assert "Create tickets" not in page.inner_text(".role-areas")  # in Hindi now
        shoot(page, "admin-role-agent-hi")


@pytest.mark.browser
def test_admin_deactivates_a_leaver_and_hands_their_tickets_over(live_server, make_person, make_ticket):
    admin = make_person("Ada Admin", "Admin")
    leaver = make_person("Lee Leaver", "Agent", (INTL,))
    asha = make_person("Asha Agent", "Agent", (INTL,))
    make_person("Bo Agent", "Agent", (DOM,))
    creator = make_person("Carl Creator", "Agent", (INTL,))
    tickets = [make_ticket(creator, INTL, assignees=[leaver], subject=f"Refund {n}", booking_id=f"HO-{n}")
               for n in range(3)]
    with chromium_page(live_server) as page:
        log_in(page, admin.email)
        visit(page, "/users/list/")
        shoot(page, "admin-people-en")
        visit(page, f"/users/edit/{leaver.id}")
        page.uncheck("#active")
        page.click("button.btn-primary[type=submit]:has-text('Save')")
        page.wait_for_url(f"**/users/handover/{leaver.id}")
        rows = page.locator(".handover-ticket")
        assert rows.count() == 3
        shoot(page, "admin-handover-en")
        page.select_option("#handover-people", label=f"Asha Agent <{asha.email}> — International Operations")
        page.click(".handover-submit")
        page.wait_for_selector("text=3 ticket(s) handed over from Lee Leaver to Asha Agent.")
        assert page.url.endswith("/users/list/")

    db.session.expire_all()
    assert fresh(leaver).active is False
    for ticket in tickets:
        assert [p.id for p in fresh(ticket).assignees] == [asha.id]
        assert db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, field="assignees",
                                                       new_value="Asha Agent").count() == 1
        assert db.session.query(Notification).filter_by(ticket_id=ticket.id, event="assigned").one().to_addrs == asha.email


@pytest.mark.browser
def test_screens_in_hindi_and_on_a_phone(live_server, make_person, make_ticket):
    """The profile, the handover, the outbox with its banner: looked at in both languages."""
    admin = make_person("Ada Admin", "Admin", (INTL,))
    leaver = make_person("Lee Leaver", "Agent", (INTL,), active=False)
    make_person("Asha Agent", "Agent", (INTL,))
    make_ticket(admin, INTL, assignees=[leaver], subject="Hotel overbooked", booking_id="HO-1")
    db.session.add(Notification(event="created", to_addrs="a@deyor.test, b@deyor.test", cc_addrs="f@deyor.test",
                                subject="[ESC-1] Hotel overbooked", body_text="x", body_html="x", message_id="<m1@x>",
                                state="failed", attempts=3, last_error="SMTP 451 try later",
                                created_at=utcnow() - timedelta(minutes=40), next_attempt_at=utcnow()))
    db.session.commit()
    health.forget()
    with chromium_page(live_server) as page:
        log_in(page, admin.email)
        for language in ("en", "hi"):
            if language == "hi":
                to_hindi(page)
            visit(page, "/users/userinfo/")
            assert page.locator(".outbox-banner").count() == 1
            shoot(page, f"admin-profile-{language}")
            visit(page, f"/users/handover/{leaver.id}")
            shoot(page, f"admin-handover-{language}")
            visit(page, "/notifications/list/")
            assert page.locator(".notification-state.label-danger").count() == 1
            shoot(page, f"admin-outbox-{language}")
            visit(page, "/tickets/list/?_flt_0_assignees=none")
            assert page.locator(".assignee-deactivated").count() == 1
            shoot(page, f"admin-unassigned-{language}")
