"""A file's name as uploaded: refused when it cannot be a plain file name, else cleaned for display."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask_babel import gettext as _

from ..models.attachment import MAX_NAME
from .errors import AttachmentRefused

# Characters that change how the rest of a name reads (right-to-left override: "gnp.exe" that
# shows as "exe.png") or are invisible: dropped.
_FORMAT_CHARS = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_name(raw) -> str:
    """The name to store and show. Refused: no name, a path (a / or \\ in it), a NUL character,
    more than MAX_NAME characters, or only dots. Other control characters become spaces."""
    name = raw if isinstance(raw, str) else ""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise AttachmentRefused(_("A file has no name: give it one and send it again."))
    if "\x00" in name:
        raise AttachmentRefused(_("A file name must not contain a NUL character."))
    if "/" in name or "\\" in name:
        raise AttachmentRefused(_(
            "“%(name)s” is a path, not a file name: send the file with its name alone (no / or \\).",
            name=name[:80]))
    if len(name) > MAX_NAME:
        raise AttachmentRefused(_(
            "A file name is %(length)s characters long; at most %(max)s are accepted: shorten it.",
            length=len(name), max=MAX_NAME))
    name = _FORMAT_CHARS.sub("", name)
    name = re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", " ", name)).strip()
    if not name.strip("."):
        raise AttachmentRefused(_("A file has no name: give it one and send it again."))
    return name


def content_disposition(kind: str, name: str) -> str:
    """`attachment` or `inline` with the name as an ASCII fallback and in full (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'["\\\x00-\x1f\x7f;]', "_", ascii_name).strip() or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
