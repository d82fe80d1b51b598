"""Marshmallow fields that apply the domain's validation rules (the same as the forms')."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Optional

from flask import current_app
from marshmallow import ValidationError, fields
from sqlalchemy import or_, select

from ..limits import INT64
from ..tickets.validation import InvalidValue


def parse_utc(text: Any) -> datetime:
    """An ISO 8601 time with an offset (`Z`, `+05:30`) or without one (then it is UTC), as the
    naive UTC the database stores. ValueError or TypeError when it is not one."""
    if not isinstance(text, str):
        raise TypeError("not a string")
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class UtcDateTime(fields.DateTime):
    """A time in UTC with its offset (RFC 3339, `2026-12-03T07:53:01.329547+00:00`): stored naive
    UTC, so a naive value is UTC. Read with or without an offset (without: UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return aware.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_utc(value)
        except (TypeError, ValueError) as exc:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from exc


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
    """A list of RelatedId, at most `max_length` of them, resolved in one query. The same id given
    twice is the same row once (the link table's primary key would refuse the second one)."""

    def __init__(self, inner: "RelatedId", max_length: int, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (list, tuple)):
            raise ValidationError("Must be a list of ids.")
        ids = list(dict.fromkeys(self.inner.check_id(item) for item in value))
        if len(ids) > self.max_length:
            raise ValidationError(f"At most {self.max_length} ids.")
        return self.inner.rows(ids)


class RelatedId(fields.Integer):
    """A relation given by the id of an existing row — never a nested object.

    `scope` narrows which rows may be chosen (e.g. active staff); an id outside it
    is answered exactly like an unknown id.
    """

    def __init__(
        self, model, label: str, scope: Optional[Callable] = None, keep: Optional[Callable] = None, **kwargs: Any
    ) -> None:
        super().__init__(strict=True, **kwargs)
        self.model = model
        self.label = label
        self.scope = scope
        # keep(schema) -> ids outside the scope that a request may send back unchanged (a PUT
        # repeating a ticket's assignee who has since been deactivated).
        self.keep = keep

    def choices(self):
        query = select(self.model)
        if self.scope is not None:
            query = query.where(self.scope())
        return query

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.id

    def check_id(self, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"Must be the id (an integer) of a {self.label}.")
        if not -INT64 <= value < INT64:  # beyond any id; the database would fail on it
            raise ValidationError(f"No {self.label} with id {value}.")
        return value

    def rows(self, ids: list[int]) -> list:
        """The rows of `ids` in their order, in one query; an id outside the choices is refused."""
        if not ids:
            return []
        query = select(self.model).where(self.model.id.in_(ids))
        if self.scope is not None:
            kept = self.keep(self.root) if self.keep is not None else []
            query = query.where(or_(self.scope(), self.model.id.in_(kept)) if kept else self.scope())
        found = {row.id: row for row in current_app.appbuilder.session.scalars(query)}
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise ValidationError(f"No {self.label} with id {missing[0]}.")
        return [found[pk] for pk in ids]

    def _deserialize(self, value, attr, data, **kwargs):
        return self.rows([self.check_id(value)])[0]
