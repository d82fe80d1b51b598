"""In a real browser: a person who forgot their password follows the sign-in page's link, gets
the email (a real SMTP server), chooses a new password through its link and signs in with it;
then an admin reads it all in the audit log. In English and in Hindi, on a desktop and a phone
(screenshots in SCREENSHOTS)."""
from __future__ import annotations

import re

import pytest

from app.notifications import sender
from tests.conftest import INTL, PASSWORD
from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit

LINK = re.compile(r"https://esc\.deyor\.test(/forgot-password/\S+)")
WIDTHS = (1280, 390)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def emailed_path(smtp_server, count: int) -> str:
    sender.flush()
    body = smtp_server.wait_for(count)[-1].message.get_body(("plain",)).get_content()
    return LINK.search(body).group(1)


TEXTS = {
    "en": {"forgot": "Forgot your password?", "send": "Send me a link", "sent": "we have sent it a link",
           "save": "Save the new password", "changed": "Your password was changed", "sign_in": "Sign In"},
    "hi": {},  # read from the catalogue below: the Hindi screens must not show these English words
}


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "hi"])
def test_forgot_password_then_the_admin_reads_it_in_the_audit_log(live_server, make_person, mail_to_smtp,
                                                                    language):
    from playwright.sync_api import expect

    admin = make_person("Ada Admin", "Admin")
    asha = make_person("Asha Agent", "Agent", (INTL,))
    new_password = "Brand-new-horse-77"
    en = TEXTS["en"]
    with chromium_page(live_server) as page:
        if language == "hi":
            visit(page, "/lang/hi")
        visit(page, "/login/")
        link = page.locator("#forgot-password")
        expect(link).to_be_visible()
        if language == "en":
            expect(link).to_have_text(en["forgot"])
        else:
            assert link.inner_text() != en["forgot"], "translated"
        shoot(page, f"accounts-{language}-login")
        link.click()
        page.wait_for_url("**/forgot-password/")
        page.fill("#email", asha.email.upper())
        shoot(page, f"accounts-{language}-forgot")
        page.click("form button[type=submit]")
        sent = page.locator("#reset-sent")
        expect(sent).to_be_visible()
        if language == "en":
            expect(sent).to_contain_text(en["sent"])
        shoot(page, f"accounts-{language}-sent")

        visit(page, emailed_path(mail_to_smtp, 1))
        page.fill("#password", new_password)
        page.fill("#conf_password", new_password + "!")
        page.click("form button[type=submit]")
        expect(page.locator(".has-error .help-block").first).to_be_visible()  # the mismatch, said
        shoot(page, f"accounts-{language}-new-password-refused")
        page.fill("#password", new_password)
        page.fill("#conf_password", new_password)
        page.click("form button[type=submit]")
        page.wait_for_url("**/login/")
        body = page.inner_text("body")
        assert (en["changed"] in body) == (language == "en")
        page.fill("#username", asha.email)
        page.fill("#password", new_password)
        page.click("form[name=login] input[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)

    with chromium_page(live_server) as page:
        if language == "hi":
            visit(page, "/lang/hi")
        log_in(page, admin.email)
        visit(page, "/audit/list/")
        rows = page.locator("table tbody tr, table tr").all_inner_texts()
        text = "\n".join(rows)
        assert "password_reset_requested" in text and "(password_reset)" in text, text[:2000]
        assert asha.email in text
        assert "IST" in text, "times in DISPLAY_TIMEZONE"
        shoot(page, f"accounts-{language}-audit-log")
        page.locator("a[href^='/audit/show/']").first.click()
        page.wait_for_url("**/audit/show/*")
        shoot(page, f"accounts-{language}-audit-event")
    assert PASSWORD != new_password
