"""/api/v1/team/, /founder/, /member/ (admin only) and /notification/ (admin only, read)."""
from __future__ import annotations

from flask import current_app, request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..credentials import check_password
from ..models import Founder, Notification, Person, Team
from ..tickets import handover
from ..tickets.usage import team_in_use
from ..tickets.visibility import current_person
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
    include_route_methods = {"get", "get_list", "post", "put", "info", "handover", "handover_tickets"}  # deactivate, never delete
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

    @expose("/<int:pk>/handover", methods=["GET"])
    @protect()
    @safe
    @permission_name("put")
    def handover_tickets(self, pk: int):
        """A person's open tickets, before handing them over (GET and POST are two operations, so
        that a generated client gets both).
        ---
        get:
          summary: The person's open tickets (assigned, not resolved)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Their open tickets, oldest first
              content:
                application/json:
                  schema: {type: object, required: [open_tickets], properties: {open_tickets: {type: array,
                    items: {type: object, required: [id, subject, status, team, version], properties: {
                      id: {type: integer}, subject: {type: string}, status: {type: string},
                      team: {type: string}, version: {type: integer}}}}}}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            500: {$ref: '#/components/responses/500'}
        """
        return self._handover(pk)

    @expose("/<int:pk>/handover", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def handover(self, pk: int):
        """Handing a person's open tickets over (the screen's rules and bulk path).
        ---
        post:
          summary: Give every open ticket of the person to one or several people
          description: Each ticket loses the person and gains everyone in `to` (`mode` all) or the
            next of them in turn (`mode` share); its history and the assignment emails are written
            as for any change. `versions` (ticket id → version, as read) refuses the whole request
            when a ticket changed meanwhile.
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object, required: [to], additionalProperties: false, properties: {
                  to: {type: array, items: {type: integer}, minItems: 1},
                  mode: {type: string, enum: [all, share]},
                  versions: {type: object, additionalProperties: {type: integer}}}}
          responses:
            200:
              description: The tickets handed over
              content:
                application/json:
                  schema: {type: object, required: [handed_over], properties: {handed_over: {type: array,
                    items: {type: integer}}}}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
            500: {$ref: '#/components/responses/500'}
        """
        return self._handover(pk)

    def _handover(self, pk: int):
        """GET: the open tickets; POST: hand them over."""
        def run():
            session = self.datamodel.session
            person = self.datamodel.get(pk, self._base_filters)
            if person is None:
                return self.response_404()
            tickets = handover.open_tickets_of(session, person, current_person())
            if request.method == "GET":
                return self.response(200, open_tickets=[
                    {"id": t.id, "subject": t.subject, "status": t.status, "team": t.team.name, "version": t.version}
                    for t in tickets])
            body = self.json_body()
            to, mode, versions = body.get("to"), body.get("mode", handover.ALL), body.get("versions")
            if set(body) - {"to", "mode", "versions"} or not isinstance(to, list) or mode not in (
                    handover.ALL, handover.SHARE) or not isinstance(versions, (dict, type(None))):
                raise ApiError(400, "Send {\"to\": [person ids], \"mode\": \"all\" or \"share\", \"versions\": {}}.")
            if versions is None:  # no versions read: the tickets as they are now
                versions = {f"version_{t.id}": str(t.version) for t in tickets}
            else:
                versions = {f"version_{key}": str(value) for key, value in versions.items()}
            try:
                people = handover.chosen_people(session, [str(item) for item in to], person)
                changed = handover.hand_over(tickets, person, people, mode, versions)
            except handover.ChangedMeanwhile as exc:
                raise ApiError(409, str(exc)) from exc
            except InvalidValue as exc:
                raise ApiError(422, str(exc)) from exc
            self.commit()
            return self.response(200, handed_over=[t.id for t in changed])

        return self.handle(run)

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
