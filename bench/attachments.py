"""A 10 MB attachment through gunicorn: upload time, download throughput, and how much the
worker's memory grows (the file is streamed in pieces, never held whole, let alone twice).

For each backend the bench prepares a fresh database (migrations and `flask setup`, an agent
and a ticket), starts `gunicorn run:app --workers 1` on it, and over HTTP:
- uploads a file of just under ATTACHMENT_MAX_MB (POST /api/v1/attachment/, multipart), a CSV
  of random digits so neither compression nor a thumbnail helps;
- downloads it --downloads times (GET /attachments/<id>/download, read in 1 MB pieces) and
  checks its SHA-256;
- reads the worker's VmRSS and peak VmHWM from /proc before, after the upload and after the
  downloads.

Targets (issue 14): worker RSS grows by less than 2× the file size; download ≥ 50 MB/s on
PostgreSQL.

    python -m bench.attachments [--backends sqlite,postgresql] [--downloads 5] [--report docs/PERFORMANCE.md]

PostgreSQL: a database deyor_bench_attachments on the server of $BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), made anew each run and dropped after.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.load import _children, _gunicorn, memory_mb as memory
from bench.smtp_latency import write_section

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Attachments: a 10 MB file through gunicorn"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "deyor_bench_attachments"
FILE_BYTES = 10 * 1024 * 1024 - 4096  # just under the default ATTACHMENT_MAX_MB
RSS_FACTOR_TARGET = 2.0
PG_THROUGHPUT_TARGET = 50.0  # MB/s
MB = 1024 * 1024


def _file() -> bytes:
    rng = random.Random(14)
    line = lambda: ",".join(str(rng.randrange(10 ** 9)) for _ in range(8)) + "\n"  # noqa: E731
    out = io.StringIO()
    while out.tell() < FILE_BYTES:
        out.write(line())
    return out.getvalue().encode()[:FILE_BYTES - 1] + b"\n"


def _prepare(url: str) -> int:
    """Migrate and set up `url`; an agent and a ticket; the ticket's id."""
    from app.extensions import db
    from app.models import Ticket
    from tests.conftest import INTL, PASSWORD, build_app, team

    app = build_app(url, TESTING=False)
    with app.app_context():
        sm = app.appbuilder.sm
        agent = sm.add_user(username="bench.agent@deyor.test", first_name="Bench", last_name="Agent",
                            email="bench.agent@deyor.test", role=sm.find_role("Agent"), password=PASSWORD)
        agent.teams = [team(INTL)]
        ticket = Ticket(team=team(INTL), created_by=agent, subject="Bench ticket", booking_id="BEN-0001",
                        priority="High")
        db.session.add(ticket)
        db.session.commit()
        ticket_id = ticket.id
        db.session.remove()
        db.engine.dispose()
    return ticket_id


