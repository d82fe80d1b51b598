"""One function per input rule, shared by forms and API schemas.

Each takes the raw value and returns the normalised one, or raises InvalidValue
with a message meant for the person who typed it.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

BOOKING_ID_RE = re.compile(r"^[A-Z0-9/-]{3,40}$")
PHONE_RE = re.compile(r"^\+?[0-9 ().-]{6,24}$")
MAX_EMAILS = 20
MAX_ASSIGNEES = 20  # people on one ticket, in forms and the API alike
MAX_CONTACT = 120  # the customer_contact column

# Internal domains (deyor.local, *.test) are fine for an internal tool, but
# email_validator refuses special-use names whatever the flags; its documented
# way to allow one is to take it off this list.
for _internal in ("local", "test"):
    if _internal in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_internal)


class InvalidValue(ValueError):
    """A user-facing validation message."""


# Line and paragraph separators break a line as surely as CR/LF does (and an email header with them).
_LINE_BREAKS = {"\u2028", "\u2029", "\x85"}
_TEXT_WHITESPACE = {"\n", "\r", "\t"}


def _is_control(char: str, multiline: bool) -> bool:
    if multiline and char in _TEXT_WHITESPACE:
        return False
    return unicodedata.category(char) == "Cc" or char in _LINE_BREAKS


def _reject_control_chars(value: str, label: str, multiline: bool = False) -> None:
    """A single-line field (subject, names, booking ID, contact) takes no control characters at
    all: a CR/LF in a subject makes every email of the ticket an invalid header. Multi-line text
    (description, comments, notes) keeps its line breaks and tabs, nothing else."""
    if any(_is_control(char, multiline) for char in value):
        if multiline:
            raise InvalidValue(_("%(label)s must not contain control characters.", label=label))
        raise InvalidValue(_("%(label)s must be one line of text, without control characters.", label=label))


def fold_control_chars(text: str) -> str:
    """`text` on one line: each run of control characters becomes one space (for rows stored
    before the rule above, or written by a script)."""
    return re.sub(r"\s*[\x00-\x1f\x7f\x85\u2028\u2029]+\s*", " ", text or "")


def normalize_booking_id(raw: Optional[str]) -> str:
    value = (raw or "").strip().upper()
    _reject_control_chars(value, _("Booking ID"))
    if not value:
        raise InvalidValue(_("Booking ID is required."))
    if not BOOKING_ID_RE.match(value):
        raise InvalidValue(_("Booking ID must be 3–40 characters: letters, digits, '-' or '/'."))
    return value


def normalize_email(raw: Optional[str]) -> str:
    value = (raw or "").strip()
    try:
        # Internal domains (deyor.local, *.test) are fine; a domain needs a dot.
        address = validate_email(value, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise InvalidValue(_("'%(value)s' is not a valid email address.", value=value)) from exc
    if "." not in address.domain:
        raise InvalidValue(_("'%(value)s' is not a valid email address.", value=value))
    return address.normalized


def normalize_email_list(raw: Optional[str]) -> str:
    """Addresses separated by commas, semicolons or line breaks; each validated, duplicates (any
    case) dropped."""
    value = re.sub(r"[;\r\n]", ",", raw or "")
    _reject_control_chars(value, _("Emails"))
    seen: dict[str, str] = {}
    for part in value.split(","):
        if part.strip():
            address = normalize_email(part)
            seen.setdefault(address.lower(), address)
    if len(seen) > MAX_EMAILS:
        raise InvalidValue(_("At most %(count)d addresses.", count=MAX_EMAILS))
    return ", ".join(seen.values())


def split_email_list(value: Optional[str]) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def normalize_customer_contact(raw: Optional[str]) -> str:
    value = (raw or "").strip()
    _reject_control_chars(value, _("Customer contact"))
    if not value:
        return ""
    if len(value) > MAX_CONTACT:
        raise InvalidValue(_("%(label)s must be at most %(max)d characters.", label=_("Customer contact"), max=MAX_CONTACT))
    if "@" in value:
        return normalize_email(value)
    digits = sum(ch.isdigit() for ch in value)
    if PHONE_RE.match(value) and 6 <= digits <= 15:
        return value
    raise InvalidValue(_("Customer contact must be an email address or a phone number."))


def normalize_phone(raw: Optional[str]) -> str:
    value = (raw or "").strip()
    if value and not (PHONE_RE.match(value) and 6 <= sum(c.isdigit() for c in value) <= 15):
        raise InvalidValue(_("Phone must be a phone number (digits, spaces, + - ( ) .)."))
    return value


def normalize_text(
    raw: Optional[str], *, label: str, required: bool, max_length: int, multiline: bool = False
) -> str:
    """Trimmed text of at most `max_length` characters; one line unless `multiline`."""
    value = (raw or "").strip()
    _reject_control_chars(value, label, multiline)
    if required and not value:
        raise InvalidValue(_("%(label)s is required.", label=label))
    if len(value) > max_length:
        raise InvalidValue(_("%(label)s must be at most %(max)d characters.", label=label, max=max_length))
    return value
