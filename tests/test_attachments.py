"""Attachments: files on tickets and comments, type by content, limits, serving rules, lifecycle.

Real files made here (a PNG and a JPEG by Pillow, a PDF's bytes, DOCX and XLSX by openpyxl and
zipfile, an email), sent through the real forms and the API on SQLite and PostgreSQL; the
1 GB refusal goes to a live server over a socket.
"""
from __future__ import annotations

import hashlib
import io
import socket
import time
import zipfile
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.attachments import service
from app.attachments.errors import AttachmentRefused
from app.attachments.http import FILE_CSP
from app.extensions import db
from app.models import (
    Attachment,
    AttachmentChunk,
    AttachmentThumbnail,
    AuditEvent,
    Comment,
    Notification,
    Ticket,
    TicketEvent,
)
from tests.conftest import CAST_ROLES, INTL, SEES, fresh, team
from tests.test_api import api_for, token_for  # noqa: F401 (fixtures)


# --- real small files -------------------------------------------------------------------------
def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16), 3).save(out, "GIF")
    return out.getvalue()


def webp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, "WEBP")
    return out.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
EMAIL = (b"From: Hotel Goa <front@hotel.example>\r\nTo: ops@deyor.test\r\nSubject: Your booking GOA-7781\r\n"
         b"Date: Thu, 03 Dec 2026 10:00:00 +0530\r\nMessage-ID: <x1@hotel.example>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>Refund approved</body></html>\r\n")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b'<circle r="4"/></svg>')


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Booking", "Refund"])
    book.active.append(["GOA-7781", 12500])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_bytes(macro: bool = False) -> bytes:
    """The smallest Word package: content types, the main part, its relationship."""
    main = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macro else
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
            f'PartName="/word/document.xml" ContentType="{main}"/></Types>'))
        package.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'))
        package.writestr("word/document.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Voucher</w:t></w:r></w:p></w:body></w:document>'))
        if macro:
            package.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_rows() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Attachment, AttachmentChunk, AttachmentThumbnail, Comment, TicketEvent)}


def upload_form(client, ticket_id: int, files, body: str = "See attached"):
    data = {"body": body, "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/tickets/comment/{ticket_id}", data=data, content_type="multipart/form-data")


def api_upload(api, ticket_id, name, content, comment=None, **extra):
    data = {"ticket": str(ticket_id), "file": (io.BytesIO(content), name), **extra}
    if comment is not None:
        data["comment"] = str(comment)
    return api.client.post("/api/v1/attachment/", data=data, content_type="multipart/form-data",
                           headers=api.headers)


# --- round trip ---------------------------------------------------------------------------------
def test_comment_with_files_round_trip_bytes_and_hash(cast, client_for):
    people, ticket = cast
    agent = client_for(people["agent_creator"])
    big_text = ("booking,amount\n" + "GOA-7781,12500\n" * 70_000).encode()  # ~1 MB: several pieces
    files = [("screenshot.png", png_bytes()), ("voucher.pdf", PDF), ("refunds.csv", big_text)]
    response = upload_form(agent, ticket.id, files)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    stored = {a.name: a for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))}
    assert set(stored) == {"screenshot.png", "voucher.pdf", "refunds.csv"}
    comment = db.session.scalars(select(Comment).where(Comment.ticket_id == ticket.id)).one()
    assert {a.comment_id for a in stored.values()} == {comment.id}
    assert stored["screenshot.png"].type == "image/png" and stored["screenshot.png"].has_thumbnail
    assert stored["voucher.pdf"].type == "application/pdf"
    assert stored["refunds.csv"].type == "text/csv"
    assert db.session.scalar(select(func.count()).select_from(AttachmentChunk).where(
        AttachmentChunk.attachment_id == stored["refunds.csv"].id)) >= 2

    colleague = client_for(people["agent_assigned"])
    for name, content in files:
        attachment = stored[name]
        assert attachment.size == len(content) and attachment.sha256 == sha(content)
        download = colleague.get(f"/attachments/{attachment.id}/download")
        assert download.status_code == 200
        assert download.data == content and sha(download.data) == attachment.sha256

    # The ticket page lists them, with the image's thumbnail, and the history has the uploads.
    page = agent.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    for name in stored:
        assert name in page
    assert f"/attachments/{stored['screenshot.png'].id}/thumbnail" in page
    assert f"/attachments/{stored['voucher.pdf'].id}/thumbnail" not in page
    uploads = db.session.scalars(select(TicketEvent.new_value).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.field == "attachment")).all()
    assert sorted(uploads) == sorted(stored)


