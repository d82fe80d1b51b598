"""Files on tickets in a real browser, under the app's Content-Security-Policy: an agent attaches a
screenshot and a PDF with a comment (the chooser, as Playwright's set_input_files does it) and
sees the thumbnail; a colleague downloads them; an unrelated agent gets 404; HTML named .png is
refused; a file dropped on the drop zone is taken; the create form takes files on a phone; the
page in English and Hindi at 1280 and 390 px (screenshots in test-results/screenshots/).
"""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Ticket
from tests.conftest import INTL
from tests.test_browser import ROOT, chromium_page, log_in, visit

SHOTS = ROOT / "test-results/screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def screenshot_png() -> bytes:
    """A booking screenshot: a header bar and some lines, as a phone would capture it."""
    image = Image.new("RGB", (720, 1280), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 720, 140), fill=(42, 110, 187))
    for line in range(12):
        draw.rectangle((40, 200 + line * 80, 40 + 600 - line * 30, 240 + line * 80), fill=(200, 200, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def shoot(page, name: str) -> None:
    if db.engine.dialect.name != "sqlite":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (name, label, width)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def crew(make_person, make_ticket):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Carl Colleague", "Agent", (INTL,))
    stranger = make_person("Uma Unrelated", "Agent", (INTL,))
    admin = make_person("Ada Admin", "Admin")
    ticket = make_ticket(agent, INTL, assignees=[agent, colleague], subject="Hotel overbooked in Goa",
                         booking_id="GOA-7781", customer_name="Priya Nair")
    return {"agent": agent, "colleague": colleague, "stranger": stranger, "admin": admin}, ticket


def thumbnail_loaded(page, attachment_id: int) -> bool:
    return page.evaluate(
        "id => { const img = document.querySelector(`#attachment-${id} img.ticket-file-thumb`);"
        " return !!img && img.complete && img.naturalWidth > 0; }", attachment_id)


@pytest.mark.browser
def test_attach_a_screenshot_and_a_pdf_then_a_colleague_downloads_them(live_server, crew, tmp_path):
    from playwright.sync_api import expect

    people, ticket = crew
    ticket_id = ticket.id
    shot, pdf, fake = tmp_path / "booking screenshot.png", tmp_path / "refund voucher.pdf", tmp_path / "photo.png"
    shot.write_bytes(screenshot_png())
    pdf.write_bytes(PDF)
    fake.write_bytes(b"<html><body><script>alert(1)</script></body></html>")

    with chromium_page(live_server) as page:
        log_in(page, people["agent"].email)
        visit(page, f"/tickets/show/{ticket_id}")
        page.fill("#comment-body", "Screenshot of the booking and the hotel's voucher.")
        page.set_input_files("#comment-files", [str(shot), str(pdf)])
        expect(page.locator("#comment-form .file-drop-list li")).to_have_count(2)
        page.click("#comment-form button[type=submit]")
        expect(page.locator(".alert-success")).to_be_visible()

        files = {a.name: a.id for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id))}
        assert set(files) == {"booking screenshot.png", "refund voucher.pdf"}
        expect(page.locator(f"#attachment-{files['booking screenshot.png']} img.ticket-file-thumb")).to_be_visible()
        page.wait_for_function(
            "id => { const img = document.querySelector(`#attachment-${id} img`); return img && img.naturalWidth > 0; }",
            arg=files["booking screenshot.png"])
        assert thumbnail_loaded(page, files["booking screenshot.png"])
        expect(page.locator(".ticket-comment").last.locator(".comment-file")).to_have_count(2)
        expect(page.locator("#history")).to_contain_text("refund voucher.pdf")
        shoot(page, "attachments-ticket-agent")

        # HTML named photo.png: refused with its reason, the typed comment kept, nothing stored
        page.fill("#comment-body", "One more")
        page.set_input_files("#comment-files", [str(fake)])
        page.click("#comment-form button[type=submit]")
        expect(page.locator(".alert-danger")).to_contain_text("photo.png")
        expect(page.locator(".alert-danger")).to_contain_text("markup")
        expect(page.locator("#comment-body")).to_have_value("One more")
        shoot(page, "attachments-refused")
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 2

    with chromium_page(live_server) as page:  # a colleague on the ticket downloads them
        log_in(page, people["colleague"].email)
        visit(page, f"/tickets/show/{ticket_id}")
        with page.expect_download() as download:
            page.click(f"#attachment-{files['refund voucher.pdf']} a.ticket-file-link")
        assert download.value.suggested_filename == "refund voucher.pdf"
        assert open(download.value.path(), "rb").read() == PDF
        image = page.request.get(f"/attachments/{files['booking screenshot.png']}/download")
        assert image.status == 200 and image.body() == shot.read_bytes()
        assert image.headers["content-type"] == "image/png"

    with chromium_page(live_server) as page:  # an agent not on the ticket: 404 for the files too
        log_in(page, people["stranger"].email)
        assert page.goto(f"/attachments/{files['refund voucher.pdf']}/download").status == 404
        assert page.goto(f"/tickets/show/{ticket_id}").status == 404


