"""Who gets which email: the pure rules of app.notifications.recipients (no app, no database)."""
from __future__ import annotations

import pytest

from app.models import Person, Team
from app.notifications.recipients import (
    Recipients,
    active_emails,
    for_assignment,
    for_creation,
    for_resolution,
    team_defaults,
    team_env_key,
    unique,
)


def person(email: str | None, active: bool = True) -> Person:
    return Person(first_name="P", last_name="Q", username=email or "nobody", email=email, active=active)


# --- unique ----------------------------------------------------------------------------------


def test_unique_keeps_order_and_first_spelling_case_insensitively():
    assert unique(
        ["Ops@Deyor.test", "a@x.com"], ["ops@deyor.test", "B@y.com"], ["A@X.COM", "b@Y.com", "c@z.com"]
    ) == ["Ops@Deyor.test", "a@x.com", "B@y.com", "c@z.com"]


def test_unique_strips_and_drops_blanks():
    assert unique(["  a@x.com ", "", "   "], ["a@x.com"], []) == ["a@x.com"]
    assert unique() == []
    assert unique([], [" "]) == []


# --- creation ----------------------------------------------------------------------------------


def test_creation_to_is_team_then_notify_then_assignees_and_cc_is_founders():
    who = for_creation(
        team=["desk@deyor.test", "lead@deyor.test"],
        notify=["partner@agency.com"],
        assignees=["asha@deyor.test", "ivan@deyor.test"],
        founders=["farah@deyor.test", "omar@deyor.test"],
    )
    assert who.to == [
        "desk@deyor.test", "lead@deyor.test", "partner@agency.com", "asha@deyor.test", "ivan@deyor.test",
    ]
    assert who.cc == ["farah@deyor.test", "omar@deyor.test"]


def test_creation_deduplicates_across_groups_keeping_the_first_spelling():
    who = for_creation(
        team=["Desk@Deyor.test"],
        notify=["desk@deyor.test", "Partner@Agency.com"],
        assignees=["partner@agency.com", "asha@deyor.test", "ASHA@deyor.test"],
        founders=[],
    )
    assert who.to == ["Desk@Deyor.test", "Partner@Agency.com", "asha@deyor.test"]
    assert who.cc == []


def test_a_founder_already_in_to_is_not_copied_again():
    who = for_creation(
        team=["Farah@deyor.test"],
        notify=[],
        assignees=["omar@DEYOR.test"],
        founders=["farah@deyor.test", "OMAR@deyor.test", "zoya@deyor.test", "Zoya@deyor.test"],
    )
    assert who.to == ["Farah@deyor.test", "omar@DEYOR.test"]
    assert who.cc == ["zoya@deyor.test"]
    assert not {a.lower() for a in who.to} & {a.lower() for a in who.cc}


def test_creation_with_only_founders_goes_to_nobody_but_copies_them():
    who = for_creation(team=[], notify=[], assignees=[], founders=["farah@deyor.test"])
    assert who.to == [] and who.cc == ["farah@deyor.test"]
    assert who  # still worth sending


def test_creation_with_nobody_at_all_is_empty():
    who = for_creation(team=[], notify=[], assignees=[], founders=[])
    assert not who
    assert who == Recipients()


# --- resolution ------------------------------------------------------------------------------


def test_resolution_goes_to_team_notify_and_assignees_without_founders_or_fallback():
    who = for_resolution(
        team=["desk@deyor.test"], notify=["Partner@agency.com"], assignees=["partner@AGENCY.com", "asha@deyor.test"],
        fallback=["boss@deyor.test"],
    )
    assert who.to == ["desk@deyor.test", "Partner@agency.com", "asha@deyor.test"]
    assert who.cc == []


@pytest.mark.parametrize(
    "team, notify, assignees",
    [
        ([], [], ["asha@deyor.test"]),
        (["desk@deyor.test"], [], []),
        ([], ["partner@agency.com"], []),
    ],
    ids=["assignee-only", "team-only", "notify-only"],
)
def test_resolution_fallback_is_not_used_when_anyone_else_gets_it(team, notify, assignees):
    who = for_resolution(team=team, notify=notify, assignees=assignees, fallback=["boss@deyor.test"])
    assert "boss@deyor.test" not in who.to
    assert who.to == team + notify + assignees


def test_resolution_falls_back_to_notify_emails_only_when_to_would_be_empty():
    fallback = ["Boss@deyor.test", "boss@deyor.test", "cfo@deyor.test"]
    who = for_resolution(team=[], notify=[], assignees=[], fallback=fallback)
    assert who.to == ["Boss@deyor.test", "cfo@deyor.test"]
    assert who.cc == []


def test_resolution_with_no_one_and_no_fallback_is_empty():
    assert not for_resolution(team=[], notify=[], assignees=[], fallback=[])


# --- assignment --------------------------------------------------------------------------------


def test_assignment_goes_to_the_newcomers_only():
    who = for_assignment(["ivan@deyor.test", "Ivan@deyor.test", "zara@deyor.test"])
    assert who.to == ["ivan@deyor.test", "zara@deyor.test"]
    assert who.cc == []
    assert not for_assignment([])


# --- teams -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, key",
    [
        ("International Operations", "INTERNATIONAL_OPERATIONS"),
        ("Domestic Operations", "DOMESTIC_OPERATIONS"),
        ("  visa & passports ", "VISA_PASSPORTS"),
        ("B2B-Sales/North", "B2B_SALES_NORTH"),
        ("Ops", "OPS"),
    ],
)
def test_team_env_key(name, key):
    assert team_env_key(name) == key


def test_team_defaults_merge_environment_then_stored_addresses():
    team = Team(name="International Operations", default_emails="Lead@deyor.test, archive@deyor.test")
    env = {
        "INTERNATIONAL_OPERATIONS": "desk@deyor.test, lead@deyor.test",
        "DOMESTIC_OPERATIONS": "dom@deyor.test",
    }
    assert team_defaults(team, env) == ["desk@deyor.test", "lead@deyor.test", "archive@deyor.test"]


def test_team_defaults_with_only_one_source():
    stored_only = Team(name="Domestic Operations", default_emails="dom-desk@deyor.test")
    assert team_defaults(stored_only, {}) == ["dom-desk@deyor.test"]
    env_only = Team(name="Domestic Operations", default_emails=None)
    assert team_defaults(env_only, {"DOMESTIC_OPERATIONS": " a@x.com ,, b@y.com "}) == ["a@x.com", "b@y.com"]
    nothing = Team(name="Visa", default_emails="")
    assert team_defaults(nothing, {"INTERNATIONAL_OPERATIONS": "desk@deyor.test"}) == []


# --- people ------------------------------------------------------------------------------------


def test_active_emails_skip_deactivated_people_and_keep_order():
    people = [
        person("asha@deyor.test"),
        person("ivan@deyor.test", active=False),
        person("zara@deyor.test"),
        person(None),
        person(""),
    ]
    assert active_emails(people) == ["asha@deyor.test", "zara@deyor.test"]
    assert active_emails([]) == []
