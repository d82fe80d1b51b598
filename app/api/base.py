"""What every REST API of ours shares: JSON bodies only, errors that name the field and
never expose internals, capped pages, and row-scoped relation choices in `_info`."""
from __future__ import annotations

import logging
from typing import Any

import prison
from flask import request
from flask_appbuilder.api import ModelRestApi
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from .fields import RelatedId

log = logging.getLogger(__name__)
CONFLICT = "This item was changed by someone else meanwhile; reload it and apply your change again."


class ApiError(Exception):
    def __init__(self, status: int, message: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DomainApi(ModelRestApi):
    allow_browser_login = False  # Bearer tokens only: no cookie-authorised cross-site writes
    max_page_size = 100
    page_size = 25

    # --- helpers for subclasses -----------------------------------------------------
    @staticmethod
    def json_body() -> dict:
        body = request.get_json(silent=True) if request.is_json else None
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object.")
        return body

    @staticmethod
    def load(schema, body: dict, **kwargs) -> dict:
        try:
            return schema.load(body, **kwargs)
        except ValidationError as err:
            raise ApiError(422, err.messages) from err

    def commit(self) -> None:
        session = self.datamodel.session
        try:
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise ApiError(409, CONFLICT) from exc
        except SQLAlchemyError as exc:
            session.rollback()
            log.exception("API write failed")
            raise ApiError(422, "The change could not be saved.") from exc

    def handle(self, action) -> Any:
        try:
            return action()
        except ApiError as err:
            self.datamodel.session.rollback()
            return self.response(err.status, message=err.message)

    # --- a `q` that is rison but not an object, or that crashes the rison parser itself
    # (`1e 5` raises ValueError, which FAB does not catch), would answer 500 ------------
    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(self._refuse_non_object_q)
        return blueprint

    def _refuse_non_object_q(self):
        raw = request.args.get("q")
        if raw is None:
            return None
        try:
            value = prison.loads(raw)
        except prison.decoder.ParserException:  # FAB answers these itself (400), or reads JSON
            return None
        except Exception:
            return self.response_400(message="Not a valid rison argument")
        if not isinstance(value, dict):
            return self.response_400(message="q must be a rison object, e.g. (page:0,page_size:25)")
        return None

    # --- FAB's delete, without database text in the answer ---------------------------------
    def delete_headless(self, pk):
        def delete():
            item = self.datamodel.get(pk, self._base_filters)
            if item is None:
                return self.response_404()
            self.datamodel.session.delete(item)
            self.commit()
            return self.response(200, message="OK")

        return self.handle(delete)

    # --- relation choices in _info: our RelatedId fields, scoped ------------------------
    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        related = field.inner if hasattr(field, "inner") else field
        if isinstance(related, RelatedId):
            page, page_size = self._sanitize_page_args(page, page_size)
            rows = list(self.datamodel.session.scalars(
                related.choices().order_by(related.model.id).offset(page * page_size).limit(page_size)
            ))
            info["values"] = [{"id": row.id, "value": str(row)} for row in rows]
        return info
