"""The login rate limit: one budget per client address, which a client cannot reset by
claiming another address, nor by spreading its attempts over gunicorn workers and instances
(the count lives in Redis), and what a limited client gets back."""
from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask

from tests.conftest import build_app, free_port, gunicorn_instances

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


# --- several gunicorn workers and instances: one count in Redis ----------------------------
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
INSTANCES, WORKERS = 2, 2


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test alone (parallel runs share the Redis server); its keys are
    deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis must answer at {REDIS_URL} (set TEST_REDIS_URL; .ci/run starts one): {exc}",
                    pytrace=False)
    prefix = f"deyor-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@contextmanager
def limited_instances(database_url: str, tmp_path: Path, **settings: str) -> Iterator[list[str]]:
    """INSTANCES gunicorn instances of WORKERS workers each with the login rate limit at its
    default and no proxy trusted; `settings` are more environment variables."""
    with gunicorn_instances(
        database_url, tmp_path, count=INSTANCES, workers=WORKERS,
        AUTH_RATE_LIMITED="true", AUTH_RATE_LIMIT=f"{LIMIT} per 20 second", PROXY_FIX_HOPS="", **settings,
    ) as bases:
        yield bases


def _wrong_logins_across(bases: list[str], count: int) -> list[int]:
    """`count` wrong logins, alternating between the instances (and between the form and the
    JSON API every second round), as one client; the status of each."""
    import requests

    sessions = {base: requests.Session() for base in bases}
    statuses = []
    for n in range(count):
        base = bases[n % len(bases)]
        session = sessions[base]
        session.trust_env = False
        if (n // len(bases)) % 2:
            page = session.get(f"{base}/login/", timeout=10).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            answer = session.post(f"{base}/login/", data={**WRONG, "csrf_token": token}, allow_redirects=False,
                                  timeout=10)
        else:
            answer = session.post(f"{base}/api/v1/security/login", json=API_WRONG, timeout=10)
        statuses.append(answer.status_code)
    return statuses


# Statuses of wrong logins within the budget, in _wrong_logins_across's order (API 401, form 302).
ALLOWED_ACROSS = [401, 401, 302, 302] * 4


def test_workers_and_instances_share_one_count_in_redis(deployed_database, redis_prefix, tmp_path):
    import redis

    with limited_instances(deployed_database, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL,
                           RATELIMIT_KEY_PREFIX=redis_prefix) as bases:
        statuses = _wrong_logins_across(bases, 14)
        with redis.Redis.from_url(REDIS_URL) as client:
            assert list(client.scan_iter(match=f"*{redis_prefix}*")), "no count under the run's prefix"
    assert statuses == ALLOWED_ACROSS[:LIMIT] + [429] * 4


def test_with_memory_storage_each_process_counts_alone(deployed_database, tmp_path):
    """Why Redis: with memory:// the same 14 attempts spread over the processes are never refused."""
    with limited_instances(deployed_database, tmp_path, RATELIMIT_STORAGE_URI="memory://") as bases:
        statuses = _wrong_logins_across(bases, 14)
    assert statuses == ALLOWED_ACROSS[:14]


def test_while_redis_is_down_logins_go_on_and_each_process_counts(limited_app):
    """An outage of the count's storage must not lock everyone out (every login a 500):
    the limit goes on per process, in memory, until Redis answers again."""
    nothing_listens = free_port()
    limited = limited_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{nothing_listens}/0")
    client = limited.test_client()
    answers = [api_login(client) for _ in range(LIMIT + 2)]
    assert [a.status_code for a in answers[:LIMIT]] == [401] * LIMIT
    assert all(refused_by_the_app(a) for a in answers[LIMIT:])