def test_download_headers(cast, client_for):
    people, ticket = cast
    agent = client_for(people["agent_creator"])
    upload_form(agent, ticket.id, [("Reçu hôtel.pdf", PDF), ("photo.png", png_bytes()), ("notes.txt", b"plain\n")])
    by_name = {a.name: a for a in db.session.scalars(select(Attachment))}

    pdf = agent.get(f"/attachments/{by_name['Reçu hôtel.pdf'].id}/download")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == (
        "attachment; filename=\"Recu hotel.pdf\"; filename*=UTF-8''Re%C3%A7u%20h%C3%B4tel.pdf")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.headers["Content-Security-Policy"] == FILE_CSP == "default-src 'none'; sandbox"
    assert pdf.headers["Cache-Control"] == "private"
    assert pdf.headers["Content-Length"] == str(len(PDF))

    image = agent.get(f"/attachments/{by_name['photo.png'].id}/download")
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline; ")

    text = agent.get(f"/attachments/{by_name['notes.txt'].id}/download")
    assert text.headers["Content-Type"] == "text/plain"  # the detected type only: no charset guessed
    assert text.headers["Content-Disposition"].startswith("attachment; ")

    thumb = agent.get(f"/attachments/{by_name['photo.png'].id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.headers["Content-Security-Policy"] == FILE_CSP
    assert Image.open(io.BytesIO(thumb.data)).format == "JPEG"
    assert agent.get(f"/attachments/{by_name['voucher.pdf' if False else 'notes.txt'].id}/thumbnail").status_code == 404


# --- type by content ----------------------------------------------------------------------------
ACCEPTED_FILES = [
    ("shot.png", png_bytes, "image/png"),
    ("photo.JPG", jpeg_bytes, "image/jpeg"),
    ("anim.gif", gif_bytes, "image/gif"),
    ("pic.webp", webp_bytes, "image/webp"),
    ("voucher.pdf", lambda: PDF, "application/pdf"),
    ("notes.txt", lambda: "Guest called twice; refund ₹12,500 pending.\n".encode(), "text/plain"),
    ("refunds.csv", lambda: b"booking,amount\r\nGOA-7781,12500\r\n", "text/csv"),
    ("latin.csv", lambda: "caf\xe9,12\n".encode("cp1252"), "text/csv"),
    ("letter.docx", docx_bytes, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("refunds.xlsx", xlsx_bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("hotel reply.eml", lambda: EMAIL, "message/rfc822"),
    ("no extension", png_bytes, "image/png"),
]


@pytest.mark.parametrize("name,make,expected", ACCEPTED_FILES, ids=[f[0] for f in ACCEPTED_FILES])
def test_accepted_types_are_detected_by_content(cast, api_for, name, make, expected):
    people, ticket = cast
    response = api_upload(api_for(people["agent_creator"]), ticket.id, name, make())
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["result"]["type"] == expected
    assert response.json["result"]["name"] == name


REFUSED_FILES = [
    ("photo.png", HTML, "markup"),  # HTML disguised as a PNG
    ("page.html", HTML, "markup"),
    ("page.txt", HTML, "markup"),
    ("logo.svg", SVG, "markup"),
    ("logo.png", SVG, "markup"),
    ("drawing.txt", b"notes\n" * 20000 + b"<svg onload=alert(1)>", "markup"),  # far past the head
    ("photo.png", PDF, "named as .png"),  # a name that lies
    ("voucher.pdf", png_bytes(), "named as .pdf"),
    ("report.docx", xlsx_bytes(), "named as .docx"),
    ("macro.docx", docx_bytes(macro=True), "macros"),
    ("archive.zip", plain_zip(), "zip archive"),
    ("notes.zip.txt", plain_zip(), "zip archive"),
    ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "not a type of file"),
    ("data.bin", bytes(range(256)) * 4, "not a type of file"),
    ("fake.eml", b"hello, this is not an email\n", "not one"),
    ("broken.png", png_bytes()[:40], "could not be read"),
]


@pytest.mark.parametrize("name,content,words", REFUSED_FILES, ids=[f"{f[0]}-{f[2]}" for f in REFUSED_FILES])
def test_refused_types_store_nothing(cast, api_for, client_for, name, content, words):
    people, ticket = cast
    before = stored_rows()
    response = api_upload(api_for(people["agent_creator"]), ticket.id, name, content)
    assert response.status_code == 422, response.get_data(as_text=True)
    message = response.json["message"]["file"][0]
    assert words in message and name in message
    # The same through the comment form: the page again, the message, what was typed kept.
    page = upload_form(client_for(people["agent_creator"]), ticket.id, [(name, content)], body="Typed text kept")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Typed text kept" in text and words in text.replace("&#34;", '"').replace("&#39;", "'")
    assert stored_rows() == before


def test_html_named_png_refused_in_the_ticket_form(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    before = stored_rows()
    response = client.post("/tickets/add", data={
        "subject": "Voucher missing", "booking_id": "GOA-9001", "team": str(team(INTL).id), "priority": "High",
        "new_files": [(io.BytesIO(HTML), "photo.png")],
    }, content_type="multipart/form-data")
    assert response.status_code == 200  # the form again, with what was typed and the field's error
    text = response.get_data(as_text=True)
    assert "Voucher missing" in text and "markup" in text
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1  # only the cast's
    assert stored_rows() == before


def test_files_in_the_add_and_edit_forms(cast, client_for, mail_to_smtp):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    response = client.post("/tickets/add", data={
        "subject": "Voucher missing", "booking_id": "GOA-9001", "team": str(team(INTL).id), "priority": "High",
        "notify_emails": "ops@deyor.test",
        "new_files": [(io.BytesIO(png_bytes()), "booking.png"), (io.BytesIO(PDF), "voucher.pdf")],
    }, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    new = db.session.scalars(select(Ticket).where(Ticket.booking_id == "GOA-9001")).one()
    assert sorted(a.name for a in new.attachments) == ["booking.png", "voucher.pdf"]
    assert all(a.comment_id is None for a in new.attachments)
    # The creation email lists the files by name with a link, never their content.
    email = db.session.scalars(select(Notification).where(
        Notification.ticket_id == new.id, Notification.event == "created")).one()
    for attachment in new.attachments:
        assert attachment.name in email.body_text and attachment.name in email.body_html
        assert f"/attachments/{attachment.id}/download" in email.body_text
    assert "%PDF" not in email.body_text
    # History: created first, then the uploads.
    fields = [e.field for e in db.session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == new.id).order_by(TicketEvent.created_at, TicketEvent.id))]
    assert fields[0] == "created" and fields.count("attachment") == 2

    edit = client.post(f"/tickets/edit/{new.id}", data={
        "subject": new.subject, "booking_id": new.booking_id, "team": str(new.team_id), "priority": "High",
        "notify_emails": "ops@deyor.test", "expected_version": str(new.version), "new_files": [(io.BytesIO(xlsx_bytes()), "refunds.xlsx")],
    }, content_type="multipart/form-data")
    assert edit.status_code == 302, edit.get_data(as_text=True)[:800]
    assert sorted(a.name for a in fresh(new).attachments) == ["booking.png", "refunds.xlsx", "voucher.pdf"]

    refused = client.post(f"/tickets/edit/{new.id}", data={
        "subject": "Changed subject", "booking_id": new.booking_id, "team": str(new.team_id), "priority": "High",
        "expected_version": str(fresh(new).version), "new_files": [(io.BytesIO(SVG), "map.svg")],
    }, content_type="multipart/form-data")
    assert refused.status_code == 200 and "Changed subject" in refused.get_data(as_text=True)
    assert fresh(new).subject == "Voucher missing" and len(fresh(new).attachments) == 3


# --- visibility ----------------------------------------------------------------------------------
@pytest.fixture
def filed(cast):
    """The cast's ticket with a screenshot on a comment."""
    people, ticket = cast
    comment = Comment(ticket=ticket, author=people["agent_creator"], body="Booking screenshot")
    db.session.add(comment)
    attachment = service.add_attachment(ticket, people["agent_creator"], "booking.png", png_bytes(), comment=comment)
    db.session.commit()
    return people, ticket, attachment


@pytest.mark.parametrize("who", CAST_ROLES)
def test_visibility_of_files_follows_the_ticket(filed, client_for, api_for, who):
    people, ticket, attachment = filed
    client, api = client_for(people[who]), api_for(people[who])
    expected = 200 if SEES[who] else 404
    assert client.get(f"/attachments/{attachment.id}/download").status_code == expected
    assert client.get(f"/attachments/{attachment.id}/thumbnail").status_code == expected
    assert api.get(f"/api/v1/attachment/{attachment.id}").status_code == expected
    download = api.get(f"/api/v1/attachment/{attachment.id}/download")
    assert download.status_code == expected
    if SEES[who]:
        assert download.data == png_bytes() and download.headers["X-Content-Type-Options"] == "nosniff"
        assert api.get(f"/api/v1/attachment/{attachment.id}").json["result"]["sha256"] == sha(png_bytes())
    else:
        assert b"booking.png" not in download.data
    # Uploading: the same rule, in the comment form and the API (404, nothing stored).
    before = stored_rows()
    form = upload_form(client, ticket.id, [("more.png", png_bytes())])
    posted = api_upload(api, ticket.id, "more.png", png_bytes())
    if SEES[who]:
        assert form.status_code == 302 and posted.status_code == 201
        assert posted.json["result"]["uploaded_by"] == people[who].id
    else:
        assert form.status_code == 404 and posted.status_code == 404
        assert stored_rows() == before


def test_unknown_ids_answer_404(filed, client_for, api_for):
    people, ticket, attachment = filed
    client, api = client_for(people["admin"]), api_for(people["admin"])
    for path in ("/attachments/999999/download", "/attachments/999999/thumbnail",
                 f"/attachments/{2 ** 63}/download"):
        assert client.get(path).status_code == 404, path
    assert api.get("/api/v1/attachment/999999").status_code == 404
    assert api.get("/api/v1/attachment/999999/download").status_code == 404
    assert api_upload(api, 999999, "a.png", png_bytes()).status_code == 404
    assert api.get("/api/v1/attachment/999999/download").headers["Content-Type"].startswith("application/json")


def test_anonymous_gets_nothing(filed, app):
    _people, _ticket, attachment = filed
    anonymous = app.test_client()
    response = anonymous.get(f"/attachments/{attachment.id}/download")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert anonymous.get(f"/api/v1/attachment/{attachment.id}").status_code == 401


def test_ticket_api_record_lists_its_files(filed, api_for):
    people, ticket, attachment = filed
    record = api_for(people["agent_assigned"]).get(f"/api/v1/ticket/{ticket.id}").json["result"]
    assert record["attachments"] == [
        {"id": attachment.id, "name": "booking.png", "type": "image/png", "size": len(png_bytes())}]


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,words", [
    ("../../etc/passwd.txt", "is a path"),
    ("shots/photo.png", "is a path"),
    ("photo\x00.png", "NUL"),
    ("a" * 496 + ".png", "at most 255"),
    ("   ", "no name"),
    ("..", "no name"),
])
def test_bad_file_names_are_refused(cast, api_for, name, words):
    people, ticket = cast
    before = stored_rows()
    response = api_upload(api_for(people["agent_creator"]), ticket.id, name, png_bytes())
    assert response.status_code == 422, response.get_data(as_text=True)
    assert words in response.json["message"]["file"][0]
    assert stored_rows() == before


