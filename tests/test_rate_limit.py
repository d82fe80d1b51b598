"""The login rate limit: what a limited client gets back."""
from __future__ import annotations

from typing import Iterator

import pytest
from flask import Flask

from tests.conftest import build_app

LIMIT = 10  # config.AUTH_RATE_LIMIT's default, "10 per 20 second"
WRONG = {"username": "nobody@deyor.test", "password": "wrong-password"}
API_WRONG = {**WRONG, "provider": "db"}


@pytest.fixture
def limited(app) -> Iterator[Flask]:
    """The test database's app, with the login rate limit on as in production
    (the shared `app` fixture turns it off) and everything else left at its default."""
    limited = build_app(app.config["SQLALCHEMY_DATABASE_URI"], AUTH_RATE_LIMITED=True, RATELIMIT_ENABLED=True)
    assert limited.config["AUTH_RATE_LIMIT"] == f"{LIMIT} per 20 second"
    yield limited


def form_login(client, **headers):
    return client.post("/login/", data=WRONG, headers=headers)


def api_login(client, **headers):
    return client.post("/api/v1/security/login", json=API_WRONG, headers=headers)


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
