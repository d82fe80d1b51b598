"""gunicorn.conf.py's hooks keep `--preload` safe: no pooled database connection crosses the fork."""
from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.conftest import build_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hooks():
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


@pytest.fixture
def preloaded(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'preload.db'}")
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # a connection now sits in the pool
        db.session.remove()
        assert db.engine.pool.checkedin() == 1
    yield app
    gc.unfreeze()
    with app.app_context():
        db.engine.dispose()


def test_the_master_drops_its_connections_and_freezes_its_objects_before_forking(hooks, preloaded):
    hooks["when_ready"](SimpleNamespace(app=SimpleNamespace(callable=preloaded)))
    with preloaded.app_context():
        assert db.engine.pool.checkedin() == 0
    assert gc.get_freeze_count() > 0


def test_a_worker_starts_with_a_pool_of_its_own(hooks, preloaded):
    with preloaded.app_context():
        inherited = db.engine.pool
    hooks["post_fork"](SimpleNamespace(app=SimpleNamespace(callable=preloaded)), worker=None)
    with preloaded.app_context():
        assert db.engine.pool is not inherited and db.engine.pool.checkedin() == 0
        assert db.session.execute(text("SELECT 1")).scalar() == 1  # and it connects anew


def test_without_preload_the_hooks_do_nothing(hooks, preloaded):
    before = gc.get_freeze_count()
    server = SimpleNamespace(app=SimpleNamespace(callable=None))  # the master loaded no app
    hooks["when_ready"](server)
    hooks["post_fork"](server, worker=None)
    with preloaded.app_context():
        assert db.engine.pool.checkedin() == 1
    assert gc.get_freeze_count() == before
