"""One function per input rule, shared by forms and API schemas.

Each takes the raw value and returns the normalised one, or raises InvalidValue
with a message meant for the person who typed it.
"""
from __future__ import annotations

import re
from typing import Optional

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

BOOKING_ID_RE = re.compile(r"^[A-Z0-9/-]{3,40}$")
PHONE_RE = re.compile(r"^\+?[0-9 ().-]{6,24}$")
MAX_EMAILS = 20
MAX_CONTACT = 120  # the customer_contact column

# Internal domains (deyor.local, *.test) are fine for an internal tool, but
# email_validator refuses special-use names whatever the flags; its documented
# way to allow one is to take it off this list.
for _internal in ("local", "test"):
    if _internal in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_internal)


class InvalidValue(ValueError):
    """A user-facing validation message."""


def _reject_control_chars(value: str) -> None:
    if "\x00" in value:
        raise InvalidValue(_("Must not contain NUL characters."))


def normalize_booking_id(raw: Optional[str]) -> str:
    value = (raw or "").strip().upper()
    _reject_control_chars(value)
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
    """Comma-separated addresses; each validated, duplicates (any case) dropped."""
    value = (raw or "").replace(";", ",")
    _reject_control_chars(value)
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
    _reject_control_chars(value)
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


def normalize_text(raw: Optional[str], *, label: str, required: bool, max_length: int) -> str:
    value = (raw or "").strip()
    _reject_control_chars(value)
    if required and not value:
        raise InvalidValue(_("%(label)s is required.", label=label))
    if len(value) > max_length:
        raise InvalidValue(_("%(label)s must be at most %(max)d characters.", label=label, max=max_length))
    return value
