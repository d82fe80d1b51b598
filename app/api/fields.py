"""Marshmallow fields that apply the domain's validation rules (the same as the forms')."""
from __future__ import annotations

from typing import Any, Callable, Optional

from flask import current_app
from marshmallow import ValidationError, fields
from sqlalchemy import select

from ..tickets.validation import InvalidValue


# Ids and numbers must fit a BIGINT: beyond it SQLite raises OverflowError, PostgreSQL an error.
INT64 = 2 ** 63


class DomainString(fields.String):
    """A string normalised and checked by a function of app/tickets/validation.py."""

    def __init__(self, rule: Callable[[Optional[str]], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.rule(text)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc


class RelatedIdList(fields.List):
    """A list of RelatedId: the same id given twice is the same row once (the link table's
    primary key would refuse the second one)."""

    def _deserialize(self, value, attr, data, **kwargs):
        rows = super()._deserialize(value, attr, data, **kwargs)
        unique = {}
        for row in rows:
            unique.setdefault(row.id, row)
        return list(unique.values())


class RelatedId(fields.Integer):
    """A relation given by the id of an existing row — never a nested object.

    `scope` narrows which rows may be chosen (e.g. active staff); an id outside it
    is answered exactly like an unknown id.
    """

    def __init__(self, model, label: str, scope: Optional[Callable] = None, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        self.model = model
        self.label = label
        self.scope = scope

    def choices(self):
        query = select(self.model)
        if self.scope is not None:
            query = query.where(self.scope())
        return query

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.id

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"Must be the id (an integer) of a {self.label}.")
        if not -INT64 <= value < INT64:  # beyond any id; the database would fail on it
            raise ValidationError(f"No {self.label} with id {value}.")
        query = self.choices().where(self.model.id == value)
        row = current_app.appbuilder.session.scalars(query).first()
        if row is None:
            raise ValidationError(f"No {self.label} with id {value}.")
        return row
