"""Operations: health/ready, configuration safety, CLI bootstrap, migrations, CSRF, the `make run` process
(the login rate limit and the proxy: tests/test_rate_limit.py)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import config
from app import InsecureConfiguration, create_app
from app.extensions import db
from app.models import Comment, Person, Team
from tests.conftest import INTL, PASSWORD, build_app, login

ROOT = Path(__file__).resolve().parent.parent


def test_database_url_normalisation():
    assert config.normalize_database_url("postgres://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert config.normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert config.normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_detection(monkeypatch):
    for name in ("APP_ENV", "FLASK_ENV", "RENDER"):
        monkeypatch.delenv(name, raising=False)
    assert not config.is_production()
    monkeypatch.setenv("APP_ENV", "production")
    assert config.is_production()
    monkeypatch.delenv("APP_ENV")
    monkeypatch.setenv("RENDER", "true")
    assert config.is_production()


def test_without_settings_the_app_trusts_no_proxy_and_serves_this_machine_only():
    """The defaults of a bare `make run`: forwarded headers ignored, run.py on loopback."""
    env = {**os.environ, "PROXY_FIX_HOPS": "", "HOST": ""}  # set but empty: .env cannot fill them in
    done = subprocess.run([sys.executable, "-c", "import config; print(config.PROXY_FIX_HOPS, config.HOST)"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "127.0.0.1"]


@pytest.mark.parametrize("key", [config.DEV_SECRET_KEY, "", "short", "x" * 31])
def test_production_refuses_a_weak_secret_key(key):
    with pytest.raises(InsecureConfiguration):
        create_app({"PRODUCTION": True, "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_health_never_touches_the_database_and_ready_reports_it():
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg2://nobody:s3cret-pw@127.0.0.1:1/nowhere",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
    })
    client = app.test_client()
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    response = client.get("/ready")
    assert response.status_code == 503
    assert b"s3cret" not in response.data and b"nobody" not in response.data


def test_ready_when_the_database_answers(app):
    response = app.test_client().get("/ready")
    assert response.status_code == 200 and response.get_json() == {"status": "ready"}


def test_not_found_page_shows_no_internals(app, make_person, client_for):
    client = client_for(make_person("Ari Agent", "Agent", (INTL,)))
    response = client.get("/tickets/show/123456789")
    assert response.status_code == 404
    assert b"Traceback" not in response.data and b"sqlalchemy" not in response.data.lower()


def test_session_cookie_flags(app, make_person):
    person = make_person("Ari Agent", "Agent", (INTL,))
    cookie = login(app.test_client(), person.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert config.SESSION_COOKIE_SECURE == config.PRODUCTION


# --- CLI ----------------------------------------------------------------------------
def test_setup_bootstraps_admin_from_environment(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_EMAIL", "Boss@Deyor.test")
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", "a-long-admin-password")
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "boss@deyor.test" in result.output and "a-long-admin-password" not in result.output
    assert login(app.test_client(), "boss@deyor.test", "a-long-admin-password").headers["Location"].endswith("/")
    admin = db.session.query(Person).filter_by(email="boss@deyor.test").one()
    assert [r.name for r in admin.roles] == ["Admin"]
    assert {t.name for t in db.session.query(Team)} >= {INTL, "Domestic Operations"}
    again = app.test_cli_runner().invoke(args=["setup"])
    assert again.exit_code == 0 and "exist already" in again.output
    assert db.session.query(Person).count() == 1


def test_setup_without_credentials_generates_and_prints_them(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_EMAIL", "")
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", "")
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "ADMIN_EMAIL/ADMIN_PASSWORD" in result.output
    password = result.output.split("admin@deyor.local / ")[1].split()[0]
    response = login(app.test_client(), "admin@deyor.local", password)
    assert "/login" not in response.headers["Location"]


def test_setup_in_production_never_invents_a_password(app, monkeypatch):
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", "")
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0 and "flask fab create-admin" in result.output
    assert db.session.query(Person).count() == 0


def test_fab_create_admin_and_reset_password(app, make_person):
    from flask_appbuilder.cli import fab

    runner = app.test_cli_runner()
    result = runner.invoke(fab, args=[
        "create-admin", "--username", "ops@deyor.test", "--firstname", "Ops",
        "--lastname", "Admin", "--email", "ops@deyor.test", "--password", "first-password-1",
    ])
    assert result.exit_code == 0 and "created" in result.output.lower(), result.output
    assert "/login" not in login(app.test_client(), "ops@deyor.test", "first-password-1").headers["Location"]

    result = runner.invoke(args=["reset-password", "OPS@deyor.test", "--password", "second-password-2"])
    assert result.exit_code == 0, result.output
    assert "/login" in login(app.test_client(), "ops@deyor.test", "first-password-1").headers["Location"]
    assert "/login" not in login(app.test_client(), "ops@deyor.test", "second-password-2").headers["Location"]

    assert runner.invoke(args=["reset-password", "nobody@deyor.test", "--password", "whatever-123"]).exit_code != 0
    assert runner.invoke(args=["reset-password", "ops@deyor.test", "--password", "short"]).exit_code != 0


def test_migrations_match_the_models(app):
    """`flask db check`: no model change is missing a migration."""
    from flask_migrate import check

    check()


# --- request safety ---------------------------------------------------------------------
def test_forms_need_a_csrf_token(app, make_person, make_ticket, client_for, monkeypatch):
    agent = make_person("Ari Agent", "Agent", (INTL,))
    ticket = make_ticket(agent)
    client = client_for(agent)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/tickets/comment/{ticket.id}", data={"body": "forged"})
    assert response.status_code == 400
    assert db.session.query(Comment).count() == 0


def test_agent_token_opens_no_security_api(app, make_person):
    agent = make_person("Ari Agent", "Agent", (INTL,))
    client = app.test_client()
    token = client.post("/api/v1/security/login",
                        json={"username": agent.email, "password": PASSWORD, "provider": "db"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for url in ("/api/v1/security/users/", "/api/v1/security/roles/", "/api/v1/security/permissions/"):
        assert client.get(url, headers=headers).status_code == 403, url


# --- the `make run` path, as a process -------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (Linux /proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words))
    return found


def test_fresh_database_migrates_sets_up_and_serves(tmp_path):
    env = {
        **os.environ,
        "HOST": "",  # the default
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "ADMIN_EMAIL": "first@deyor.test",
        "ADMIN_PASSWORD": "first-admin-pass",
        "PORT": str(_free_port()),
    }
    env.pop("FLASK_SECRET_KEY", None)
    flask = [sys.executable, "-m", "flask", "--app", "run.py"]
    for args in (["db", "upgrade"], ["setup"]):
        done = subprocess.run(flask + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "Admin created: first@deyor.test" in done.stdout
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer /health")
        assert listening_addresses(int(env["PORT"])) == {"127.0.0.1"}  # not 0.0.0.0: this machine only
        with urllib.request.urlopen(f"{base}/ready", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:
            assert b"Deyor Escalations" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_render_blueprint_matches_the_app():
    import yaml

    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    services = {service["type"]: service for service in blueprint["services"]}
    web, worker = services["web"], services["worker"]
    assert web["healthCheckPath"] == "/health"
    assert "db upgrade" in web["preDeployCommand"] and "setup" in web["preDeployCommand"]
    assert web["startCommand"].startswith("gunicorn run:app")
    assert worker["startCommand"] == "flask --app run.py worker run"
    web_env = {var["key"]: var for var in web["envVars"] if "key" in var}
    assert web_env["PROXY_FIX_HOPS"]["value"] == "1"  # Render's one proxy, trusted by the web service only
    # The login rate limit's counts live in the blueprint's Key Value instance, closed to outside.
    store = web_env["RATELIMIT_STORAGE_URI"]["fromService"]
    assert store["type"] == "keyvalue" and store["property"] == "connectionString"
    keyvalue = next(s for s in blueprint["services"] if s["type"] == "keyvalue" and s["name"] == store["name"])
    assert keyvalue["ipAllowList"] == []
    documented = set((ROOT / ".env.example").read_text().replace("# ", "").split())
    for service in (web, worker):
        for var in service["envVars"]:
            if "key" in var and var["key"] != "PYTHON_VERSION":
                assert any(line.startswith(var["key"] + "=") for line in documented), var["key"]
