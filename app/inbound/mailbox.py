"""The IMAP side: connect as configured (never falling back to plain text), list every message
by UID (not by the UNSEEN flag: a message someone opened in a mail client is still read), fetch
one, move it to the Processed folder (created when missing)."""
from __future__ import annotations

import logging
import ssl
from typing import Mapping

from imapclient import IMAPClient

log = logging.getLogger(__name__)

SECURITY_MODES = ("ssl", "starttls", "none")


class MailboxConfigError(ValueError):
    """IMAP_* settings that cannot work (an unknown IMAP_SECURITY)."""


class Mailbox:
    """One IMAP session on IMAP_FOLDER. Use as a context manager."""

    def __init__(self, config: Mapping) -> None:
        self.config = config
        self.folder = config["IMAP_FOLDER"]
        self.processed = config["IMAP_PROCESSED_FOLDER"]
        self.client: IMAPClient | None = None
        self._processed_ready = False

    def __enter__(self) -> "Mailbox":
        self.client = connect(self.config)
        self.client.select_folder(self.folder)
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except Exception:  # the server went away: nothing to close politely
                log.debug("IMAP logout failed", exc_info=True)
            self.client = None

    def uids(self) -> list[int]:
        return sorted(self.client.search(["ALL"]))

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        fetched = self.client.fetch(uids, ["RFC822.SIZE"])
        return {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in fetched.items()}

    def fetch(self, uid: int, header_only: bool = False) -> bytes | None:
        """The message (PEEK: its \\Seen flag stays as it is); None when it has gone meanwhile."""
        item = b"BODY[HEADER]" if header_only else b"BODY[]"
        fetched = self.client.fetch([uid], ["BODY.PEEK[HEADER]" if header_only else "BODY.PEEK[]"])
        data = fetched.get(uid)
        return None if data is None else data.get(item)

    def _ensure_processed(self) -> None:
        if not self._processed_ready:
            if not self.client.folder_exists(self.processed):
                self.client.create_folder(self.processed)
                log.info("IMAP: created folder %s", self.processed)
            self._processed_ready = True

    def move(self, uid: int) -> None:
        """To the Processed folder: MOVE when the server has it, else COPY, flag, expunge."""
        self._ensure_processed()
        if self.client.has_capability("MOVE"):
            self.client.move([uid], self.processed)
            return
        self.client.copy([uid], self.processed)
        self.client.delete_messages([uid])
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge([uid])
        else:
            self.client.expunge()


def connect(config: Mapping) -> IMAPClient:
    """Logged in as IMAP_USER. `ssl`: TLS from the first byte; `starttls`: the plain port
    upgraded, and an error when the server does not offer it; `none`: plain text, only when
    asked for by name."""
    security = (config["IMAP_SECURITY"] or "").lower()
    if security not in SECURITY_MODES:
        raise MailboxConfigError(f"IMAP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
    host, port, timeout = config["IMAP_HOST"], int(config["IMAP_PORT"]), config["IMAP_TIMEOUT"]
    context = ssl.create_default_context()
    if security == "ssl":
        client = IMAPClient(host, port=port, ssl=True, ssl_context=context, timeout=timeout)
    else:
        client = IMAPClient(host, port=port, ssl=False, timeout=timeout)
        if security == "starttls":
            try:
                client.starttls(context)  # raises when not offered: never carries on in plain text
            except Exception:
                client.shutdown()
                raise
    client.login(config["IMAP_USER"], config["IMAP_PASS"])
    return client
