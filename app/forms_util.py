"""Adapters from the domain's validation functions to WTForms validators."""
from __future__ import annotations

from typing import Callable

from wtforms.validators import ValidationError

from .tickets.validation import InvalidValue


def rule(normalize: Callable[[str], str]):
    """A WTForms validator that runs a domain rule and stores its normalised value."""

    def validator(form, field) -> None:
        try:
            field.data = normalize(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    return validator
