"""gunicorn's settings file (read from the working directory): hooks that keep `--preload` safe.

With `--preload` the master imports the app once and forks the workers from it, so they share
its memory copy-on-write. A database connection opened in the master before the fork would be
one socket used by several processes: the master drops its pooled connections once the app is
loaded, and each worker starts with a pool of its own (`dispose(close=False)` leaves the
inherited connections to the master, SQLAlchemy's recipe for pools across fork). Without
`--preload` nothing is loaded before the fork and both hooks do nothing.
"""
from __future__ import annotations

import gc


def _dispose_engines(server, close: bool) -> None:
    app = getattr(server.app, "callable", None)  # the WSGI app, when the master loaded it (preload)
    if app is None or not hasattr(app, "app_context"):
        return
    from app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=close)


def when_ready(server) -> None:
    """In the master, after loading the app and before forking the first workers."""
    _dispose_engines(server, close=True)
    if getattr(server.app, "callable", None) is not None:
        # Move every object the master made into the permanent generation: the workers' garbage
        # collections then never write to them, so fewer shared pages get copied on write.
        gc.collect()
        gc.freeze()


def post_fork(server, worker) -> None:
    """In each new worker, before it serves: never a connection of the master's pool."""
    _dispose_engines(server, close=False)
