"""What a file is, from its content: the one decision of which type it is stored and served as.

Binary formats by their signature (puremagic, pure Python), confirmed by opening them (images
by Pillow in app/attachments/images.py, Word and Excel by their zip structure); text by being
text that is not markup. The name's extension must agree with what the content is: HTML
named `photo.png` is refused, not stored as "text". HTML and SVG are never accepted, under
any name, as they would run script if ever shown by a browser.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import BinaryIO, Optional

import puremagic
from flask_babel import gettext as _

from .errors import AttachmentRefused

PNG, JPEG, GIF, WEBP = "image/png", "image/jpeg", "image/gif", "image/webp"
PDF = "application/pdf"
TEXT, CSV = "text/plain", "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EML = "message/rfc822"

# The accepted types, the extensions a name may carry for each (none at all is fine too) and
# their name for people.
EXTENSIONS = {
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg", ".jfif", ".jpe"),
    GIF: (".gif",),
    WEBP: (".webp",),
    PDF: (".pdf",),
    TEXT: (".txt", ".text", ".log"),
    CSV: (".csv",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    EML: (".eml",),
}
ACCEPTED = tuple(EXTENSIONS)
IMAGES = (PNG, JPEG, GIF, WEBP)
HEAD_BYTES = 64 * 1024  # what text and email checks read
MAX_ZIP_ENTRIES = 5000
MAX_CONTENT_TYPES_XML = 256 * 1024


def type_label(content_type: str) -> str:
    return {
        PNG: _("PNG image"), JPEG: _("JPEG image"), GIF: _("GIF image"), WEBP: _("WebP image"),
        PDF: _("PDF document"), TEXT: _("plain text"), CSV: _("CSV file"), DOCX: _("Word document"),
        XLSX: _("Excel workbook"), EML: _("email message"),
    }.get(content_type, content_type)


def accepted_types_sentence() -> str:
    return _("Accepted: images (PNG, JPEG, GIF, WebP), PDF, plain text, CSV, Word (.docx), Excel (.xlsx) "
             "and emails (.eml).")


def extension_of(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


# --- binary signatures --------------------------------------------------------------------
_MAGIC_TYPES = {"image/png": PNG, "image/jpeg": JPEG, "image/gif": GIF, "image/webp": WEBP,
                "application/pdf": PDF}


def _signature(head: bytes) -> Optional[str]:
    """PNG, JPEG, GIF, WebP, PDF, "zip", or None, from the first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    try:
        matches = puremagic.magic_string(head[:4096])
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:  # best first
        # An offset-0 signature only: a signature found deep inside text proves nothing.
        found = _MAGIC_TYPES.get(match.mime_type)
        if found and match.offset == 0:
            return found
    return None


