"""From raw bytes to what a comment needs: the headers that matter, the reply without quotes
and signature, the whole text, the attached files; and whether it is an automatic message.

Pure functions: no database, no Flask."""
from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses

import html2text
import nh3
from mailparser_reply import EmailReplyParser

# The line outgoing emails carry above their text (app/notifications/sender.py): whatever a
# reply quotes from there down is ours. Language-independent on purpose.
REPLY_MARKER = "##- Reply above this line to add a comment -##"
_MARKER = re.compile(r"^[>\s]*##-.*-##\s*$", re.MULTILINE)
_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
_RULE = re.compile(r"^\s*(\* \* \*|[-_=*]{3,})\s*$")
MAX_TEXT = 200_000  # characters of text kept from one message (the original shown on request)


class Malformed(ValueError):
    """The message cannot be read as email at all."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str
    sender: str  # the From address, lower case ("" when not exactly one)
    sender_header: str
    subject: str
    in_reply_to: list[str]
    references: list[str]
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To addresses, lower case
    automatic: str | None  # why it is an auto-reply or bounce, else None
    text: str  # the whole text (plain part, or the HTML part rendered as text)
    reply: str  # the new text only: no quotes, no signature
    attachments: list[Attachment] = field(default_factory=list)


def one_line(value: object, limit: int) -> str:
    """A header as one line of printable text (CR/LF tricks folded away), cut to `limit`."""
    return _CONTROL.sub(" ", str(value or "")).strip()[:limit]


def clean_text(value: str) -> str:
    """Text fit for a comment: one kind of line end, no control characters (PostgreSQL refuses
    NUL in text), tabs and newlines kept."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_MULTILINE.sub("", text).strip()


def message_ids(value: object) -> list[str]:
    return _MSGID.findall(str(value or ""))


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a header the parser cannot decode: treated as absent
        return ""


def automatic_reason(message: EmailMessage, sender: str) -> str | None:
    """Auto-replies, bounces and list mail: RFC 3834, Microsoft's and the common conventions."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _header(message, name).strip():
            return name
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if _header(message, "List-Id").strip():
        return "List-Id"
    local = sender.split("@", 1)[0]
    if local in {"mailer-daemon", "postmaster"}:
        return f"sender {local}"
    if message.get_content_type() == "multipart/report":
        return "multipart/report"
    return None


def _text_of(message: EmailMessage) -> str:
    """The plain text part when there is one, else the HTML part sanitised and rendered."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError, AssertionError):  # an unknown charset: bytes as UTF-8
            content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
        if kind == "text/plain" and plain is None:
            plain = content
        elif kind == "text/html" and html is None:
            html = content
    if plain is not None and plain.strip():
        return plain
    return html_to_text(html) if html else ""


def html_to_text(html: str) -> str:
    """Sanitise (nh3: no script, style or event handler survives) then render as plain text."""
    clean = nh3.clean(html)
    renderer = html2text.HTML2Text(bodywidth=0)
    renderer.ignore_images = True
    renderer.ignore_emphasis = True
    renderer.ignore_links = False
    renderer.inline_links = False
    renderer.skip_internal_links = True
    text = "\n".join(line.rstrip() for line in renderer.handle(clean).splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip()


def strip_reply(text: str) -> str:
    """The new text: cut at our marker line, then quotes and signature removed by the reply
    parser (Gmail's "On … wrote:", Outlook's "From: … Sent: …" block, "> " quotes, "-- ")."""
    text = text.replace("\r\n", "\n")
    marker = _MARKER.search(text)
    if marker:
        text = text[: marker.start()]
    parsed = EmailReplyParser(languages=["en", "de", "fr", "es"]).read(text)
    reply = parsed.replies[0].body if parsed.replies else text
    # A quoted block the parser kept (a client that quotes without a header line).
    lines = [line for line in reply.split("\n") if not line.lstrip().startswith(">")]
    while lines and (not lines[-1].strip() or _RULE.match(lines[-1])):  # the rule above a quote
        lines.pop()
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if not filename and disposition != "attachment":
            continue
        if part.get_content_maintype() == "text" and not filename:
            continue
        data = part.get_payload(decode=True) or b""
        found.append(Attachment(one_line(filename or "attachment", 200), part.get_content_type(), data))
    return found


def synthetic_message_id(raw: bytes) -> str:
    """A message without a Message-ID still gets one, the same each time it is read."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@inbound.invalid>"


def parse(raw: bytes) -> ParsedMessage:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the stdlib parser is lenient; anything it raises is malformed
        raise Malformed(str(exc)[:200]) from exc
    ids = message_ids(_header(message, "Message-ID"))
    message_id = ids[0] if ids else synthetic_message_id(raw)
    from_header = one_line(_header(message, "From"), 320)
    senders = [address for _, address in getaddresses([from_header]) if address]
    sender = senders[0].strip().lower() if len(senders) == 1 else ""
    recipients = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        values = [_header(message, name)] if message.get(name) else []
        recipients += [address.strip().lower() for _, address in getaddresses(values) if address]
    try:
        text = _text_of(message)[:MAX_TEXT]
        attachments = _attachments(message)
    except Exception as exc:
        raise Malformed(f"{type(exc).__name__}: {exc}"[:200]) from exc
    return ParsedMessage(
        message_id=one_line(message_id, 255),
        sender=sender,
        sender_header=from_header,
        subject=one_line(_header(message, "Subject"), 400),
        in_reply_to=message_ids(_header(message, "In-Reply-To")),
        references=message_ids(_header(message, "References")),
        recipients=recipients,
        automatic=automatic_reason(message, sender),
        text=text.strip(),
        reply=strip_reply(text),
        attachments=attachments,
    )
