"""Security headers on every response: pages, API answers, error pages, redirects, static files,
the health checks; HSTS in production only; the CSP's script nonce is the one the page's
scripts carry; the served app names no server software versions."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import INTL, PASSWORD, ROOT, build_app, free_port, gunicorn_instances

POLICY = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")


def csp(headers) -> dict[str, list[str]]:
    return {
        part.split()[0]: part.split()[1:]
        for part in headers["Content-Security-Policy"].split(";") if part.strip()
    }


def assert_protected(response) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = csp(headers)
    for directive, sources in POLICY.items():
        assert policy[directive] == sources, (directive, policy)
    script = policy["script-src"]
    assert script[0] == "'self'" and NONCE.fullmatch(script[1]) and len(script) == 2, script
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script


@pytest.fixture
def agent(make_person):
    return make_person("Ari Agent", "Agent", (INTL,))


def test_every_kind_of_response_carries_the_headers(app, agent, make_ticket, client_for):
    ticket = make_ticket(agent)
    anonymous = app.test_client()
    signed_in = client_for(agent)
    token = anonymous.post("/api/v1/security/login", json={
        "username": agent.email, "password": PASSWORD, "provider": "db"}).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    answers = {
        "login page": (anonymous.get("/login/"), 200),
        "ticket list": (signed_in.get("/tickets/list/"), 200),
        "ticket page": (signed_in.get(f"/tickets/show/{ticket.id}"), 200),
        "API answer": (anonymous.get("/api/v1/ticket/", headers=bearer), 200),
        "API refusal": (anonymous.get("/api/v1/ticket/"), 401),
        "not found page": (signed_in.get("/tickets/show/987654321"), 404),
        "forbidden page": (signed_in.get("/users/list/"), 403),
        "redirect": (anonymous.get("/tickets/list/"), 302),
        "static file": (anonymous.get("/static/js/person_filter.js"), 200),
        "health": (anonymous.get("/health"), 200),
        "ready": (anonymous.get("/ready"), 200),
    }
    for name, (response, status) in answers.items():
        assert response.status_code == status, name
        assert_protected(response)
    assert answers["health"][0].get_json() == {"status": "ok"}


def test_the_csp_nonce_is_the_one_the_page_scripts_carry(app, agent, client_for):
    client = client_for(agent)
    nonces = []
    for _ in range(2):
        response = client.get("/tickets/list/")
        nonce = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
        scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
        assert len(scripts) > 5  # FAB's jQuery, Bootstrap, Select2 … and the person filter
        assert all(f'nonce="{nonce}"' in tag for tag in scripts), [t for t in scripts if nonce not in t]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # one per response


def test_hsts_and_secure_cookies_only_in_production(app, tmp_path):
    https = {"base_url": "https://escalations.example"}
    response = app.test_client().get("/login/", **https)
    assert_protected(response)
    assert "Strict-Transport-Security" not in response.headers
    # The cookie flags are config.py's (Secure in production only): Talisman, left alone, would
    # make the cookie Secure everywhere, and `make run` on plain http would log nobody in.
    cookie = response.headers["Set-Cookie"]
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    production = build_app(
        f"sqlite:///{tmp_path / 'production.db'}",
        PRODUCTION=True, SECRET_KEY="s" * 40, SESSION_COOKIE_SECURE=True,
    )
    client = production.test_client()
    response = client.get("/login/", **https)
    assert_protected(response)
    assert response.headers["Strict-Transport-Security"] == "max-age=31556926; includeSubDomains"
    assert "Secure" in response.headers["Set-Cookie"]
    # Behind Render's proxy the scheme is the proxy's (X-Forwarded-Proto, PROXY_FIX_HOPS=1).
    proxied = build_app(
        f"sqlite:///{tmp_path / 'proxied.db'}",
        PRODUCTION=True, SECRET_KEY="s" * 40, PROXY_FIX_HOPS=1,
    )
    response = proxied.test_client().get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_admin_swagger_page_is_served_with_the_nonce(app, make_person, client_for):
    client = client_for(make_person("Ada Admin", "Admin"))
    response = client.get("/swagger/v1")
    assert response.status_code == 200
    assert_protected(response)
    nonce = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page and page.count(f'nonce="{nonce}"') >= 2


def test_gunicorn_in_production_sends_the_headers(deployed_database, tmp_path):
    """The production server (render.yaml's command, APP_ENV=production): the headers, and
    gunicorn's own `Server: gunicorn` without a version."""
    with gunicorn_instances(deployed_database, tmp_path, APP_ENV="production") as (base,):
        for path in ("/login/", "/health", "/no-such-page"):
            try:
                response = urllib.request.urlopen(base + path, timeout=10)
            except urllib.error.HTTPError as error:
                response = error
            assert_protected(response)
            assert response.headers.get_all("Server") == ["gunicorn"], path


def test_make_run_in_production_names_no_server_versions(deployed_database):
    """run.py (Werkzeug's server) would answer `Server: Werkzeug/… Python/…`."""
    port = free_port()
    env = {**os.environ, "APP_ENV": "production", "FLASK_SECRET_KEY": "k" * 64, "DATABASE_URL": deployed_database,
           "PORT": str(port), "HOST": "", "OUTBOX_IN_PROCESS": "0"}
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "run.py exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "run.py did not answer /health"
                time.sleep(0.1)
        for path in ("/login/", "/health", "/no-such-page"):
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            except urllib.error.HTTPError as error:
                response = error
            assert_protected(response)
            assert response.headers.get_all("Server") == ["Deyor Escalations"], path
            assert not any(re.search(r"werkzeug|python", value, re.I) for _, value in response.headers.items())
    finally:
        server.terminate()
        server.wait(timeout=10)