@pytest.mark.browser
def test_a_dropped_file_is_taken_and_the_create_form_takes_files_on_a_phone(live_server, crew, tmp_path):
    from playwright.sync_api import expect

    people, ticket = crew
    ticket_id = ticket.id
    with chromium_page(live_server) as page:
        log_in(page, people["agent"].email)
        visit(page, f"/tickets/show/{ticket_id}")
        # a file dragged from the desktop onto the drop zone joins the chosen ones
        transfer = page.evaluate_handle("""() => {
            const dt = new DataTransfer();
            dt.items.add(new File(['booking,amount\\nGOA-7781,12500\\n'], 'refunds.csv', {type: 'text/csv'}));
            return dt; }""")
        page.dispatch_event("#comment-form .file-drop", "drop", {"dataTransfer": transfer})
        expect(page.locator("#comment-form .file-drop-list")).to_contain_text("refunds.csv")
        assert page.evaluate("document.querySelector('#comment-files').files.length") == 1
        page.click("#comment-form button[type=submit]")  # no words: the file alone is the comment
        expect(page.locator("#attachments")).to_contain_text("refunds.csv")

        # on a phone, the create form with a photo (the chooser offers camera and gallery)
        page.set_viewport_size(PHONE)
        visit(page, "/tickets/add")
        accept = page.get_attribute("#new_files", "accept")
        assert "image/jpeg" in accept and "application/pdf" in accept
        page.fill("#subject", "Cab did not arrive at the airport")
        page.fill("#booking_id", "CAB-2231")
        page.select_option("#team", label=INTL)
        photo = tmp_path / "IMG_2041.jpg"
        buffer = io.BytesIO()
        Image.new("RGB", (1200, 1600), (90, 140, 60)).save(buffer, "JPEG")
        photo.write_bytes(buffer.getvalue())
        page.set_input_files("#new_files", str(photo))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        page.click("#model_form button[type=submit]")
        expect(page.locator("#attachments")).to_contain_text("IMG_2041.jpg")
        new_id = db.session.scalars(select(Ticket.id).where(Ticket.booking_id == "CAB-2231")).one()
        attachment_id = db.session.scalars(select(Attachment.id).where(Attachment.ticket_id == new_id)).one()
        page.wait_for_function(
            "id => { const img = document.querySelector(`#attachment-${id} img`); return img && img.naturalWidth > 0; }",
            arg=attachment_id)
        shoot(page, "attachments-phone-new-ticket")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_files_read_in_both_languages(live_server, crew, language, client_for):
    from playwright.sync_api import expect

    from app.attachments.service import add_attachment

    people, ticket = crew
    add_attachment(ticket, people["agent"], "booking screenshot.png", screenshot_png())
    add_attachment(ticket, people["agent"], "refund voucher.pdf", PDF)
    db.session.commit()
    ticket_id = ticket.id
    with chromium_page(live_server) as page:
        log_in(page, people["admin"].email)
        visit(page, f"/lang/{language}")
        visit(page, f"/tickets/show/{ticket_id}")
        heading = page.locator("#attachments .panel-heading")
        expect(heading).to_contain_text("फ़ाइलें" if language == "hi" else "Files")
        expect(page.locator("#attachments .ticket-file")).to_have_count(2)
        expect(page.locator("#attachments form.ticket-file-delete")).to_have_count(2)  # an admin's
        shoot(page, f"attachments-admin-{language}")
