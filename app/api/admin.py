"""/api/v1/team/, /founder/, /member/ (admin only) and /notification/ (admin only, read)."""
from __future__ import annotations

from flask import current_app
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..credentials import check_password
from ..models import Founder, Notification, Person, Team
from ..tickets.usage import team_in_use
from ..tickets.validation import InvalidValue
from .base import ApiError, DomainApi
from .schemas import FounderSchema, MemberSchema, TeamSchema


class SimpleCrudApi(DomainApi):
    """Create and update straight from a request schema (all fields on POST, any on PUT)."""

    schema = None
    model = None

    def _check(self, data: dict, item=None) -> None:
        """Cross-row rules of a subclass (uniqueness…); raise ApiError."""

    def post_headless(self):
        def create():
            data = self.load(self.schema, self.json_body())
            self._check(data)
            item = self.model(**self._prepare(data))
            self.datamodel.session.add(item)
            self.commit()
            return self.response(201, id=item.id, result=self.result(item))

        return self.handle(create)

    def put_headless(self, pk):
        def update():
            item = self.datamodel.get(pk, self._base_filters)
            if item is None:
                return self.response_404()
            data = self.load(self.schema, self.json_body(), partial=True)
            self._check(data, item)
            for name, value in self._prepare(data).items():
                setattr(item, name, value)
            self.commit()
            return self.response(200, id=item.id, result=self.result(item))

        return self.handle(update)

    def _prepare(self, data: dict) -> dict:
        return data

    def _unique(self, column, value, item, field: str) -> None:
        query = select(self.model.id).where(func.lower(column) == value.lower())
        if item is not None:
            query = query.where(self.model.id != item.id)
        if self.datamodel.session.scalars(query).first() is not None:
            raise ApiError(422, {field: ["Already exists."]})


class TeamApi(SimpleCrudApi):
    resource_name = "team"
    datamodel = SQLAInterface(Team)
    model = Team
    schema = add_model_schema = TeamSchema()
    edit_model_schema = TeamSchema(partial=True)  # PUT: any of the fields (documented so)
    list_columns = show_columns = ["id", "name", "default_emails"]
    add_columns = edit_columns = ["name", "default_emails"]
    order_columns = ["id", "name"]
    search_columns = ["name"]

    def _check(self, data, item=None):
        if "name" in data:
            self._unique(Team.name, data["name"], item, "name")

    def check_delete(self, item) -> None:
        reason = team_in_use(self.datamodel.session, item)
        if reason:
            raise ApiError(422, reason)


class FounderApi(SimpleCrudApi):
    resource_name = "founder"
    datamodel = SQLAInterface(Founder)
    model = Founder
    schema = add_model_schema = FounderSchema()
    edit_model_schema = FounderSchema(partial=True)  # PUT: any of the fields (documented so)
    list_columns = show_columns = ["id", "name", "email", "active"]
    add_columns = edit_columns = ["name", "email", "active"]
    order_columns = ["id", "name"]
    search_columns = ["name", "email", "active"]

    def _check(self, data, item=None):
        if "email" in data:
            self._unique(Founder.email, data["email"], item, "email")


class MemberApi(SimpleCrudApi):
    """People: the extended FAB user. The username is the email; the password is write-only."""

    resource_name = "member"
    datamodel = SQLAInterface(Person)
    model = Person
    include_route_methods = {"get", "get_list", "post", "put", "info"}  # deactivate, never delete
    schema = add_model_schema = MemberSchema()
    edit_model_schema = MemberSchema(partial=True)  # PUT: any of the fields (documented so)
    list_columns = show_columns = [
        "id", "first_name", "last_name", "email", "phone", "active", "teams.id", "teams.name",
        "roles.id", "roles.name", "last_login",
    ]
    add_columns = edit_columns = list(MemberSchema().fields)
    order_columns = ["id", "first_name", "last_name", "email"]
    search_columns = ["first_name", "last_name", "email", "active", "teams", "roles"]

    def _check(self, data, item=None):
        if "email" in data:
            self._unique(Person.email, data["email"], item, "email")
        if "password" in data:
            try:
                check_password(data["password"], data.get("email") or getattr(item, "email", ""))
            except InvalidValue as exc:
                raise ApiError(422, {"password": [str(exc)]}) from exc

    def _prepare(self, data: dict) -> dict:
        data = dict(data)
        if "email" in data:
            data["email"] = data["email"].lower()
            data["username"] = data["email"]
        if "roles" in data:
            sm = current_app.appbuilder.sm
            roles = [sm.session.get(sm.role_model, role_id) for role_id in data["roles"]]
            # FAB's Public role (anyone not signed in) is given to nobody: as an unknown id.
            if any(role is None or role.name == sm.auth_role_public for role in roles):
                raise ApiError(422, {"roles": ["Unknown role id."]})
            data["roles"] = roles
        if "password" in data:
            data["password"] = generate_password_hash(
                data["password"],
                method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
                salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
            )
        return data


class NotificationApi(DomainApi):
    resource_name = "notification"
    datamodel = SQLAInterface(Notification)
    include_route_methods = {"get", "get_list", "info"}
    base_order = ("id", "desc")
    list_columns = show_columns = [
        "id", "ticket_id", "event", "state", "attempts", "to_addrs", "cc_addrs", "subject",
        "last_error", "created_at", "sent_at", "next_attempt_at",
    ]
    order_columns = ["id", "created_at", "state"]
    search_columns = ["state", "event", "ticket_id", "created_at"]
