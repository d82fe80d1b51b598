"""Who may be offered as an assignee (form and API choices) or as a filter value."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import and_, case, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..models import Person, Team, person_team


def staff_clause() -> ColumnElement[bool]:
    """People who belong to at least one team: the operations staff.

    Agents pick colleagues of any team when they escalate across teams, so the
    choice lists staff, never the whole user table (admin-only and service
    accounts without a team are left out).
    """
    return Person.teams.any()


def assignable_clause() -> ColumnElement[bool]:
    """Staff who can still work: deactivated people are never assigned."""
    return and_(Person.active.is_(True), staff_clause())


def find_staff(
    session, term: str, limit: int = 20, team_id: Optional[int] = None, assignable: bool = False
) -> list[Person]:
    """Staff whose name or email contains `term` (case-insensitive), for the person pickers.

    `team_id`: that team's members come first (the assignee picker offers the ticket's team
    before everyone else). `assignable`: only people who may be newly assigned (active staff).
    """
    # Control characters are in no name (and NUL is refused by PostgreSQL): drop them.
    term = "".join(char for char in term if char.isprintable()).strip()[:100]
    query = select(Person).where(assignable_clause() if assignable else staff_clause())
    if term:
        name = Person.first_name + " " + Person.last_name
        query = query.where(or_(*(col.icontains(term, autoescape=True) for col in (name, Person.email))))
    order = [Person.first_name, Person.last_name, Person.id]
    if team_id is not None:
        in_team = Person.id.in_(select(person_team.c.user_id).where(person_team.c.team_id == team_id))
        order.insert(0, case((in_team, 0), else_=1))
    return list(session.scalars(query.order_by(*order).limit(limit)))


def default_team(person: Optional[Person]) -> Optional[Team]:
    """The team a new ticket of `person` starts in: their first team by name (a person in
    several teams gets the same one every time; None for someone without a team)."""
    teams = sorted(getattr(person, "teams", None) or [], key=lambda team: (team.name, team.id))
    return teams[0] if teams else None


def people_by_ids(session, ids: list[int]) -> list[Person]:
    """The staff among `ids`, for a filter that names people already chosen. The same scope as
    find_staff: an id of anyone else (an admin without a team, a service account) is not named,
    or a person picker would tell any account's name and email to whoever asks by id."""
    if not ids:
        return []
    return list(session.scalars(select(Person).where(Person.id.in_(ids), staff_clause())))


def person_label(person: Person) -> str:
    return f"{person.get_full_name()} <{person.email}>"


def people_with_ids(session, ids: list[int]) -> list[Person]:
    """Whoever has these ids, staff or not, in the order given: the assignee field resolves what
    was sent and then decides, per person, whether they may stay or be added."""
    if not ids:
        return []
    found = {person.id: person for person in session.scalars(select(Person).where(Person.id.in_(ids)))}
    return [found[pk] for pk in ids if pk in found]
