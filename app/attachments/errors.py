"""The one error of this package: a file refused, with a message for the person who sent it."""
from __future__ import annotations


class AttachmentRefused(ValueError):
    """Raised before anything is stored; `field` names the input at fault (`file`, `comment`,
    `ticket`) for an API's per-field errors."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
