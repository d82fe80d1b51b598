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
