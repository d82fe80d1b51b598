"""The proof a reply answers our email: a per-person, per-ticket token in the Reply-To address
(`escalations+<token>@domain`), an HMAC of both ids under the secret key.

20 base32 characters (100 bits): more than any online guessing gets through, short enough for
the local part of an address (64 characters at most), and lower case survives mail servers
that fold the case of addresses."""
from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

TOKEN_LENGTH = 20


def token_for(person_id: int, ticket_id: int, secret: str | None = None) -> str:
    key = (secret or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"inbound-reply:{person_id}:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:TOKEN_LENGTH]


def mailbox_address() -> str:
    """INBOUND_ADDRESS when the mailbox is configured (IMAP_HOST), else ""."""
    config = current_app.config
    if not config.get("IMAP_HOST"):
        return ""
    return (config.get("INBOUND_ADDRESS") or "").strip()


def reply_address(person_id: int | None, ticket_id: int | None) -> str:
    """The Reply-To for an email: the mailbox with the token when it goes to one person about one
    ticket, the bare mailbox otherwise; "" when no mailbox is read."""
    address = mailbox_address()
    if not address or "@" not in address:
        return ""
    if person_id is None or ticket_id is None:
        return address
    local, domain = address.rsplit("@", 1)
    local = local.split("+", 1)[0]
    return f"{local}+{token_for(person_id, ticket_id)}@{domain}"


def tags_in(addresses: list[str]) -> list[str]:
    """The `+tag` parts of those addresses that are the mailbox's own."""
    mailbox = mailbox_address().lower()
    if "@" not in mailbox:
        return []
    local, domain = mailbox.rsplit("@", 1)
    local = local.split("+", 1)[0]
    tags = []
    for address in addresses:
        address = address.lower()
        if "@" not in address:
            continue
        their_local, their_domain = address.rsplit("@", 1)
        base, _, tag = their_local.partition("+")
        if tag and base == local and their_domain == domain:
            tags.append(tag)
    return tags


def carries_token(addresses: list[str], person_id: int, ticket_id: int) -> bool:
    expected = token_for(person_id, ticket_id)
    return any(hmac.compare_digest(tag, expected) for tag in tags_in(addresses))