def test_names_are_cleaned_for_display():
    from app.attachments.names import clean_name

    assert clean_name("  Voucher\tGoa\r\n.pdf ") == "Voucher Goa .pdf"
    assert clean_name("invoice\u202egnp.exe") == "invoicegnp.exe"  # no right-to-left override
    assert clean_name("Cafe\u0301.png") == "Café.png"  # NFC
    # (a browser's multipart header escapes a backslash, so this one is checked here)
    with pytest.raises(AttachmentRefused, match="is a path"):
        clean_name("C:\\Users\\asha\\photo.png")


def test_empty_file_refused(cast, api_for, client_for):
    people, ticket = cast
    before = stored_rows()
    response = api_upload(api_for(people["agent_creator"]), ticket.id, "empty.pdf", b"")
    assert response.status_code == 422 and "empty" in response.json["message"]["file"][0]
    page = upload_form(client_for(people["agent_creator"]), ticket.id, [("empty.pdf", b"")])
    assert page.status_code == 422 and "empty (0 bytes)" in page.get_data(as_text=True)
    assert stored_rows() == before


def test_size_limits(cast, api_for, client_for, app, monkeypatch):
    people, ticket = cast
    api = api_for(people["agent_creator"])
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_MB", 0.5)
    monkeypatch.setitem(app.config, "ATTACHMENT_TICKET_MAX_MB", 1)
    before = stored_rows()
    over = b"x" * (512 * 1024 + 1)
    response = api_upload(api, ticket.id, "big.txt", over)
    assert response.status_code == 422 and "larger than 0.5 MB" in response.json["message"]["file"][0]
    assert stored_rows() == before
    exactly = b"y" * (512 * 1024)
    assert api_upload(api, ticket.id, "half.txt", exactly).status_code == 201
    assert api_upload(api, ticket.id, "half-2.txt", exactly).status_code == 201
    third = api_upload(api, ticket.id, "one-more.txt", b"z\n")
    assert third.status_code == 422 and "at most 1 MB of files" in third.json["message"]["file"][0]
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 2