def _start(url: str, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    from tests.conftest import free_port

    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "RATELIMIT_"))}
    env.pop("RENDER", None)
    env.update(DATABASE_URL=url, FLASK_SECRET_KEY=uuid.uuid4().hex * 2, OUTBOX_IN_PROCESS="0",
               AUTH_RATE_LIMITED="0")
    with log.open("w") as out:
        process = subprocess.Popen(
            _gunicorn() + ["run:app", "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                           "--no-control-socket"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer on {base}/health")
        time.sleep(0.2)
    return process, base, log


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def measure(url: str, downloads: int, payload: bytes) -> dict:
    import requests

    from tests.conftest import PASSWORD

    ticket_id = _prepare(url)
    with tempfile.TemporaryDirectory() as tmp:
        process, base, _log = _start(url, Path(tmp))
        try:
            session = requests.Session()
            token = session.post(f"{base}/api/v1/security/login", json={
                "username": "bench.agent@deyor.test", "password": PASSWORD, "provider": "db"}).json()["access_token"]
            session.headers["Authorization"] = f"Bearer {token}"
            assert session.get(f"{base}/api/v1/ticket/{ticket_id}").status_code == 200  # warm the worker
            worker = _children(process.pid)[0]
            before = memory(worker)

            started = time.perf_counter()
            answer = session.post(f"{base}/api/v1/attachment/", data={"ticket": str(ticket_id)},
                                  files={"file": ("bench.csv", payload, "text/csv")})
            upload_seconds = time.perf_counter() - started
            assert answer.status_code == 201, answer.text[:300]
            attachment_id = answer.json()["id"]
            after_upload = memory(worker)

            seconds = []
            for _ in range(downloads):
                digest = hashlib.sha256()
                started = time.perf_counter()
                with session.get(f"{base}/api/v1/attachment/{attachment_id}/download", stream=True) as response:
                    assert response.status_code == 200
                    for piece in response.iter_content(MB):
                        digest.update(piece)
                seconds.append(time.perf_counter() - started)
                assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
            after_downloads = memory(worker)
        finally:
            _stop(process)
    size_mb = len(payload) / MB
    growth = max(after_upload["rss"], after_downloads["rss"], after_downloads["peak"]) - before["rss"]
    return {
        "file_mb": round(size_mb, 2),
        "upload_seconds": round(upload_seconds, 3),
        "download_mb_per_s": round(size_mb / min(seconds), 1),
        "download_mb_per_s_median": round(size_mb / sorted(seconds)[len(seconds) // 2], 1),
        "rss_before_mb": round(before["rss"], 1),
        "rss_after_upload_mb": round(after_upload["rss"], 1),
        "rss_after_downloads_mb": round(after_downloads["rss"], 1),
        "peak_after_mb": round(after_downloads["peak"], 1),
        "peak_before_mb": round(before["peak"], 1),
        "growth_mb": round(growth, 1),
        "growth_factor": round(growth * 1e6 / len(payload), 2),  # memory() is in 10^6 bytes
    }


def _pg_database(base_url: str) -> Optional[str]:
    url = make_url(base_url).set(drivername="postgresql+psycopg2")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    except Exception as exc:  # noqa: BLE001 (no server: skipped with a message)
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None
    finally:
        admin.dispose()
    return url.set(database=PG_DATABASE).render_as_string(hide_password=False)


def _drop_pg(base_url: str) -> None:
    url = make_url(base_url).set(drivername="postgresql+psycopg2")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def report(results: dict) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.attachments` on {platform.machine()} ({os.cpu_count()} cores, shared with other work: "
        "timings are indicative). One gunicorn worker; a file of just under 10 MB uploaded once "
        "(`POST /api/v1/attachment/`) and downloaded several times (`/api/v1/attachment/<id>/download`, "
        "SHA-256 checked). Memory: the worker's VmRSS before the upload, and the largest of VmRSS after "
        "the upload, after the downloads and the peak (VmHWM), minus it.",
        "",
        "| backend | file | upload | download (best / median) | worker RSS before → after upload → after downloads | "
        "peak | growth | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        targets = [f"growth < {RSS_FACTOR_TARGET:g}× file: {'met' if r['growth_factor'] < RSS_FACTOR_TARGET else 'MISSED'}"]
        if backend == "postgresql":
            met = r["download_mb_per_s"] >= PG_THROUGHPUT_TARGET
            targets.append(f"≥ {PG_THROUGHPUT_TARGET:g} MB/s: {'met' if met else 'MISSED'}")
        lines.append(
            f"| {backend} | {r['file_mb']} MB | {r['upload_seconds']} s | {r['download_mb_per_s']} / "
            f"{r['download_mb_per_s_median']} MB/s | {r['rss_before_mb']} → {r['rss_after_upload_mb']} → "
            f"{r['rss_after_downloads_mb']} MB | {r['peak_after_mb']} MB | {r['growth_mb']} MB "
            f"({r['growth_factor']}× file) | {'; '.join(targets)} |")
    lines += [
        "",
        "Why it holds: Werkzeug spools the uploaded part to a temporary file past 500 KB; the service "
        "reads it in 512 KB pieces (size, SHA-256, type) and writes one `attachment_chunk` row per piece; "
        "the download streams one piece per statement on a connection of its own. The ticket list and "
        "page never read `attachment_chunk` (tests/test_queries.py checks their statements).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--downloads", type=int, default=5)
    parser.add_argument("--report", type=Path, default=None, help=f"Markdown file whose '{SECTION}' section to write")
    args = parser.parse_args(argv)
    payload = _file()
    results: dict = {}
    pg_base = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results[backend] = measure(f"sqlite:///{Path(tmp) / 'attachments.db'}", args.downloads, payload)
        elif backend == "postgresql":
            url = _pg_database(pg_base)
            if url is None:
                continue
            try:
                results[backend] = measure(url, args.downloads, payload)
            finally:
                _drop_pg(pg_base)
        print(backend, json.dumps(results.get(backend)), flush=True)
    text_report = report(results)
    print(text_report)
    if args.report:
        write_section(args.report, text_report)
        figures = args.report.parent / "performance.json"
        data = json.loads(figures.read_text()) if figures.exists() else {}
        data["attachments"] = results
        figures.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
