"""What every API we serve shares with its OpenAPI description, so that the document says what
the server does and a generated client can use it: FAB's own security APIs, our resources and
any resource added later get it by inheriting `ContractApi`.

- Response schemas as the answers really are (`ResponseSchemaConverter`): every dumped key is
  required, a to-many relation is an array, a relation that may be empty is nullable, times are
  UTC with an offset.
- One route per id for every method (`/<int:pk>`): a GET, PUT or DELETE of `/abc` is 404 alike.
- `q` is read exactly (a JSON object as it was sent, or its rison form), checked against the
  per-operation schema the document publishes (unknown keys are refused by name), and times in
  its filters are read with or without an offset.
- Error answers documented with their real shapes; only the schemas of served routes; the one
  security scheme the server accepts (a Bearer JWT).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

import jsonschema
import prison
from apispec import APISpec
from apispec.exceptions import DuplicateComponentNameError
from flask import request
from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.hooks import get_before_request_hooks, wrap_route_handler_with_hooks
from marshmallow import fields
from werkzeug.datastructures import ImmutableMultiDict

from ..limits import INT64, MAX_PAGE
from .fields import UtcDateTime, parse_utc

# --- error answers ------------------------------------------------------------------------------
_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
_MESSAGE_OR_FIELDS = {
    "type": "object",
    "properties": {"message": {
        "description": "A sentence, or per field (or item) the list of what is wrong with it",
        "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}],
    }},
    "required": ["message"],
}


def _response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_RESPONSES = {
    "400": _response("Bad request: a malformed body or query argument", _MESSAGE_OR_FIELDS),
    "401": _response("No valid token", _MESSAGE),
    "403": _response("Not permitted to the caller's roles", _MESSAGE),
    "404": _response("No such item, or one the caller may not see", _MESSAGE),
    "409": _response("Changed by someone else meanwhile: reload and apply the change again", _MESSAGE),
    "422": _response("Invalid input: a message, or the errors of each field", _MESSAGE_OR_FIELDS),
    "429": _response("Too many attempts: wait for Retry-After seconds", _MESSAGE),
    "500": _response("Something went wrong; it has been logged", _MESSAGE),
}
_REF = "#/components/responses/"

# --- `q`: what each read operation accepts --------------------------------------------------------
_FILTER_VALUE = {"anyOf": [
    {"type": "number"}, {"type": "string"}, {"type": "boolean"},
    {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]}},
]}
_PAGE = {"type": "integer", "minimum": 0, "maximum": MAX_PAGE}


def _keys(*names: str) -> dict:
    return {"type": "array", "items": {"type": "string", "enum": [*names, "none"]},
            "description": "Only these metadata keys in the answer (`none`: none of them)"}


def _columns_paging() -> dict:
    return {"type": "object", "additionalProperties": {
        "type": "object", "additionalProperties": False,
        "properties": {"page": _PAGE, "page_size": _PAGE},
    }}


class ResponseSchemaConverter(Model2SchemaConverter):
    """FAB's converter for the list and show schemas, made to describe the answers exactly."""

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if isinstance(field, fields.DateTime) and not isinstance(field, UtcDateTime):
            field = UtcDateTime(allow_none=field.allow_none, metadata=field.metadata)
        field.required = True  # a dumped row has every key (null where empty)
        return field

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        if nested and parent_schema_name:  # one schema name per relation: TicketApi.get.assignees.Person
            parent_schema_name = f"{parent_schema_name}.{column.name}"
        field = super()._column2relation(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if not isinstance(field, fields.Nested):
            return field
        # FAB nests a schema *instance* with many=True, which apispec documents as one object.
        if field.many:
            return fields.List(fields.Nested(field.nested))
        return fields.Nested(field.nested, allow_none=datamodel.is_nullable(column.name))


class ContractApi(BaseApi):
    """Mix in before FAB's API class: `class RoleApi(ContractApi, fab.RoleApi)`."""

    allow_browser_login = False  # Bearer tokens only: no cookie-authorised cross-site writes
    extra_responses: dict = {}  # {"post": {"404": "Not found"}} for a subclass's own answers

    # --- response schemas ---------------------------------------------------------------------
    def _init_model_schemas(self) -> None:
        converter = ResponseSchemaConverter(self.datamodel, self.validators_columns)
        if self.list_model_schema is None:
            self.list_model_schema = converter.convert(self.list_columns, parent_schema_name=self.list_model_schema_name)
        if self.show_model_schema is None:
            self.show_model_schema = converter.convert(self.show_columns, parent_schema_name=self.show_model_schema_name)
        super()._init_model_schemas()

    # --- routes ------------------------------------------------------------------------------
    def _served(self) -> list[tuple[str, Callable, str, Any]]:
        """(name, function, url, methods) of every route this API serves."""
        routes = []
        for name in dir(self):
            if self.include_route_methods is not None and name not in self.include_route_methods:
                continue
            if name in self.exclude_route_methods:
                continue
            attr = getattr(self, name)
            for url, methods in getattr(attr, "_urls", ()):
                routes.append((name, attr, url.replace("<pk>", "<int:pk>"), methods))
        return routes

    def _register_urls(self) -> None:
        # FAB routes GET at `/<int:pk>` but PUT and DELETE at `/<pk>`: one converter for all.
        hooks = get_before_request_hooks(self)
        for name, attr, url, methods in self._served():
            self.blueprint.add_url_rule(url, name, wrap_route_handler_with_hooks(name, attr, hooks), methods=methods)

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(self._read_q)
        return blueprint

    # --- q ---------------------------------------------------------------------------------------
    def q_schemas(self) -> dict[str, dict]:
        """The JSON Schema of `q` per route function that reads it (FAB's `@rison` routes)."""
        if not isinstance(self, ModelRestApi):
            return {}
        order_columns = list(self.order_columns or [])
        search_columns = list(self.search_columns or [])
        filters = {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["col", "opr", "value"],
            "properties": {
                "col": {"type": "string", **({"enum": search_columns} if search_columns else {})},
                "opr": {"type": "string", "description": "An operator this column offers (see `_info`)"},
                "value": _FILTER_VALUE,
            },
        }}
        return {
            "get_list": {"type": "object", "additionalProperties": False, "properties": {
                "filters": filters,
                "order_column": {"type": "string", **({"enum": order_columns} if order_columns else {})},
                "order_direction": {"type": "string", "enum": ["asc", "desc"]},
                "page": _PAGE,
                "page_size": {**_PAGE, "description": f"At most {self.max_page_size} rows are returned"},
                "keys": _keys("list_columns", "order_columns", "label_columns", "description_columns",
                              "list_title"),
            }},
            "get": {"type": "object", "additionalProperties": False, "properties": {
                "keys": _keys("show_columns", "description_columns", "label_columns", "show_title"),
            }},
            "info": {"type": "object", "additionalProperties": False, "properties": {
                "keys": _keys("add_columns", "edit_columns", "filters", "permissions", "add_title", "edit_title"),
                "add_columns": _columns_paging(),
                "edit_columns": _columns_paging(),
            }},
        }

    def q_schema_name(self, function: str) -> str:
        return f"{self.__class__.__name__}.{function}.q"

    def _read_q(self):
        """Parse `q` once, exactly; refuse what its schema refuses; hand FAB the same value as rison."""
        raw = request.args.get("q")
        rule = request.url_rule
        if raw is None or rule is None:
            return None
        schema = self.q_schemas().get(rule.endpoint.rsplit(".", 1)[-1])
        if schema is None:
            return None
        try:
            value = _parse_q(raw)
        except ValueError as exc:
            return self.response_400(message=str(exc))
        if not isinstance(value, dict):
            return self.response_400(message="q must be an object, e.g. {\"page\": 0, \"page_size\": 25}")
        problem = _bad_number(value) or _schema_problem(schema, value) or self._read_filter_times(value)
        if problem:
            return self.response_400(message=problem)
        args = [(key, item) for key, item in request.args.items(multi=True) if key != "q"]
        request.args = ImmutableMultiDict(args + [("q", prison.dumps(value))])
        return None

    def _read_filter_times(self, value: dict) -> str:
        """Times in filters: with an offset, or none (UTC); handed on as the stored naive UTC."""
        for item in value.get("filters") or []:
            column = item["col"]
            if column not in (self.search_columns or ()) or not (
                    self.datamodel.is_datetime(column) or self.datamodel.is_date(column)):
                continue
            try:
                when = parse_utc(item["value"])
            except (TypeError, ValueError):
                return (f"q: filter on {column}: not a date and time "
                        f"(ISO 8601, e.g. 2026-01-31T09:30:00Z or 2026-01-31T15:00:00+05:30)")
            item["value"] = when.date().isoformat() if self.datamodel.is_date(column) else when.isoformat()
        return ""

    # --- the OpenAPI document ------------------------------------------------------------------
    def add_apispec_components(self, api_spec: APISpec) -> None:
        for status, response in ERROR_RESPONSES.items():
            _add(api_spec.components.response, status, response)
        for schema in self.openapi_spec_component_schemas or ():
            name = getattr(schema, "__component_name__", None) or getattr(schema, "__name__", type(schema).__name__)
            _add(api_spec.components.schema, name, schema=schema)
        served = {name for name, *_ in self._served()}
        listed = {schema if isinstance(schema, type) else type(schema) for schema in self.openapi_spec_component_schemas or ()}
        if isinstance(self, ModelRestApi):
            for function, name, schema in (
                ("get_list", self.list_model_schema_name, self.list_model_schema),
                ("get", self.show_model_schema_name, self.show_model_schema),
                ("post", self.add_model_schema_name, self.add_model_schema),
                ("put", self.edit_model_schema_name, self.edit_model_schema),
            ):
                if function in served and type(schema) not in listed:  # (else added by its own name above)
                    _add(api_spec.components.schema, name, schema=schema)
        for function, schema in self.q_schemas().items():
            if function in served:
                _add(api_spec.components.schema, self.q_schema_name(function), schema)

    def add_api_spec(self, api_spec: APISpec) -> None:
        self.add_apispec_components(api_spec)
        for name, attr, url, methods in self._served():
            operations: dict = {}
            path = self.path_helper(path=url, operations=operations)
            self.operation_helper(path=path, operations=operations, methods=methods, func=attr)
            for operation in operations.values():
                operation["tags"] = [self.openapi_spec_tag or self.__class__.__name__]
            api_spec.path(path=path, operations=operations)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for method, operation in operations.items():
            operation.setdefault("operationId", re.sub(r"\W", "_", f"{self.resource_name}_{func.__name__}"))
            responses = operation.setdefault("responses", {})
            for status in [key for key in responses if not isinstance(key, str)]:
                responses[str(status)] = responses.pop(status)  # YAML docstrings give int keys
            if operation.get("security"):
                # API keys are not enabled: a JWT (or, to refresh, a refresh JWT) only.
                operation["security"] = [item for item in operation["security"] if "api_key" not in item]
                responses.setdefault("401", {"$ref": _REF + "401"})
            if self.get_method_permission(func.__name__):
                responses.setdefault("403", {"$ref": _REF + "403"})
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter.get("in") == "path":
                    parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": INT64 - 1}
                    responses.setdefault("404", {"$ref": _REF + "404"})
                elif parameter.get("in") == "query" and parameter.get("name") == "q" and "content" in parameter:
                    self._q_parameter(parameter, func.__name__)
            if isinstance(self, ModelRestApi) and method == "put":
                responses.setdefault("409", {"$ref": _REF + "409"})
            for status, description in self.extra_responses.get(method, {}).items():
                responses.setdefault(status, _response(description, _MESSAGE))
            for status in list(responses):
                if status in ERROR_RESPONSES:
                    responses[status] = {"$ref": _REF + status}
            for status, response in responses.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                _envelope(schema, func.__name__, status)

    def _q_parameter(self, parameter: dict, function: str) -> None:
        """A JSON object in a query string, as a string parameter: OpenAPI 3.0 generators skip
        parameters given with `content`, and clients then could not filter at all."""
        name = self.q_schema_name(function)
        parameter.pop("content")
        parameter["schema"] = {"type": "string"}
        parameter["x-json-schema"] = {"$ref": f"#/components/schemas/{name}"}
        parameter["description"] = (
            f"A JSON object as described by the schema `{name}` (or the same object in rison). "
            "Unknown keys are refused (400)."
        )