def test_too_many_files_at_once(cast, client_for):
    people, ticket = cast
    before = stored_rows()
    files = [(f"note-{n}.txt", b"pending\n") for n in range(11)]
    page = upload_form(client_for(people["agent_creator"]), ticket.id, files)
    assert page.status_code == 422 and "11 files were sent; at most 10" in page.get_data(as_text=True)
    assert stored_rows() == before
    assert upload_form(client_for(people["agent_creator"]), ticket.id, files[:10]).status_code == 302
    assert stored_rows()["Attachment"] == 10


def test_api_takes_one_file_and_needs_a_ticket(cast, api_for):
    people, ticket = cast
    api = api_for(people["agent_creator"])
    two = api.client.post("/api/v1/attachment/", headers=api.headers, content_type="multipart/form-data", data={
        "ticket": str(ticket.id), "file": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PDF), "b.pdf")]})
    assert two.status_code == 422 and "file" in two.json["message"]
    none = api.client.post("/api/v1/attachment/", headers=api.headers, content_type="multipart/form-data",
                           data={"ticket": str(ticket.id)})
    assert none.status_code == 422 and "file" in none.json["message"]
    for bad in ("", "abc", "-1", "1.5", str(2 ** 64)):
        response = api_upload(api, bad, "a.pdf", PDF)
        assert response.status_code == 422 and "ticket" in response.json["message"], bad
    as_json = api.post("/api/v1/attachment/", {"ticket": ticket.id})
    assert as_json.status_code == 400
    assert stored_rows()["Attachment"] == 0


