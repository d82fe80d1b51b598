"""End to end in a real browser: an agent logs in, opens a ticket with two assignees,
finds it with the list's search box, comments on it and resolves it.

Every page is served with the app's Content-Security-Policy (scripts by nonce only) and the
tests fail on any violation it reports, so the pages' scripts (Select2 pickers, filters, list
actions, Swagger UI) are shown to work under it.

The app under test is served over HTTP from a background thread; Chromium is driven
through Playwright. The SQLite run saves the pages as PNG files: to test-results/screenshots/,
or to docs/screenshots/ (the README's pictures) with UPDATE_SCREENSHOTS=1 (`make screenshots`).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from app.extensions import db
from app.models import STATUS_RESOLVED, Person, Ticket, utcnow
from tests.conftest import DOM, INTL, PASSWORD, fresh

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / (
    "docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "test-results/screenshots"
)
TIMEOUT_MS = 10_000


# Every document reports Content-Security-Policy violations to window.__csp and to the test.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const report = `${e.effectiveDirective} refused ${e.blockedURI} in ${e.documentURI}`
    + ` (${e.sourceFile || "page"}:${e.lineNumber})`;
  window.__csp.push(report);
  if (window.__cspReport) window.__cspReport(report);
});
"""


@contextmanager
def chromium_page(base_url: str, csp_reports: list[str] | None = None) -> Iterator["Page"]:
    """A fresh Chromium page whose relative URLs go to `base_url`; fails on JavaScript errors
    and on Content-Security-Policy violations (a `securitypolicyviolation` event or a console
    message), unless `csp_reports` is given to receive them."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is required for the browser tests but {CHROMIUM} is missing or not "
            "executable: install the 'chromium' package.",
            pytrace=False,
        )
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions: a form posted on a busy two-core machine (the suite runs
    # two workers beside the browser) can take longer than Playwright's default 5 s to come back.
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            violations: list[str] = [] if csp_reports is None else csp_reports
            context.expose_function("__cspReport", lambda report: violations.append(report))
            context.add_init_script(CSP_LISTENER)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: violations.append(f"console: {msg.text}")
                    if "Content Security Policy" in msg.text else None)
            yield page
            assert not errors, f"JavaScript errors in the pages: {errors}"
            if csp_reports is None:
                assert not violations, f"Content-Security-Policy violations: {violations}"
        finally:
            browser.close()


def visit(page, url: str):
    """Open `url`, which must come with the app's Content-Security-Policy (scripts by nonce only):
    the pages' scripts are exercised under it."""
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    assert re.search(r"script-src 'self' 'nonce-[^']+'(;|$)", policy), (url, policy)
    return response


def pick_select2(page, field_id: str, choice: str) -> None:
    """Choose `choice` in the select2 box that replaces <select id=field_id>, as a user does:
    open it, type part of the name, click the matching entry."""
    container = page.locator(f"#{field_id} + .select2-container")
    container.locator(".select2-selection").click()
    dropdown = page.locator(".select2-container--open")
    search = dropdown.locator("input.select2-search__field").first
    search.fill(choice[:4])
    dropdown.locator(".select2-results__option").filter(has_text=re.compile(f"^{re.escape(choice)}$")).click()
    page.locator(".select2-container--open").first.wait_for(state="detached")


def selected_labels(page, field_id: str) -> list[str]:
    return page.eval_on_selector(f"#{field_id}", "s => [...s.selectedOptions].map(o => o.text.trim())")