def nullable_reference(converter, field, ret: dict, **kwargs) -> dict:
    """An apispec attribute function: apispec writes a nullable nested schema (OpenAPI 3.0) as
    `anyOf: [any object, the schema]`, which generators read as "any object, or the schema"
    (and parse every row into the first); say "the schema, or null"."""
    anything = {"type": "object", "nullable": True}
    options = ret.get("anyOf") or []
    if isinstance(field, fields.Nested) and anything in options:
        refs = [option for option in options if option != anything]
        if len(refs) == 1 and "$ref" in refs[0]:
            del ret["anyOf"]
            return {"nullable": True, "allOf": refs}
    return {}


# --- helpers ----------------------------------------------------------------------------------------
def _add(register: Callable, name: str, *args, **kwargs) -> None:
    try:
        register(name, *args, **kwargs)
    except DuplicateComponentNameError:
        pass  # shared by several APIs (the error responses)


def _reject_constant(name: str):
    raise ValueError(f"q: {name} is not a number")


def _parse_q(raw: str) -> Any:
    """A JSON object exactly as sent (never re-decoded), else rison as FAB reads it."""
    if raw.lstrip().startswith("{"):
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except RecursionError:
            raise ValueError("q is not valid JSON") from None
        except ValueError as exc:
            raise ValueError(f"q is not valid JSON: {exc}") from None
    try:
        return prison.loads(raw)
    except Exception:  # prison raises ValueError, ParserException and others on bad input
        raise ValueError("q is neither a JSON object nor valid rison") from None