def test_a_comment_of_another_ticket_is_refused(cast, make_ticket, api_for):
    people, ticket = cast
    other = make_ticket(people["agent_creator"], INTL, subject="Other", booking_id="OTH-0001")
    foreign = Comment(ticket=other, author=people["agent_creator"], body="elsewhere")
    own = Comment(ticket=ticket, author=people["agent_creator"], body="here")
    db.session.add_all([foreign, own])
    db.session.commit()
    api = api_for(people["agent_creator"])
    refused = api_upload(api, ticket.id, "a.pdf", PDF, comment=foreign.id)
    assert refused.status_code == 422 and "comment" in refused.json["message"]
    assert api_upload(api, ticket.id, "a.pdf", PDF, comment=999999).status_code == 422
    assert stored_rows()["Attachment"] == 0
    accepted = api_upload(api, ticket.id, "a.pdf", PDF, comment=own.id)
    assert accepted.status_code == 201 and accepted.json["result"]["comment"] == own.id
    with pytest.raises(AttachmentRefused) as refusal:
        service.add_attachment(ticket, people["agent_creator"], "b.pdf", PDF, comment=foreign)
    assert refusal.value.field == "comment"
    db.session.rollback()


def test_a_truncated_multipart_body_stores_nothing(cast, api_for, client_for):
    people, ticket = cast
    api = api_for(people["agent_creator"])
    boundary = "----deyor"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"ticket\"\r\n\r\n{ticket.id}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shot.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png_bytes()[:60]  # no end, no closing boundary
    response = api.client.post("/api/v1/attachment/", data=body, headers=api.headers,
                               content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (400, 422), response.status_code
    assert response.json["message"]
    page = client_for(people["agent_creator"]).post(
        f"/tickets/comment/{ticket.id}", data=body.replace(b'name="ticket"', b'name="body"'),
        content_type=f"multipart/form-data; boundary={boundary}")
    assert page.status_code in (400, 422)
    assert stored_rows()["Attachment"] == 0 and stored_rows()["Comment"] == 0


def test_a_body_over_the_limit_is_refused_from_its_length(cast, api_for, app):
    """The test client's body is never read: Content-Length alone decides."""
    people, ticket = cast
    api = api_for(people["agent_creator"])
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == (10 * 10 + 1) * 1024 * 1024

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            Endless.read_bytes += len(buffer)
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    response = api.client.post("/api/v1/attachment/", headers=api.headers,
                               content_type="multipart/form-data; boundary=x",
                               environ_overrides={"wsgi.input": Endless(), "CONTENT_LENGTH": str(2 ** 30)})
    assert response.status_code == 413 and "at most 101 MB" in response.json["message"]
    assert Endless.read_bytes == 0


def test_a_1_gb_upload_to_a_live_server_is_refused_unread(cast, live_server, token_for):
    """A real socket announces 1 GB and sends a few KB: the answer (413) comes at once."""
    people, ticket = cast
    address = urlsplit(live_server)
    boundary = "deyorboundary"
    head = (f"POST /api/v1/attachment/ HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {token_for(people['agent_creator'])}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {2 ** 30}\r\n\r\n")
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode() + f"--{boundary}\r\n".encode() + b"\0" * 8192)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = connection.recv(4096)
            if not piece:
                break
            answer += piece
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    assert stored_rows()["Attachment"] == 0