@pytest.mark.browser
def test_agent_opens_finds_comments_and_resolves_a_ticket(live_server, make_person, make_ticket):
    from playwright.sync_api import expect

    make_person("Ada Admin", "Admin")
    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Bina Colleague", "Agent", (INTL,))
    make_person("Dev Domestic", "Agent", (DOM,))
    other = make_ticket(
        agent, INTL, subject="Visa letter missing", booking_id="VIS-5150",
        customer_name="Rahul Verma", customer_contact="rahul@example.com",
    )
    agent_id, agent_name, agent_email = agent.id, agent.full_name, agent.email
    colleague_id, colleague_name = colleague.id, colleague.full_name
    # The assignee picker names people with their email.
    agent_label, colleague_label = f"{agent_name} <{agent_email}>", f"{colleague_name} <{colleague.email}>"
    other_booking = other.booking_id
    screenshots = db.engine.dialect.name == "sqlite"
    if screenshots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with chromium_page(live_server) as page:
        def snap(name: str) -> None:
            if screenshots:
                page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

        # --- log in -------------------------------------------------------------------
        visit(page, "/login/")
        page.fill("#username", agent_email)
        page.fill("#password", PASSWORD)
        snap("login.png")
        page.click("form[name=login] input[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        expect(page.locator("body")).to_contain_text(agent_name)

        # --- open a ticket ------------------------------------------------------------
        visit(page, "/tickets/add")
        page.fill("#subject", "Flight cancelled, refund pending")
        page.fill("#booking_id", "  dey-2042/b  ")
        pick_select2(page, "team", INTL)
        pick_select2(page, "priority", "Urgent")
        page.fill("#customer_name", "Meera Krishnan")
        page.fill("#customer_contact", "meera.k@example.com")
        page.fill("#description", "Airline cancelled the flight; the customer is waiting for the refund.")
        pick_select2(page, "assignees", agent_label)
        pick_select2(page, "assignees", colleague_label)
        assert selected_labels(page, "team") == [INTL]
        assert selected_labels(page, "priority") == ["Urgent"]
        assert sorted(selected_labels(page, "assignees")) == sorted([agent_label, colleague_label])
        snap("ticket-add.png")
        page.click("#model_form button[type=submit]")
        page.wait_for_url(re.compile(r"/tickets/show/\d+$"))
        ticket_id = int(re.search(r"/tickets/show/(\d+)$", page.url).group(1))
        expect(page.locator("#ticket-status")).to_have_text("Open")
        expect(page.locator("body")).to_contain_text("DEY-2042/B")

        # --- find it with the search box ----------------------------------------------
        visit(page, "/tickets/list/")
        rows = page.locator("table.ticket-table tbody tr")
        expect(rows.filter(has_text="DEY-2042/B")).to_have_count(1)
        expect(rows.filter(has_text=other_booking)).to_have_count(1)
        page.fill("#ticket-search", "DEY-2042")
        page.click("form.ticket-search button[type=submit]")
        # One hit: the ticket opens directly.
        page.wait_for_url(f"**/tickets/show/{ticket_id}")
        visit(page, "/tickets/list/?search=krishnan%20OR")  # no hit: the list says so
        expect(page.locator("#ticket-search")).to_have_value("krishnan OR")
        expect(page.locator("#empty-state")).to_contain_text("No tickets match these filters.")
        snap("ticket-list-search.png")

        # --- filter on an assignee, picked by typing part of a name --------------------
        visit(page, "/tickets/list/")
        picker = page.locator("#filter-assignees + .select2-container")
        picker.locator(".select2-selection").click()
        page.locator(".select2-container--open input.select2-search__field").fill(colleague_name.split()[1][:5].lower())
        page.locator(".select2-results__option").filter(has_text=colleague_name).click()
        page.click("#apply-filters")
        page.wait_for_url(re.compile(rf"[?&]_flt_0_assignees={colleague_id}\b"))
        expect(rows.filter(has_text="DEY-2042/B")).to_have_count(1)
        expect(rows.filter(has_text=other_booking)).to_have_count(0)  # not assigned to the colleague
        # the chosen person is shown in the filter after the reload, without loading everyone
        expect(picker.locator(".select2-selection__rendered")).to_contain_text(colleague_name)
        expect(page.locator(".filter-chip")).to_contain_text(colleague_name)

        # --- comment and resolve ------------------------------------------------------
        visit(page, f"/tickets/show/{ticket_id}")
        page.fill("#comment-body", "Called the airline: refund approved, 5–7 working days.")
        page.click("#comment-form button[type=submit]")
        comment = page.locator(".ticket-comment").filter(has_text="refund approved")
        expect(comment).to_have_count(1)
        expect(comment).to_contain_text(agent_name)

        page.click("#resolve-toggle")  # the resolve form opens on Resolve
        # Fully open (its notes focused when the collapse has shown): filling and submitting while
        # Bootstrap's collapse still moves the form once lost the submit on a busy machine.
        expect(page.locator("#resolution_notes")).to_be_focused()
        page.fill("#resolution_notes", "Refund confirmed by the airline; customer informed.")
        page.click("#resolve-form button[type=submit]")
        expect(page.locator("#ticket-status")).to_have_text("Resolved")
        expect(page.locator("#resolve-form")).to_have_count(0)
        status_row = page.locator(".ticket-history tbody tr").filter(has_text=re.compile("status", re.I))
        expect(status_row).to_have_count(1)
        cells = status_row.locator("td")
        expect(cells.nth(1)).to_have_text(agent_name)
        expect(cells.nth(3)).to_have_text("Open")
        expect(cells.nth(4)).to_have_text("Resolved")
        expect(page.locator("body")).to_contain_text("Refund confirmed by the airline")
        snap("ticket-detail.png")

    # --- what was stored --------------------------------------------------------------
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket is not None
    assert ticket.booking_id == "DEY-2042/B"
    assert ticket.subject == "Flight cancelled, refund pending"
    assert ticket.team.name == INTL
    assert ticket.priority == "Urgent"
    assert ticket.customer_name == "Meera Krishnan"
    assert sorted(p.id for p in ticket.assignees) == sorted([agent_id, colleague_id])
    assert ticket.created_by_id == agent_id
    assert ticket.status == STATUS_RESOLVED
    assert ticket.resolved_by_id == agent_id
    assert ticket.resolved_at is not None
    assert ticket.resolution_notes == "Refund confirmed by the airline; customer informed."
    assert [(c.author_id, c.body) for c in ticket.comments] == [
        (agent_id, "Called the airline: refund approved, 5–7 working days.")
    ]
    status_events = [(e.actor_id, e.old_value, e.new_value) for e in ticket.events if e.field == "status"]
    assert status_events == [(agent_id, "Open", "Resolved")]
    assert fresh(other).status == "Open" and fresh(other).comments == []


def log_in(page, email: str) -> None:
    visit(page, "/login/")
    page.fill("#username", email)
    page.fill("#password", PASSWORD)
    page.click("form[name=login] input[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.browser
def test_admin_list_actions_and_swagger_ui_run_under_the_csp(live_server, make_person):
    """FAB's list actions (row checkboxes, check-all, the actions menu and its confirmation)
    and the admin's Swagger UI work with the Content-Security-Policy, which none of their
    scripts, styles, images or requests violates."""
    from playwright.sync_api import expect

    admin = make_person("Ada Admin", "Admin")
    make_person("Bina Colleague", "Agent", (INTL,))
    make_person("Dev Domestic", "Agent", (DOM,))
    admin_email = admin.email

    with chromium_page(live_server) as page:
        log_in(page, admin_email)

        visit(page, "/users/list/")
        rows = page.locator("table.table tbody tr")
        expect(rows).to_have_count(3)
        bina = rows.filter(has_text="Bina")
        bina.locator("input.action_check").check()
        expect(bina).to_have_class(re.compile(r"\bsuccess\b"))  # ab_actions.js marks the row
        page.click("input.action_check_all")
        expect(page.locator("input.action_check:checked")).to_have_count(3)
        page.click("input.action_check_all")
        expect(page.locator("input.action_check:checked")).to_have_count(0)
        bina.locator("input.action_check").check()
        page.click("button.dropdown-toggle:has-text('Actions')")
        page.click("a.deactivate_menu_item")
        expect(page.locator("#modal-confirm")).to_be_visible()
        expect(page.locator("#modal-confirm .modal-text")).to_contain_text("Deactivate the selected people?")
        page.click("#modal-confirm-ok")
        expect(page.locator(".alert")).to_contain_text("Deactivated")

        visit(page, "/swagger/v1")
        operations = page.locator(".swagger-ui .opblock")
        # The spec was fetched and rendered: FAB builds it per request (seconds on a busy machine).
        expect(operations.first).to_be_visible(timeout=30_000)
        assert operations.count() > 10

        # Signing out is the menu's POST form (with its CSRF token); the session is gone after.
        visit(page, "/tickets/list/")
        page.click("a.dropdown-toggle:has(.fa-user)")
        page.click("form.navbar-logout button[type=submit]")
        page.wait_for_url(re.compile(r"/login/"))
        visit(page, "/users/list/")
        expect(page).to_have_url(re.compile(r"/login/"))

    db.session.expire_all()
    assert {p.first_name: p.active for p in db.session.query(Person)} == {"Ada": True, "Bina": False, "Dev": True}


@pytest.mark.browser
def test_the_csp_is_enforced_and_violations_are_reported(live_server):
    """The control of the checks above: script injected without the nonce does not run, and
    the violation reaches the test both as an event and as a console message."""
    reports: list[str] = []
    with chromium_page(live_server, csp_reports=reports) as page:
        visit(page, "/login/")
        with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
            page.evaluate("""() => {
                const script = document.createElement("script");
                script.textContent = "window.__injected = true";
                document.body.appendChild(script);
            }""")
        page.wait_for_function("window.__csp.length > 0")
        assert page.evaluate("window.__injected") is None
    assert any(r.startswith("script-src") and "refused inline" in r and "/login/" in r for r in reports), reports
    assert any(r.startswith("console: ") for r in reports), reports


@pytest.mark.browser
def test_a_lead_finds_an_overdue_ticket_through_the_overdue_queue(live_server, make_person, make_ticket):
    """The ladder has escalated an Urgent ticket: the lead opens Tickets → Overdue, reads the
    badge in words, and the ticket page shows the level and the step taken."""
    from app.sla import ladder

    agent = make_person("Anil Agent", "Agent", (INTL,))
    make_person("Lena Lead", "Lead", (INTL,))
    late = make_ticket(agent, subject="Stranded at the airport", priority="Urgent",
                       created_at=utcnow() - timedelta(minutes=40))
    make_ticket(agent, subject="Seat preference", priority="Low", booking_id="DEY-2002")
    ladder.run_pass(db.session)
    with chromium_page(live_server) as page:
        log_in(page, "lena.lead@deyor.test")
        page.click("text=Tickets")
        page.click("a:has-text('Overdue')")
        page.wait_for_url("**/tickets/list/?_flt_0_sla_state=breached*")
        rows = page.locator("tr:has(a[href*='/tickets/show/'])")
        assert rows.count() == 1
        badge = rows.first.locator(".sla-badge")
        assert re.fullmatch(r"overdue 1\d min", badge.inner_text().strip()), badge.inner_text()
        assert "label-danger" in badge.get_attribute("class")
        rows.first.locator("a[href*='/tickets/show/']").first.click()
        page.wait_for_url(f"**/tickets/show/{late.id}")
        panel = page.locator("#ticket-sla")
        assert "Escalation level 1" in panel.inner_text()
        assert "overdue: leads emailed (level 1)" in panel.inner_text()
