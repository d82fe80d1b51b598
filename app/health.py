"""Liveness and readiness, outside FAB security."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/health")
def live():
    """The process answers; the database is not touched."""
    return jsonify(status="ok")


@health.get("/ready")
def ready():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"; details go to the log only
        log.exception("readiness check failed")
        db.session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ready")