def _office_type(stream: BinaryIO) -> Optional[str]:
    """DOCX or XLSX when the zip holds that package's parts (and no macros), else None."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                return None
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names:
                return None
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > MAX_CONTENT_TYPES_XML:
                return None
            content_types = archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError, RuntimeError,
            NotImplementedError, EOFError):
        return None
    if "macroEnabled" in content_types or any(name.lower().endswith("vbaproject.bin") for name in names):
        return None
    if "word/document.xml" in names and "wordprocessingml.document.main+xml" in content_types:
        return DOCX
    if "xl/workbook.xml" in names and "spreadsheetml.sheet.main+xml" in content_types:
        return XLSX
    return None


# --- text -----------------------------------------------------------------------------------
# Markup a browser would render or run: refused as text whatever the name.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|link|style|xml|\?xml|math|img|a\s|"
    rb"form|frameset|frame|base|template|div|span|table|p\s*>)",
    re.IGNORECASE,
)
_STARTS_WITH_TAG = re.compile(rb"^\s*<[!?a-zA-Z/]")
# A text file holds no control character (C0, DEL) but tab, line feed, form feed and carriage return.
_NOT_CONTROL = bytes(range(256)).translate(None, bytes([*range(32), 127]))
_TEXT_CONTROLS = bytes([9, 10, 12, 13])


def _is_text(stream: BinaryIO) -> bool:
    """Whether the whole file is text: UTF-8 (a BOM allowed) or else Windows-1252, with no NUL and
    no control characters beyond tab, line breaks and form feed."""
    stream.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    valid = {utf8: True, cp1252: True}
    first = True
    while chunk := stream.read(HEAD_BYTES):
        if first and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8):]
        first = False
        if chunk.translate(None, _NOT_CONTROL).translate(None, _TEXT_CONTROLS):
            return False
        for decoder in (utf8, cp1252):
            if valid[decoder]:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid[decoder] = False
        if not any(valid.values()):
            return False
    return True


def _markup_anywhere(stream: BinaryIO) -> bool:
    """Markup in any part of the file (pieces overlap, so a tag cut between two is seen)."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    if _STARTS_WITH_TAG.match(head.lstrip(codecs.BOM_UTF8)):
        return True
    tail = b""
    chunk = head
    while chunk:
        if _MARKUP.search(tail + chunk):
            return True
        tail = chunk[-64:]
        chunk = stream.read(HEAD_BYTES)
    return False


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_EMAIL_HEADERS = {"from", "to", "date", "subject", "message-id", "received", "return-path", "mime-version",
                  "delivered-to", "reply-to", "cc", "content-type"}


def _is_email(head: bytes) -> bool:
    """An RFC 5322 message: it opens with header lines (an mbox "From " line allowed), among
    them From and at least one of Date, Subject, Message-ID."""
    if head.startswith(b"From ") and b"\n" in head:
        head = head.split(b"\n", 1)[1]
    if not _HEADER_LINE.match(head):
        return False
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    if headers.defects and not headers.keys():
        return False
    keys = {key.lower() for key in headers.keys()}
    return "from" in keys and bool(keys & {"date", "subject", "message-id"}) and len(keys & _EMAIL_HEADERS) >= 2


# --- the decision ----------------------------------------------------------------------------
def detect(stream: BinaryIO, name: str) -> str:
    """The accepted type of `stream`'s content (a seekable file) named `name`,
    or AttachmentRefused with a message naming the file and the problem."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    extension = extension_of(name)
    found = _signature(head)
    if found == "zip":
        found = _office_type(stream)
        if found is None:
            raise AttachmentRefused(_(
                "“%(name)s” is a zip archive that is not a Word (.docx) or Excel (.xlsx) file, or one with "
                "macros: not accepted. %(accepted)s", name=name, accepted=accepted_types_sentence()))
    elif found is None:
        found = _text_type(stream, head, extension, name)
    allowed = EXTENSIONS[found]
    if extension and extension not in allowed:
        raise AttachmentRefused(_(
            "“%(name)s” is named as %(extension)s but its content is %(kind)s: refused. Rename it with the right "
            "extension (%(allowed)s) if that is what it is.",
            name=name, extension=extension, kind=type_label(found), allowed=", ".join(allowed)))
    stream.seek(0)
    return found


def _text_type(stream: BinaryIO, head: bytes, extension: str, name: str) -> str:
    if not _is_text(stream):
        raise AttachmentRefused(_(
            "“%(name)s” is not a type of file accepted here. %(accepted)s", name=name,
            accepted=accepted_types_sentence()))
    if extension == ".eml" or (not extension and _is_email(head)):
        if _is_email(head):
            return EML
        raise AttachmentRefused(_("“%(name)s” is named as an email (.eml) but is not one.", name=name))
    if _markup_anywhere(stream):
        raise AttachmentRefused(_(
            "“%(name)s” holds HTML, SVG or other markup, which is never accepted (a browser could run "
            "script in it). Send it as a PDF or a screenshot instead.", name=name))
    return CSV if extension == ".csv" else TEXT
