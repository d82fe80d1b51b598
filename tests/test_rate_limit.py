"""The login rate limit: one budget per client address, which a client cannot reset by
claiming another address, and what a limited client gets back."""
from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import build_app

LIMIT = 10  # config.AUTH_RATE_LIMIT's default, "10 per 20 second"
WRONG = {"username": "nobody@deyor.test", "password": "wrong-password"}
API_WRONG = {**WRONG, "provider": "db"}


@pytest.fixture
def limited_app(app):
    """The test database's app with the login rate limit on, as in production (the shared
    `app` fixture turns it off); every other setting at its default unless overridden."""

    def _build(**overrides) -> Flask:
        built = build_app(app.config["SQLALCHEMY_DATABASE_URI"], AUTH_RATE_LIMITED=True, RATELIMIT_ENABLED=True,
                          **overrides)
        assert built.config["AUTH_RATE_LIMIT"] == f"{LIMIT} per 20 second"
        return built

    return _build


@pytest.fixture
def limited(limited_app) -> Flask:
    return limited_app()


REFUSED = "Too many attempts. Please wait a moment and try again."


def form_login(client, **headers):
    return client.post("/login/", data=WRONG, headers=headers)


def api_login(client, **headers):
    return client.post("/api/v1/security/login", json=API_WRONG, headers=headers)


# door: (send one wrong login, the status of a wrong login within the budget)
DOORS = {"form": (form_login, 302), "api": (api_login, 401)}


def refused_by_the_app(response) -> bool:
    """A 429 from the app's own handler (not an error page of some other layer)."""
    return response.status_code == 429 and REFUSED in response.get_data(as_text=True)


@pytest.mark.parametrize("door", list(DOORS))
def test_a_claimed_x_forwarded_for_does_not_reset_the_budget(limited, door):
    """Without a proxy (the default) the address is the connection's: 14 wrong logins each
    claiming another X-Forwarded-For are one client, refused after the 10th."""
    assert limited.config["PROXY_FIX_HOPS"] == 0
    send, allowed = DOORS[door]
    client = limited.test_client()
    answers = [send(client, **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(14)]
    assert [a.status_code for a in answers[:LIMIT]] == [allowed] * LIMIT
    assert all(refused_by_the_app(a) for a in answers[LIMIT:]), [a.status_code for a in answers]


@pytest.mark.parametrize("door", list(DOORS))
def test_behind_one_proxy_the_address_is_the_one_it_appended(limited_app, door):
    """PROXY_FIX_HOPS=1 (Render): the last X-Forwarded-For entry is the address the proxy saw.
    What the client wrote before it is ignored; other clients keep their own budget.
    Only for an app that is reachable through that proxy alone."""
    limited = limited_app(PROXY_FIX_HOPS=1)
    send, allowed = DOORS[door]
    client = limited.test_client()
    answers = [send(client, **{"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"}) for n in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [allowed] * LIMIT
    assert refused_by_the_app(answers[LIMIT])
    assert send(client, **{"X-Forwarded-For": "203.0.113.8"}).status_code == allowed


def test_the_api_answers_429_in_json(limited):
    client = limited.test_client()
    statuses = [api_login(client).status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
    refused = api_login(client)
    assert refused.status_code == 429
    assert refused.is_json and refused.get_json() == {
        "message": "Too many attempts. Please wait a moment and try again."
    }
    assert int(refused.headers["Retry-After"]) > 0


def test_the_form_answers_429_with_a_translated_page(limited):
    client = limited.test_client()
    assert client.get("/lang/hi").status_code == 302
    for _ in range(LIMIT):
        assert form_login(client).status_code == 302
    refused = form_login(client)
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "429" in page and "Deyor Escalations" in page
    assert "बहुत अधिक प्रयास। कृपया कुछ देर रुककर फिर से प्रयास करें।" in page
    assert int(refused.headers["Retry-After"]) > 0


def test_the_form_and_the_api_share_one_budget(limited):
    """Both doors check the same passwords: alternating between them gains no attempts."""
    client = limited.test_client()
    answers = [(form_login if n % 2 else api_login)(client) for n in range(14)]
    assert [a.status_code for a in answers[:LIMIT]] == [401, 302] * (LIMIT // 2)
    assert all(refused_by_the_app(a) for a in answers[LIMIT:]), [a.status_code for a in answers]
