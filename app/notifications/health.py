"""Is email going out? The admins' banner asks this on every page, so it is one indexed query
(notification (state, created_at)) whose answer is kept for a short while per process.

An email is failing when its last attempt went wrong: given up (`failed`), or waiting for its
next try after an error (`pending` with attempts). The banner shows when such an email was
queued more than ALERT_AFTER ago (one SMTP hiccup that the next try cures shows nothing) and
within LOOKBACK (an old failure an admin chose to leave alone does not stay up for ever).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import and_, func, or_, select

from ..models import FAILED, PENDING, Notification

ALERT_AFTER = timedelta(minutes=15)
LOOKBACK = timedelta(hours=24)
CACHE_SECONDS = 30.0

_cache: dict[str, tuple[float, Optional[datetime]]] = {}
_lock = threading.Lock()


def failing_clause():
    return or_(Notification.state == FAILED, and_(Notification.state == PENDING, Notification.attempts > 0))


def failing_since(session, now: datetime) -> Optional[datetime]:
    """When the oldest email still failing was queued, if that is more than ALERT_AFTER before
    `now` (naive UTC) and within LOOKBACK; else None."""
    return session.scalar(
        select(func.min(Notification.created_at)).where(
            Notification.state.in_((FAILED, PENDING)),
            Notification.created_at.between(now - LOOKBACK, now - ALERT_AFTER),
            failing_clause(),
        )
    )


def cached_failing_since(session, now: datetime, key: str = "default",
                         monotonic=time.monotonic) -> Optional[datetime]:
    """failing_since, asked at most once per CACHE_SECONDS per process (and `key`: the database)."""
    with _lock:
        hit = _cache.get(key)
        if hit is not None and monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    answer = failing_since(session, now)
    with _lock:
        _cache[key] = (monotonic(), answer)
    return answer


def forget() -> None:
    """Drop the kept answers (after a retry, and in tests)."""
    with _lock:
        _cache.clear()