@pytest.mark.parametrize("side,words", [
    (8000, "is 8000 × 8000 pixels; at most 25 megapixels"),  # over our budget
    (20000, "too large once decoded"),  # over Pillow's own bomb limit too
])
def test_decompression_bomb_refused(cast, api_for, side, words):
    """A PNG that says side × side pixels in a few bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    people, ticket = cast
    response = api_upload(api_for(people["agent_creator"]), ticket.id, "bomb.png", bomb)
    assert response.status_code == 422
    assert words in response.json["message"]["file"][0]
    assert stored_rows()["Attachment"] == 0


def test_thumbnails_are_small_and_made_once(cast, api_for):
    people, ticket = cast
    big = png_bytes(size=(1600, 1200))
    response = api_upload(api_for(people["agent_creator"]), ticket.id, "screen.png", big)
    attachment_id = response.json["id"]
    data = db.session.scalar(select(AttachmentThumbnail.data).where(AttachmentThumbnail.attachment_id == attachment_id))
    thumb = Image.open(io.BytesIO(data))
    assert max(thumb.size) == 320 and thumb.size == (320, 240) and len(data) < 256 * 1024
    pdf = api_upload(api_for(people["agent_creator"]), ticket.id, "v.pdf", PDF).json
    assert pdf["result"]["has_thumbnail"] is False
    assert db.session.scalar(select(func.count()).select_from(AttachmentThumbnail)) == 1


# --- the service, for other callers (inbound email) ------------------------------------------------
def test_service_adds_to_the_session_without_committing(cast):
    people, ticket = cast

    class Pipe(io.RawIOBase):  # a stream that cannot seek, as a socket or a mail part's reader
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self.data.readinto(buffer)

    attachment = service.add_attachment(ticket, people["agent_creator"], "reply.eml", Pipe(EMAIL))
    assert attachment.id is not None and attachment.type == "message/rfc822" and attachment.sha256 == sha(EMAIL)
    db.session.rollback()  # the caller decides: rolled back, nothing stays
    assert stored_rows()["Attachment"] == 0 and stored_rows()["AttachmentChunk"] == 0
    with pytest.raises(AttachmentRefused) as refusal:
        service.add_attachment(ticket, people["agent_creator"], "page.html", HTML)
    assert "markup" in str(refusal.value) and refusal.value.field == "file"


# --- lifecycle -------------------------------------------------------------------------------------
def test_deleting_a_ticket_deletes_its_files(filed, api_for):
    people, ticket, attachment = filed
    service.add_attachment(ticket, people["agent_creator"], "voucher.pdf", PDF)
    db.session.commit()
    assert stored_rows()["AttachmentChunk"] == 2 and stored_rows()["AttachmentThumbnail"] == 1
    response = api_for(people["admin"]).delete(f"/api/v1/ticket/{ticket.id}")
    assert response.status_code == 200
    rows = stored_rows()
    assert rows["Attachment"] == rows["AttachmentChunk"] == rows["AttachmentThumbnail"] == 0


def test_a_comments_files_stay_with_the_ticket(filed):
    _people, ticket, attachment = filed
    db.session.execute(Comment.__table__.delete().where(Comment.id == attachment.comment_id))
    db.session.commit()
    kept = fresh(attachment)
    assert kept is not None and kept.comment_id is None and kept.ticket_id == ticket.id


def test_only_an_admin_deletes_a_file(filed, client_for):
    people, ticket, attachment = filed
    attachment_id = attachment.id
    for who in ("agent_creator", "lead_same_team"):
        refused = client_for(people[who]).post(f"/attachments/{attachment.id}/delete")
        assert refused.status_code in (302, 403) and "/login" not in refused.headers.get("Location", "")
        assert fresh(attachment) is not None
    assert client_for(people["agent_creator"]).get(f"/tickets/show/{ticket.id}").data.count(b"Delete file") == 0
    admin = client_for(people["admin"])
    assert admin.get(f"/tickets/show/{ticket.id}").data.count(b"Delete file") == 1
    assert admin.get(f"/attachments/{attachment.id}/delete").status_code == 405
    response = admin.post(f"/attachments/{attachment_id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tickets/show/{ticket.id}#attachments")
    db.session.expire_all()
    rows = stored_rows()
    assert rows["Attachment"] == rows["AttachmentChunk"] == rows["AttachmentThumbnail"] == 0
    deleted = db.session.scalars(select(TicketEvent).where(
        TicketEvent.field == "attachment", TicketEvent.old_value == "booking.png")).one()
    assert deleted.actor_id == people["admin"].id and deleted.new_value is None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "attachment_deleted")).one()
    assert audit.actor_id == people["admin"].id and audit.object_id == str(attachment_id)
    assert audit.details["ticket_id"] == ticket.id and audit.details["name"] == "booking.png"
    page = admin.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert "booking.png" in page  # in the history, no longer in the list
    assert f"/attachments/{attachment_id}/download" not in page
    assert admin.post(f"/attachments/{attachment_id}/delete").status_code == 404
