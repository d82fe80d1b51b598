"""The audit log's one door: `record()` adds an event to the session of the change it
records, so both commit together or neither does (a failed change leaves no event).

Who and from where default to the request's logged-in person and client address (the
proxy-aware one: ProxyFix has rewritten `remote_addr` when PROXY_FIX_HOPS is set).
"""
from __future__ import annotations

from typing import Any, Optional

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from .extensions import db
from .models.audit import AuditEvent

_CURRENT = object()  # "whoever is logged in", the default actor


def _current_person() -> Any:
    if not has_request_context():
        return None
    person = current_user._get_current_object() if current_user else None
    return person if getattr(person, "is_authenticated", False) else None


def record(
    kind: str,
    *,
    object_type: Optional[str] = None,
    object_id: Any = None,
    details: Optional[dict] = None,
    actor: Any = _CURRENT,
    email: Optional[str] = None,
    session: Optional[Session] = None,
) -> AuditEvent:
    """Add one event to `session` (default: the request's) without committing it."""
    person = _current_person() if actor is _CURRENT else actor
    event = AuditEvent(
        kind=kind,
        actor_id=getattr(person, "id", None),
        email=email or getattr(person, "email", None),
        address=request.remote_addr if has_request_context() else None,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or None,
    )
    (session or db.session).add(event)
    return event