def _schema_problem(schema: dict, value: dict) -> str:
    error = jsonschema.exceptions.best_match(jsonschema.Draft4Validator(schema).iter_errors(value))
    if error is None:
        return ""
    where = "q" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = sorted(key for key in error.instance if key not in known)
        return f"{where}: unknown key {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
    return f"{where}: {error.message}"


def _bad_number(value: Any) -> str:
    """An integer beyond 64 bits anywhere in `q`, or a float that is not finite, else ''."""
    if isinstance(value, dict):
        return next((problem for item in value.values() if (problem := _bad_number(item))), "")
    if isinstance(value, list):
        return next((problem for item in value if (problem := _bad_number(item))), "")
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
        return "A number in q is too large"
    if isinstance(value, float) and not math.isfinite(value):
        return "A number in q is too large"
    return ""


_ALWAYS = {  # keys of FAB's answer envelopes present in every successful answer
    ("get_list", "200"): ["count", "ids", "result"],
    ("get", "200"): ["id", "result"],
    ("post", "201"): ["id", "result"],
    ("put", "200"): ["id", "result"],
}


def _envelope(schema: dict, function: str, status: str) -> None:
    """FAB's docstrings type ids as strings and `_info` columns as an object, and mark nothing
    required: say what the answers hold."""
    properties = schema.get("properties", {})
    if "id" in properties and properties["id"].get("type") == "string":
        properties["id"]["type"] = "integer"
    if properties.get("ids", {}).get("items", {}).get("type") == "string":
        properties["ids"]["items"]["type"] = "integer"
    if properties.get("count", {}).get("type") == "number":
        properties["count"]["type"] = "integer"
    for key in ("add_columns", "edit_columns"):
        if key in properties:
            properties[key] = {"type": "array", "items": {"type": "object"}}
    if function == "put" and "result" in properties:
        properties.setdefault("id", {"type": "integer"})
    required = [key for key in _ALWAYS.get((function, status), []) if key in properties]
    if required:
        schema["required"] = required

