"""Adapters from the domain's validation functions to WTForms validators."""
from __future__ import annotations

from typing import Callable

from wtforms.validators import StopValidation

from .tickets.validation import InvalidValue


def rule(normalize: Callable[[str], str]):
    """A WTForms validator that runs a domain rule and stores its normalised value.

    A refusal stops the field's other validators (FAB's generic length/required
    checks), so the person reads one message that names the field.
    """

    def validator(form, field) -> None:
        try:
            field.data = normalize(field.data)
        except InvalidValue as exc:
            raise StopValidation(str(exc)) from exc

    return validator
