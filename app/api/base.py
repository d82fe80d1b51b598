"""What every REST API of ours shares: JSON bodies only, errors that name the field and
never expose internals, capped pages, row-scoped relation choices in `_info`, and (ContractApi)
an OpenAPI description that says what the server does."""
from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.exceptions import ApplyFilterException
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from ..limits import MAX_PAGE_SIZE
from .contract import ContractApi
from .fields import RelatedId

log = logging.getLogger(__name__)
CONFLICT = "This item was changed by someone else meanwhile; reload it and apply your change again."


class ApiError(Exception):
    def __init__(self, status: int, message: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NoDatabaseTextInErrors:
    """FAB's generic APIs answer a refused write with the database's own words (SQL, constraint
    names) as a 422 message string; field errors come as a dict. A string is logged here and
    the client reads a plain sentence."""

    REFUSED = "The change could not be saved: it conflicts with existing data."

    def response_422(self, message=None):
        if isinstance(message, str):
            log.info("Refused write on %s: %s", request.path, message)
            message = self.REFUSED
        return super().response_422(message=message)

    # FAB's generic writes re-raise the database's error, which its @safe turns into a 500.
    def _refused_by_the_database(self, write, *args):
        try:
            return write(*args)
        except SQLAlchemyError:
            self.datamodel.session.rollback()
            log.info("Refused write on %s", request.path, exc_info=True)
            return self.response_422(message=self.REFUSED)

    def post_headless(self):
        return self._refused_by_the_database(super().post_headless)

    def put_headless(self, pk):
        return self._refused_by_the_database(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._refused_by_the_database(super().delete_headless, pk)


class DomainApi(NoDatabaseTextInErrors, ContractApi, ModelRestApi):
    max_page_size = MAX_PAGE_SIZE
    page_size = 25

    # --- what a create or an update answers: the row as GET shows it ---------------------------
    def result(self, item) -> dict:
        return self.show_model_schema.dump(item)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for method, operation in operations.items():
            if method in ("post", "put"):
                for response in operation.get("responses", {}).values():
                    properties = response.get("content", {}).get("application/json", {}).get("schema", {}).get(
                        "properties", {})
                    if "result" in properties:
                        properties["result"] = {"$ref": f"#/components/schemas/{self.show_model_schema_name}"}

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
        except StaleDataError:  # a flush before the commit met a newer version
            self.datamodel.session.rollback()
            return self.response(409, message=CONFLICT)

    # --- a filter value that does not fit its column (text for a date, a list for an id…)
    # makes the database or FAB's filter raise: that is the client's mistake, not a 500 ----
    def get_list_headless(self, **kwargs):
        try:
            return super().get_list_headless(**kwargs)
        except (ApplyFilterException, SQLAlchemyError, ValueError, TypeError, AttributeError, OverflowError):
            self.datamodel.session.rollback()
            log.info("Refused a list query with a filter value of the wrong type", exc_info=True)
            return self.response_400(message="A filter value does not fit its column.")

    # --- FAB's delete, without database text in the answer ---------------------------------
    def check_delete(self, item) -> None:
        """A subclass's rule for who may delete this row (raise ApiError)."""

    def delete_headless(self, pk):
        def delete():
            item = self.datamodel.get(pk, self._base_filters)
            if item is None:
                return self.response_404()
            self.check_delete(item)
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

