"""Who gets which email. Pure functions of addresses, plus one gatherer per ticket."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol

from ..tickets.validation import split_email_list


@dataclass(frozen=True)
class Recipients:
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.to or self.cc)


def unique(*groups: Iterable[str]) -> list[str]:
    """Addresses in order of first appearance, case-insensitively de-duplicated."""
    seen: dict[str, str] = {}
    for group in groups:
        for address in group:
            address = address.strip()
            if address:
                seen.setdefault(address.lower(), address)
    return list(seen.values())


def _without(addresses: list[str], taken: list[str]) -> list[str]:
    lowered = {a.lower() for a in taken}
    return [a for a in addresses if a.lower() not in lowered]


def for_creation(team: list[str], notify: list[str], assignees: list[str], founders: list[str]) -> Recipients:
    """To: team defaults, the ticket's notify emails, assignees. CC: active founders."""
    to = unique(team, notify, assignees)
    return Recipients(to=to, cc=_without(unique(founders), to))


def for_resolution(team: list[str], notify: list[str], assignees: list[str], fallback: list[str]) -> Recipients:
    """To: team defaults, notify emails, assignees; when nobody, the global NOTIFY_EMAILS."""
    to = unique(team, notify, assignees)
    return Recipients(to=to or unique(fallback))


def for_assignment(new_assignees: list[str]) -> Recipients:
    return Recipients(to=unique(new_assignees))


def for_ladder_step(
    step: str, assignees: list[str], leads: list[str], founders: list[str], fallback: list[str]
) -> Recipients:
    """The SLA ladder. due_soon: the assignees (the leads when nobody is assigned). overdue: the
    team's leads and the assignees. founders: active founders, the leads in CC. Whoever is
    missing, the global NOTIFY_EMAILS stand in, so a step is never sent to nobody."""
    if step == "due_soon":
        to = unique(assignees) or unique(leads)
        return Recipients(to=to or unique(fallback))
    if step == "overdue":
        to = unique(leads) or unique(fallback)
        return Recipients(to=unique(to, assignees))
    to = unique(founders) or unique(fallback)
    return Recipients(to=to, cc=_without(unique(leads), to))


class Reader(Protocol):
    id: int
    email: str
    active: bool
    comment_emails: bool


def for_comment(
    author_id: int, mentioned: Iterable[Reader], assignees: Iterable[Reader], followers: Iterable[Reader]
) -> list[tuple[Reader, bool]]:
    """Who gets the email of a new comment, one entry per person with whether they were
    mentioned (the email says so). Callers pass only people who may see the ticket. Never the
    author; never a deactivated person or one without an address; assignees and followers only
    when their comment emails are on; a mention always (it is addressed to them)."""
    chosen: dict[int, tuple[Reader, bool]] = {}
    for group, is_mention in ((mentioned, True), (assignees, False), (followers, False)):
        for person in group:
            if person.id == author_id or person.id in chosen or not person.active or not person.email:
                continue
            if is_mention or person.comment_emails:
                chosen[person.id] = (person, is_mention)
    return list(chosen.values())


def team_env_key(team_name: str) -> str:
    """'International Operations' → 'INTERNATIONAL_OPERATIONS' (as in TEAM_EMAILS_<TEAM>)."""
    return re.sub(r"[^A-Z0-9]+", "_", team_name.upper()).strip("_")


def team_defaults(team, team_emails: Mapping[str, str]) -> list[str]:
    """TEAM_EMAILS_<TEAM> from the environment plus the addresses stored on the team."""
    return unique(split_email_list(team_emails.get(team_env_key(team.name), "")), split_email_list(team.default_emails))


def active_emails(people) -> list[str]:
    """Deactivated people get no email."""
    return [p.email for p in people if p.active and p.email]
