"""What a role may do, in words, read from the permissions it really holds.

Each Ability is a sentence with the FAB permissions that grant it; a role has the ability
when it holds all of them, so the sentences follow any change made in the role screen. Which
tickets a role sees is not a permission but the visibility rule's reading of the role's name
(app/tickets/visibility.py), asked here the same way. Permissions that no sentence describes are
listed as such behind the screen's "advanced" toggle; a test keeps every permission the
setup grants described.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Iterable

from flask_babel import lazy_gettext as _l

from .tickets.visibility import is_admin, sees_own_tickets_only

Pair = tuple[str, str]  # (permission, view)


@dataclass(frozen=True)
class Ability:
    area: object  # a lazy string: the area's name
    sentence: object
    needs: tuple[Pair, ...]


TICKETS, REPORTS, PEOPLE, ORGANISATION, EMAIL, AUDIT, SELF = (
    _l("Tickets"), _l("Reports"), _l("People"), _l("Teams and service levels"), _l("Email"), _l("Audit"),
    _l("Their own account"),
)
AREAS = (TICKETS, REPORTS, PEOPLE, ORGANISATION, EMAIL, AUDIT, SELF)

ABILITIES = (
    Ability(TICKETS, _l("Create tickets"), (("can_add", "TicketModelView"),)),
    Ability(TICKETS, _l("Edit tickets, change their status and comment on them"),
            (("can_edit", "TicketModelView"), ("can_show", "TicketModelView"))),
    Ability(TICKETS, _l("Change many tickets at once (assignees, status, priority)"),
            (("can_bulk_edit", "TicketModelView"),)),
    Ability(TICKETS, _l("Move many tickets to another team at once"), (("can_bulk_team", "TicketModelView"),)),
    Ability(TICKETS, _l("Delete tickets (a lead: only their own teams' tickets)"),
            (("can_delete", "TicketModelView"),)),
    Ability(TICKETS, _l("Read the comments list"), (("can_list", "CommentModelView"), ("can_show", "CommentModelView"))),
    Ability(TICKETS, _l("Download the files of the tickets they may see"), (("can_download", "AttachmentView"),)),
    Ability(TICKETS, _l("Delete files from tickets"), (("can_delete", "AttachmentView"),)),
    Ability(TICKETS, _l("Attach files and read their details through the REST API"),
            (("can_get", "AttachmentApi"), ("can_post", "AttachmentApi"))),
    Ability(TICKETS, _l("Export the ticket list they see to CSV or Excel (each export is on the audit log)"),
            (("can_export", "TicketModelView"), ("can_export", "TicketApi"))),
    Ability(TICKETS, _l("Keep their own saved views of the ticket list"), (("can_access", "SavedViews"),)),
    Ability(TICKETS, _l("Work on tickets and comments through the REST API"),
            (("can_get", "TicketApi"), ("can_post", "TicketApi"), ("can_put", "TicketApi"),
             ("can_get", "CommentApi"), ("can_post", "CommentApi"))),
    Ability(TICKETS, _l("Delete tickets through the REST API"), (("can_delete", "TicketApi"),)),
    Ability(REPORTS, _l("See the dashboard of the tickets they may see"), (("can_index", "DashboardView"),)),
    Ability(REPORTS, _l("Read the dashboard's figures through the REST API"), (("can_summary", "ReportApi"),)),
    Ability(PEOPLE, _l("Manage team members: add, edit, deactivate, hand over their tickets"),
            (("can_list", "TeamMemberView"), ("can_edit", "TeamMemberView"))),
    Ability(PEOPLE, _l("Set other people's passwords"), (("can_this_form_post", "ResetPasswordView"),)),
    Ability(PEOPLE, _l("Manage roles and what each may do"), (("can_edit", "RoleModelView"),)),
    Ability(PEOPLE, _l("Manage people through the REST API"), (("can_post", "MemberApi"), ("can_put", "MemberApi"))),
    Ability(ORGANISATION, _l("Manage teams"), (("can_edit", "TeamModelView"),)),
    Ability(ORGANISATION, _l("Manage founders"), (("can_edit", "FounderModelView"),)),
    Ability(ORGANISATION, _l("Manage SLA policies and calendars"),
            (("can_edit", "SlaPolicyView"), ("can_edit", "CalendarView"))),
    Ability(ORGANISATION, _l("Read teams, SLA policies and calendars through the REST API"),
            (("can_get", "TeamApi"), ("can_get", "SlaPolicyApi"), ("can_get", "CalendarApi"))),
    Ability(EMAIL, _l("See every email sent and failed, and send failed ones again"),
            (("can_list", "NotificationModelView"),)),
    Ability(EMAIL, _l("Export the email list to CSV or Excel"), (("can_export", "NotificationModelView"),)),
    Ability(AUDIT, _l("Read the audit log: sign-ins, changes to people, roles, teams and service levels, exports"),
            (("can_list", "AuditEventView"), ("can_show", "AuditEventView"))),
    Ability(AUDIT, _l("Read the audit log through the REST API"), (("can_get", "AuditApi"),)),
    Ability(SELF, _l("Change their own name, phone, language and email settings"),
            (("can_userinfo", "TeamMemberView"), ("userinfoedit", "TeamMemberView"),
             ("can_this_form_get", "UserInfoEditView"), ("can_this_form_post", "UserInfoEditView"))),
    Ability(SELF, _l("Change their own password"),
            (("resetmypassword", "TeamMemberView"), ("can_this_form_get", "ResetMyPasswordView"),
             ("can_this_form_post", "ResetMyPasswordView"))),
)

# Permissions every screen needs that say nothing of their own (menus, FAB's info endpoints).
_SILENT_PERMISSIONS = ("menu_access", "can_info")


def ticket_scope(role_name: str):
    """Which tickets people with only this role see, asked of the visibility rule itself."""
    person = SimpleNamespace(roles=[SimpleNamespace(name=role_name)], is_active=True)
    if is_admin(person):
        return _l("See every ticket")
    if sees_own_tickets_only(person):
        return _l("See the tickets they created or are assigned to")
    return _l("See their teams' tickets, and the tickets they created or are assigned to")


def in_words(role_name: str, pairs: Iterable[Pair]) -> list[tuple[object, list[object]]]:
    """[(area, [sentence, …]), …] for the areas where the role may do something."""
    held = set(pairs)
    by_area: dict[object, list[object]] = {area: [] for area in AREAS}
    if ("can_list", "TicketModelView") in held:
        by_area[TICKETS].append(ticket_scope(role_name))
    for ability in ABILITIES:
        if all(pair in held for pair in ability.needs):
            by_area[ability.area].append(ability.sentence)
    return [(area, sentences) for area, sentences in by_area.items() if sentences]


def described(pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs some sentence (or the ticket scope) covers, or that say nothing on their own."""
    covered = {pair for ability in ABILITIES for pair in ability.needs} | {("can_list", "TicketModelView")}
    return {pair for pair in pairs if pair in covered or pair[0] in _SILENT_PERMISSIONS}


def undescribed(pairs: Iterable[Pair]) -> list[Pair]:
    pairs = set(pairs)
    return sorted(pairs - described(pairs))
