"""Requests per second at saturation under gunicorn, and the memory of its workers.

For each dataset (the page bench's databases, seeded once and reused) the bench
starts the production command (`gunicorn run:app --workers 2 --preload`, as in
render.yaml) on a free loopback port with APP_ENV=production, logs in over HTTP as
the page bench's Agent (who sees about 2,000 tickets) and Admin, and runs `wrk`
against the ticket list with each session cookie, against two queue views (the
agent's "My open tickets", the admin's "Urgent": the list with filters and a sort),
and against the framework floor under the same server: the bare Flask endpoint
/health and a near-empty FAB list page (the admin's founder list, a plain ModelView
over three rows). Each page gets a warm-up, then the pages take turns at each
connection count, so drift of a shared machine hits them alike; the list pages'
requests per second are also given as a ratio to the near-empty FAB list page's,
the queues' to the same person's plain list. Every response must be a 2xx (a login
that did not stick gives 302s; the bench stops).

Memory of the master and of each worker, from /proc: RSS (VmRSS, and the kernel's
peak VmHWM) and PSS (the "Pss:" line of /proc/<pid>/smaps_rollup, Linux 4.14+: each
page shared by n processes counts 1/n, so the pages the workers share with the
master through --preload's copy-on-write count once in all). The kernel keeps no
peak PSS: the bench samples it once the server answers, every second while wrk
runs, and after the runs, and keeps the largest sample. The target is on PSS.

    python -m bench.load [--sizes sqlite:100000,postgresql:100000,postgresql:1000000]
                         [--connections 2,4,8] [--duration 15] [--warmup 5]
                         [--max-seconds 300] [--no-preload] [--report docs/PERFORMANCE.md]

Needs `wrk` (Debian: `apt-get install wrk`) and Linux (/proc).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

from bench.pages import (ADMIN_PASSWORD, RESULTS_NAME, Cast, Dataset, add_dataset_arguments, build, parse_sizes,
                         prepare_database, reachable_datasets, record_count, rows_text, say, write_results)
from bench.smtp_latency import _free_port, write_section

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Load"
WORKERS = 2
# render.yaml's startCommand (less its --bind), on loopback. --preload imports the app once in the
# master, so the workers share its pages copy-on-write (gunicorn.conf.py drops the master's
# database connections before the fork).
GUNICORN_ARGS = ["run:app", "--workers", str(WORKERS), "--preload", "--timeout", "60", "--access-logfile", "-"]
PRELOAD = "--preload"
LIST_URL = "/tickets/list/"
BARE_URL = "/health"  # a bare Flask endpoint: no login, no database
# A plain FAB ModelView of the app (app/views/admin.py) over the three founders: plain columns only.
# Not the team list: FAB's filter form there offers every person as a choice for its Members
# filter (1,100 <option>s with the 1M dataset's people), so its cost grows with the people.
FAB_FLOOR_URL = "/founders/list/"
FLOOR_MAX_ROWS = 10
FLOOR_MAX_OPTIONS = 50
WRK_TIMEOUT = "30s"  # a request slower than this counts as a socket error (timeout)
BOOT_SECONDS = 90
SAMPLE_SECONDS = 1.0  # how often memory is sampled while wrk runs

# Targets (list page, under gunicorn).
TARGET_RPS = 150
TARGET_WORKER_PSS_MB = 100  # PSS: pages shared with the master and the other worker count once

AGENT, ADMIN = "list (agent)", "list (admin)"
AGENT_QUEUE, ADMIN_QUEUE = "queue My open tickets (agent)", "queue Urgent (admin)"
BARE, FAB_FLOOR = "bare Flask endpoint", "near-empty FAB list page"
LIST_PAGES = (AGENT, ADMIN, AGENT_QUEUE, ADMIN_QUEUE)
PLAIN_LIST = {AGENT_QUEUE: AGENT, ADMIN_QUEUE: ADMIN}  # a queue → the same person's plain list
FLOORS = (BARE, FAB_FLOOR)

# Counts every response that is not a 2xx (wrk's own "Non-2xx or 3xx" counter ignores 3xx, so a
# login that did not stick, answering 302 to the login page, would pass unnoticed) and prints
# wrk's figures as one JSON line.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_bad = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then first_bad = status end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    if first == 0 then first = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "first_bad_status": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, bad, first, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


# --- wrk --------------------------------------------------------------------------------
def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench.load needs wrk, an HTTP load generator, and it is not installed. "
                         "On Debian/Ubuntu: `sudo apt-get install wrk` (`make bench` installs it when run as root).")
    return path


@dataclass
class WrkRun:
    page: str
    connections: int
    seconds: float
    requests: int
    non2xx: int
    first_bad_status: int
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.values())


def run_wrk(wrk: str, url: str, headers: dict[str, str], connections: int, seconds: float, script: Path,
            page: str = "") -> WrkRun:
    """One time-bounded wrk run (one thread: wrk is light, the server gets the CPUs)."""
    command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", WRK_TIMEOUT,
               "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH-JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")
    data = json.loads(line[len("BENCH-JSON "):])
    return WrkRun(page, connections, data["duration_us"] / 1e6, data["requests"], data["non2xx"],
                  data["first_bad_status"], data["errors"],
                  {k: v / 1000 for k, v in data["latency_us"].items()})


# --- gunicorn -----------------------------------------------------------------------------
def _gunicorn() -> list[str]:
    """The gunicorn of this Python's environment (the venv's)."""
    script = Path(sys.executable).parent / "gunicorn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after "(comm)" and the state
            found.append(int(entry))
    return sorted(found)


def parse_pss_kb(smaps: str) -> int:
    """The PSS in kB from /proc/<pid>/smaps_rollup (one "Pss:" line), or the sum of the
    mappings' "Pss:" lines of /proc/<pid>/smaps (kernels before 4.14 have no rollup). The
    rollup's "Pss_Anon:"/"Pss_File:"/… breakdown lines are not counted again."""
    values = re.findall(r"^Pss:\s+(\d+) kB", smaps, re.M)
    if not values:
        raise ValueError("no Pss: line")
    return sum(int(kb) for kb in values)


def pss_mb(pid: int) -> float:
    """Proportional set size of a process in MB (10^6 bytes): each page counted 1/n for the n
    processes that map it."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except FileNotFoundError:  # Linux < 4.14
        text = Path(f"/proc/{pid}/smaps").read_text()
    return parse_pss_kb(text) * 1024 / 1e6


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now), VmHWM (peak RSS) and PSS (now) of a process, in MB (10^6 bytes)."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = {key: int(kb) * 1024 / 1e6 for key, kb in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return {"rss": values["VmRSS"], "peak": values["VmHWM"], "pss": pss_mb(pid)}


class MemorySampler:
    """The largest PSS and RSS seen per process (the kernel tracks a peak RSS, VmHWM, but no peak
    PSS): `sample()` on demand, and a thread sampling every `interval` seconds while running."""

    def __init__(self, pids: list[int], interval: float = SAMPLE_SECONDS) -> None:
        self.pids = pids
        self.interval = interval
        self.max_pss = {pid: 0.0 for pid in pids}
        self.max_rss = {pid: 0.0 for pid in pids}
        self.samples = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample(self) -> dict[int, dict[str, float]]:
        now = {}
        for pid in self.pids:
            try:
                now[pid] = memory_mb(pid)
            except (OSError, KeyError, ValueError):  # a process that just ended: its last sample stands
                continue
            self.max_pss[pid] = max(self.max_pss[pid], now[pid]["pss"])
            self.max_rss[pid] = max(self.max_rss[pid], now[pid]["rss"])
        self.samples += 1
        return now

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "MemorySampler":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Server:
    """`gunicorn run:app --workers 2 --preload` on a free loopback port, configured as in production."""

    def __init__(self, database_url: str, workdir: Path, args: Optional[list[str]] = None) -> None:
        self.args = list(GUNICORN_ARGS if args is None else args)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "TEAM_EMAILS_"))}
        env.update(
            APP_ENV="production",
            FLASK_SECRET_KEY=os.urandom(32).hex(),  # 64 characters; production refuses fewer than 32
            DATABASE_URL=database_url,
            OUTBOX_IN_PROCESS="0",  # production sends from its own process (`flask outbox run`)
            BASE_URL=self.base,
            PYTHONUNBUFFERED="1",
        )
        env.pop("RENDER", None)
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            # (no control socket: gunicorn 27 puts one at ~/.gunicorn/gunicorn.ctl, shared by
            # every instance on the host, and tests start gunicorn side by side)
            _gunicorn() + self.args + ["--bind", f"127.0.0.1:{self.port}", "--no-control-socket"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers: list[int] = []
        self.boot: dict[int, dict[str, float]] = {}

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.closed:
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self) -> None:
        import requests

        deadline = time.monotonic() + BOOT_SECONDS
        session = requests.Session()
        session.trust_env = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            workers = _children(self.process.pid)
            try:
                ok = session.get(self.base + "/health", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            if ok and len(workers) == WORKERS:
                self.workers = workers
                self.boot = {pid: memory_mb(pid) for pid in [self.process.pid] + workers}
                return
            time.sleep(0.25)
        raise SystemExit(f"gunicorn did not answer /health within {BOOT_SECONDS} s:\n{self.log_tail()}")

    def memory(self) -> dict[int, dict[str, float]]:
        now = _children(self.process.pid)
        if now != self.workers:
            raise SystemExit(f"gunicorn replaced workers during the run ({self.workers} → {now}); its log:\n"
                             f"{self.log_tail()}")
        return {pid: memory_mb(pid) for pid in [self.process.pid] + self.workers}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group started for this server
                self.process.wait()
        self.log.close()


def login(base: str, email: str, password: str) -> str:
    """Log in through the login form (with its CSRF token); the session cookie as a Cookie header.

    The session cookie is Secure (production) and this is plain HTTP on loopback: the bench stands
    where Render's TLS-terminating proxy stands (and says so with X-Forwarded-Proto), so it carries
    the cookie itself instead of leaving it to a cookie jar that keeps Secure cookies for HTTPS."""
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy from the environment
    session.headers.update(PROXY_HEADERS)
    jar: dict[str, str] = {}

    def cookie_header() -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())} if jar else {}

    page = session.get(base + "/login/", timeout=30)
    jar.update({c.name: c.value for c in page.cookies})
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if page.status_code != 200 or token is None:
        raise SystemExit(f"the login page answered {page.status_code} without a CSRF token")
    # Flask-WTF checks that a POST over HTTPS comes from the same origin, as a browser's Referer says.
    referer = "https://" + base.split("://", 1)[1] + "/login/"
    answer = session.post(base + "/login/", data={"username": email, "password": password,
                                                  "csrf_token": token.group(1)},
                          headers={"Referer": referer, **cookie_header()}, allow_redirects=False, timeout=30)
    jar.update({c.name: c.value for c in answer.cookies})
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise SystemExit(f"login over HTTP failed for {email}: {answer.status_code} "
                         f"{answer.headers.get('Location', '')}")
    return cookie_header()["Cookie"]


PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}


def check_page(base: str, url: str, cookie: Optional[str]) -> Optional[tuple[int, bool]]:
    """The page answers 200 with what it claims (not the login page): a list page's record count
    (and whether it is a lower bound, "10,000+"), None for the bare endpoint."""
    import requests

    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy from the environment
    headers = {**({"Cookie": cookie} if cookie else {}), **PROXY_HEADERS}
    answer = session.get(base + url, headers=headers, allow_redirects=False, timeout=60)
    if url == BARE_URL:
        if answer.status_code != 200 or b'"ok"' not in answer.content:
            raise SystemExit(f"{url} answered {answer.status_code}, not the health check")
        return None
    found = record_count(answer.content)
    if answer.status_code != 200 or found is None:
        raise SystemExit(f"{url} with the session cookie answered {answer.status_code} "
                         f"{answer.headers.get('Location', '')}, not a list page")
    if url == FAB_FLOOR_URL:
        # FAB puts its filter form's fields into the page as JSON: "<option" written as "\u003coption".
        options = answer.content.count(b"<option") + answer.content.count(b"\\u003coption")
        if found[0] > FLOOR_MAX_ROWS or found[1] or options > FLOOR_MAX_OPTIONS:
            raise SystemExit(f"{url} is no near-empty FAB list page: {rows_text(*found)} rows, {options} "
                             "<option>s in its filter form")
    return found


# --- one dataset ----------------------------------------------------------------------------
@dataclass
class Target:
    """One page driven by wrk: its URL and whose session (None: no login)."""
    page: str
    url: str
    who: Optional[str]


def _queue_url(key: str) -> str:
    from app.tickets.queues import QUEUES

    return next(queue.href for queue in QUEUES if queue.key == key)


# The queues are the list's own URL with filters and a sort (app/tickets/queues.py).
PAGES = (Target(BARE, BARE_URL, None), Target(FAB_FLOOR, FAB_FLOOR_URL, ADMIN),
         Target(AGENT, LIST_URL, AGENT), Target(ADMIN, LIST_URL, ADMIN),
         Target(AGENT_QUEUE, _queue_url("my_open"), AGENT), Target(ADMIN_QUEUE, _queue_url("urgent"), ADMIN))


@dataclass
class Result:
    dataset: Dataset
    cast: Cast
    db_version: str
    rows: dict[str, tuple[int, bool]]  # list page → record count, and whether it is a lower bound
    runs: list[WrkRun]
    boot: dict[str, dict[str, float]]  # process label → rss/peak/pss MB once /health answers
    memory: dict[str, dict[str, float]]  # … after the runs, with max_pss/max_rss: the largest samples
    seconds: float  # measured seconds per run
    load_before: float = 0.0
    notes: list[str] = field(default_factory=list)
    preload: bool = True
    samples: int = 0  # memory samples taken (boot and after the runs included)

    def has(self, page: str) -> bool:
        return any(r.page == page for r in self.runs)

    def best(self, page: str) -> WrkRun:
        return max((r for r in self.runs if r.page == page), key=lambda r: r.rps)

    def ratio(self, page: str, floor: str = FAB_FLOOR) -> float:
        """Best req/s of `page` over the best of a floor page."""
        floor_rps = self.best(floor).rps
        return self.best(page).rps / floor_rps if floor_rps else 0.0

    def _workers(self, values: dict[str, dict[str, float]], key: str) -> float:
        return max(m[key] for label, m in values.items() if label != "master")

    @property
    def worker_pss_mb(self) -> float:
        """The target's figure: the largest PSS sampled in any worker."""
        return self._workers(self.memory, "max_pss")

    @property
    def worker_peak_rss_mb(self) -> float:
        return self._workers(self.memory, "peak")

    @property
    def worker_boot_pss_mb(self) -> float:
        return self._workers(self.boot, "pss")

    @property
    def worker_boot_rss_mb(self) -> float:
        return self._workers(self.boot, "rss")


def _labelled(pids: list[int], master: int, values: dict[int, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Process labels ("master", "worker 1", …) for per-pid figures."""
    workers = [pid for pid in pids if pid != master]
    return {("master" if pid == master else f"worker {workers.index(pid) + 1}"): values[pid] for pid in pids}


def plan_seconds(connections: list[int], duration: float, warmup: float, max_seconds: float,
                 pages: int = len(PAGES)) -> tuple[float, float]:
    """Run and warm-up durations that fit the budget: pages × (warm-up + one run per connection count)."""
    planned = pages * (warmup + len(connections) * duration)
    if planned <= max_seconds:
        return duration, warmup
    scale = max_seconds / planned
    return max(1.0, round(duration * scale)), max(1.0, round(warmup * scale))


def measure(ds: Dataset, url: str, cast: Cast, db_version: str, connections: list[int], duration: float,
            warmup: float, max_seconds: float, wrk: str, workdir: Path, preload: bool = True) -> Result:
    from app.demo.seed import DEMO_PASSWORD

    seconds, warm = plan_seconds(connections, duration, warmup, max_seconds)
    notes = []
    if seconds < duration:
        notes.append(f"runs shortened to {seconds:g} s (warm-up {warm:g} s) to fit --max-seconds {max_seconds:g}")
        say(f"[{ds.label}] {notes[-1]}")
    script = workdir / "count-non-2xx.lua"
    script.write_text(WRK_SCRIPT)
    args = GUNICORN_ARGS if preload else [a for a in GUNICORN_ARGS if a != PRELOAD]
    say(f"[{ds.label}] starting gunicorn ({WORKERS} workers{', preloaded' if preload else ', no --preload'}) …")
    server = Server(url, workdir, args)
    try:
        server.wait_ready()
        pids = [server.process.pid] + server.workers
        boot = _labelled(pids, server.process.pid, server.boot)
        sampler = MemorySampler(pids)
        sampler.sample()  # the boot figures count as samples too
        cookies = {AGENT: login(server.base, cast.agent_email, DEMO_PASSWORD),
                   ADMIN: login(server.base, cast.admin_email, ADMIN_PASSWORD)}
        rows = {}
        for target in PAGES:
            found = check_page(server.base, target.url, cookies.get(target.who))
            if found is not None:
                rows[target.page] = found
        admin_rows, capped = rows[ADMIN]
        if (admin_rows != ds.tickets) if not capped else (admin_rows >= ds.tickets):
            raise SystemExit(f"the admin's list shows {rows_text(admin_rows, capped)} tickets, "
                             f"the database holds {ds.tickets}")
        load_before = os.getloadavg()[0]
        headers = {t.page: {**({"Cookie": cookies[t.who]} if t.who else {}), **PROXY_HEADERS} for t in PAGES}
        for target in PAGES:
            say(f"[{ds.label}] {target.page} ({target.url}): warm-up {warm:g} s at {max(connections)} connections")
            warmed = run_wrk(wrk, server.base + target.url, headers[target.page], max(connections), warm, script,
                             target.page)
            _fail_on_non_2xx(warmed, server.log_tail)
        say(f"[{ds.label}] {seconds:g} s per page at each of {connections} connections, the pages in turn")
        runs = []
        with sampler:  # memory every SAMPLE_SECONDS while wrk runs
            for count in connections:
                for target in PAGES:
                    run = run_wrk(wrk, server.base + target.url, headers[target.page], count, seconds, script,
                                  target.page)
                    _fail_on_non_2xx(run, server.log_tail)
                    say(f"[{ds.label}] {target.page} ×{count}: {run.rps:.1f} req/s, "
                        f"p50 {run.latency_ms['p50']:.0f} ms, p99 {run.latency_ms['p99']:.0f} ms, "
                        f"{run.socket_errors} socket errors")
                    runs.append(run)
        order = {t.page: n for n, t in enumerate(PAGES)}
        runs.sort(key=lambda r: order[r.page])  # stable: each page's runs by connection count
        after = server.memory()  # also checks that no worker was replaced
        sampler.sample()
        for pid, mem in after.items():
            mem["max_pss"] = max(sampler.max_pss[pid], mem["pss"])
            mem["max_rss"] = max(sampler.max_rss[pid], mem["rss"])
        memory = _labelled(pids, server.process.pid, after)
        say(f"[{ds.label}] memory (MB): " + "; ".join(
            f"{label} RSS {m['rss']:.1f} (peak {m['peak']:.1f}), PSS {m['pss']:.1f} (max {m['max_pss']:.1f})"
            for label, m in memory.items()))
    finally:
        server.stop()
    return Result(ds, cast, db_version, rows, runs, boot, memory, seconds, load_before, notes, preload,
                  sampler.samples)


def _fail_on_non_2xx(run: WrkRun, log_tail) -> None:
    """Stop the bench when a run had a response other than 2xx, or none at all."""
    if run.non2xx:
        hint = " (a redirect: the session did not stick?)" if 300 <= run.first_bad_status < 400 else ""
        raise SystemExit(f"{run.page} at {run.connections} connections: {run.non2xx} of {run.requests} responses "
                         f"were not 2xx, the first {run.first_bad_status}{hint}. gunicorn's log:\n"
                         f"{log_tail()}")
    if run.requests == 0:
        raise SystemExit(f"{run.page} at {run.connections} connections: no response at all "
                         f"(socket errors {run.errors}). gunicorn's log:\n{log_tail()}")


def prepare(ds: Dataset, pg_url: str, sqlite_dir: Path) -> tuple[str, Cast, str]:
    """The page bench's database and cast for `ds`; the in-process app is closed again."""
    from app.extensions import db
    from bench.pages import _db_version

    url, seeded = prepare_database(ds, pg_url, sqlite_dir)
    app, cast = build(ds, url, seeded)
    with app.app_context():
        version = _db_version(db.engine)
        db.session.remove()
        db.engine.dispose()
    return url, cast, version


# --- the report ------------------------------------------------------------------------------
def _miss(value: float, limit: float, unit: str, higher_is_better: bool) -> str:
    if higher_is_better:
        return "yes" if value >= limit else f"no: {limit - value:.1f} {unit} short ({value / limit:.0%} of the target)"
    return "yes" if value <= limit else f"no: +{value - limit:.1f} {unit} ({value / limit:.2f}× the target)"


WHOSE = {AGENT: "agent's list", ADMIN: "admin's list", AGENT_QUEUE: "agent's My open tickets queue",
         ADMIN_QUEUE: "admin's Urgent queue"}


def why_missed(res: Result) -> list[str]:
    """Why each missed target is missed, from this run's figures: the floor's own rate for the
    list pages, what a worker holds before any request for memory."""
    out = []
    lists = [page for page in LIST_PAGES if res.has(page) and res.best(page).rps < TARGET_RPS]
    if lists:
        fab, bare = res.best(FAB_FLOOR).rps, res.best(BARE).rps
        ratios = [(WHOSE[page], res.ratio(page)) for page in lists]
        reached = f"the {ratios[0][0]} reaches {ratios[0][1]:.2f}× of it" + "".join(
            f", the {who} {ratio:.2f}×" for who, ratio in ratios[1:])
        if fab < TARGET_RPS:
            text = (f"the near-empty FAB list page itself reaches {fab:.1f} req/s on this machine "
                    f"({TARGET_RPS - fab:.1f} req/s short of the target, {fab / TARGET_RPS:.0%} of it), so FAB's own "
                    f"rendering caps the list page at about that; {reached}. ")
            if bare < TARGET_RPS:
                text += (f"Even the bare Flask endpoint reaches only {bare:.1f} req/s here: gunicorn's sync workers, "
                         f"wrk and the database share {os.cpu_count()} CPUs, so this machine cannot show "
                         f"{TARGET_RPS} req/s for any page.")
            else:
                text += (f"The bare Flask endpoint reaches {bare:.1f} req/s, so gunicorn and the loopback are not "
                         f"the limit: the near-empty FAB list page runs at {fab / bare:.2f}× of it (FAB's security "
                         "checks with their SQL, the rows and FAB's list template).")
        else:
            text = (f"the near-empty FAB list page reaches {fab:.1f} req/s here, above the target, so the framework "
                    f"leaves room for it; {reached}. The gap is the list page's own work (its SQL statements and "
                    "the rendering of its 25 rows; the page bench's section shows how the time splits).")
        out.append(f"{res.dataset.label}, list pages: {text}")
    pss = res.worker_pss_mb
    if pss > TARGET_WORKER_PSS_MB:
        booted, booted_rss = res.worker_boot_pss_mb, res.worker_boot_rss_mb
        shared = ("with `--preload` the modules the master imported are shared copy-on-write, so this counts "
                  "them a third each" if res.preload else
                  "without `--preload` each worker imports the app itself, so it shares little with the others")
        out.append(
            f"{res.dataset.label}, worker memory: a worker's PSS is {booted:.1f} MB once it answers `/health` "
            f"({booted_rss:.1f} MB RSS; {shared}), before any list page (Python with Flask, FAB, SQLAlchemy and "
            "the app imported"
            + (f", already {booted - TARGET_WORKER_PSS_MB:+.1f} MB against the target"
               if booted > TARGET_WORKER_PSS_MB else "")
            + f"); the runs add {pss - booted:.1f} MB (rows, rendered pages, caches, allocator slack"
            + (", and the master's pages a worker writes to, which become its own copies" if res.preload else "")
            + ").")
    return out


def render(results: list[Result], skipped: list[str], connections: list[int], duration: float,
           warmup: float, preload: bool = True) -> str:
    out = [SECTION, ""]
    args = GUNICORN_ARGS if preload else [a for a in GUNICORN_ARGS if a != PRELOAD]
    command = f"`gunicorn {' '.join(args)}`, sync workers, " + (
        "as in render.yaml" if preload else "render.yaml's command **without `--preload`**, for comparison")
    out.append(
        f"Requests per second at saturation and worker memory under the production command "
        f"({command}) on loopback, with `APP_ENV=production` (Secure session cookie), a random 64-character "
        "`FLASK_SECRET_KEY` and the in-process outbox sender off. The bench logs in through the login form "
        "(CSRF token included) as the page bench's Agent and Admin and drives `GET /tickets/list/` with each "
        "session cookie and `X-Forwarded-Proto: https` (what Render's TLS proxy adds) using `wrk` (one thread; "
        "the sync workers close the connection after each response).")
    out.append("")
    queues = [t for t in PAGES if t.page in PLAIN_LIST]
    out.append(
        "Queue views are the same list with filters and a sort in its URL (`app/tickets/queues.py`); the bench "
        "drives " + " and ".join(f"**{t.page}** (`GET {t.url}`)" for t in queues)
        + ", each also given as a ratio to the same person's plain list.")
    out.append("")
    out.append(
        "This machine is shared and absolute rates drift, so the same server and the same wrk settings also "
        f"drive the framework floor: the **bare Flask endpoint** (`GET {BARE_URL}`, no login, no database) and "
        f"the **near-empty FAB list page** (`GET {FAB_FLOOR_URL}` as the admin: the app's plain FAB `ModelView` "
        "over the founder table, three rows of plain columns, FAB's own list template and filter form; not the "
        "team list, whose filter form offers every person as a choice and so grows with the people). The list "
        "pages' rates are given as a ratio to the near-empty FAB list page's, the figure to compare between runs.")
    out.append("")
    out.append(
        f"Each page gets a {warmup:g} s warm-up, then the pages take turns for {duration:g} s at each of "
        f"{', '.join(map(str, connections))} connections. *Best* is the connection count with the most requests "
        "per second; latencies are wrk's (client side, queueing included). Every response had to be a 2xx (a "
        "lost session answers 302: the bench stops). wrk, gunicorn and the database share this machine's CPUs, "
        "as they would not in production.")
    out.append("")
    out.append(
        "Memory in MB (10⁶ bytes) per process. **PSS** (proportional set size, the `Pss:` line of "
        "`/proc/<pid>/smaps_rollup`) counts a page shared by *n* processes 1/*n* in each, so what the workers "
        "share with the master (the imported modules, with `--preload`) counts once across them; the target "
        f"is on PSS. RSS (`VmRSS` of `/proc/<pid>/status`) counts every shared page in full in each process; "
        "*peak RSS* is the kernel's `VmHWM`. The kernel keeps no peak PSS: *max PSS* is the largest of samples "
        f"taken once `/health` answers, every {SAMPLE_SECONDS:g} s while wrk runs, and after the runs. With "
        "`--preload` the shared pages' PSS is split between the workers and the master (whose objects "
        "`gunicorn.conf.py` freezes before the fork, so the workers' garbage collections leave them shared): "
        "the sum over all processes, under each table, is the server's whole memory.")
    out.append("")
    for res in results:
        out.append(f"### {res.dataset.label} tickets ({res.db_version})")
        out.append("")
        out.append(f"{res.dataset.tickets:,} tickets; the agent's list shows {rows_text(*res.rows[AGENT])}, the "
                   f"admin's {rows_text(*res.rows[ADMIN])}; the near-empty FAB list page "
                   f"{rows_text(*res.rows[FAB_FLOOR])} rows. Load average before the runs: {res.load_before:.2f}."
                   + (" " + "; ".join(res.notes).capitalize() + "." if res.notes else ""))
        out.append("")
        out.append("| page | connections | req/s | p50 ms | p90 ms | p99 ms | requests | non-2xx | socket errors |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for run in res.runs:
            best = run is res.best(run.page)
            rps = f"**{run.rps:.1f}**" if best else f"{run.rps:.1f}"
            lat = run.latency_ms
            out.append(f"| {run.page} | {run.connections} | {rps} | {lat['p50']:.1f} | {lat['p90']:.1f} | "
                       f"{lat['p99']:.1f} | {run.requests:,} | {run.non2xx} | {run.socket_errors} |")
        out.append("")
        out.append("| page | best req/s | connections | × the near-empty FAB list page | × the bare Flask endpoint "
                   "| × the same person's plain list |")
        out.append("|---|---|---|---|---|---|")
        for target in PAGES:
            best = res.best(target.page)
            plain = f"{res.ratio(target.page, PLAIN_LIST[target.page]):.2f}" if target.page in PLAIN_LIST else ""
            out.append(f"| {target.page} | {best.rps:.1f} | {best.connections} | {res.ratio(target.page):.2f} | "
                       f"{res.ratio(target.page, BARE):.2f} | {plain} |")
        out.append("")
        out.append("| process | RSS after boot | PSS after boot | RSS after runs | peak RSS | PSS after runs | "
                   "max PSS |")
        out.append("|---|---|---|---|---|---|---|")
        for label, mem in res.memory.items():
            boot = res.boot[label]
            out.append(f"| gunicorn {label} | {boot['rss']:.1f} | {boot['pss']:.1f} | {mem['rss']:.1f} | "
                       f"{mem['peak']:.1f} | {mem['pss']:.1f} | {mem['max_pss']:.1f} |")
        out.append("")
        out.append(f"{res.samples} memory samples. All processes together: PSS "
                   f"{sum(m['pss'] for m in res.memory.values()):.1f} MB after the runs, RSS "
                   f"{sum(m['rss'] for m in res.memory.values()):.1f} MB (shared pages counted in each).")
        out.append("")
    out.append("### Targets")
    out.append("")
    if not results:
        out.append("No dataset was measured in this run.")
        out.append("")
    else:
        out.append("| dataset | target | measured | met? |")
        out.append("|---|---|---|---|")
        for res in results:
            for page in LIST_PAGES:
                best = res.best(page)
                plain = (f"; {res.ratio(page, PLAIN_LIST[page]):.2f}× the {WHOSE[PLAIN_LIST[page]]}"
                         if page in PLAIN_LIST else "")
                out.append(f"| {res.dataset.label} | {page}: ≥ {TARGET_RPS} req/s at saturation | "
                           f"{best.rps:.1f} req/s ({best.connections} connections; {res.ratio(page):.2f}× the "
                           f"near-empty FAB list page{plain}) | {_miss(best.rps, TARGET_RPS, 'req/s', True)} |")
            pss = res.worker_pss_mb
            out.append(f"| {res.dataset.label} | PSS per worker ≤ {TARGET_WORKER_PSS_MB} MB | {pss:.1f} MB "
                       f"(max PSS of the larger worker; its peak RSS {res.worker_peak_rss_mb:.1f} MB) | "
                       f"{_miss(pss, TARGET_WORKER_PSS_MB, 'MB', False)} |")
        out.append("")
        reasons = [reason for res in results for reason in why_missed(res)]
        if reasons:
            out.append("Why the missed targets are missed:")
            out.append("")
            out += [f"- {reason}" for reason in reasons]
            out.append("")
    if skipped:
        out.append("Not measured in this run: " + "; ".join(skipped) + ".")
        out.append("")
    out.append("### How to reproduce")
    out.append("")
    out.append(
        "`make bench` runs this bench after the page bench, on the same datasets (`BENCH_SIZES`), and installs "
        "`wrk` with apt when it is missing and make runs as root. Directly: `python -m bench.load "
        "[--sizes sqlite:N,postgresql:N,…] [--connections 2,4,8] [--duration 15] [--warmup 5] "
        "[--max-seconds 300] [--no-preload] [--report FILE]` (needs `wrk`, Debian package `wrk`, and Linux 4.14+ "
        "for `/proc/<pid>/smaps_rollup`; `--no-preload` measures the same command without `--preload`). It uses "
        "the page bench's databases (`deyor_bench_<size>` on `BENCH_DATABASE_URL`, SQLite files in the system "
        "temporary directory), seeding them when missing; PostgreSQL sizes are skipped with a message when no "
        f"server answers. `--max-seconds` bounds the measuring per dataset ({len(PAGES)} pages × (warm-up + one "
        "run per connection count); the runs are shortened to fit). "
        f"The figures are also written to `{RESULTS_NAME}` beside the report (key `load`).")
    out.append("")
    out.append(f"Last run: {date.today().isoformat()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
               + ", ".join(sorted({r.db_version for r in results}) or ["no database"]) + ".")
    return "\n".join(out).rstrip("\n") + "\n"


def results_json(results: list[Result]) -> dict:
    return {
        "date": date.today().isoformat(),
        "targets": {"list_rps": TARGET_RPS, "worker_pss_mb": TARGET_WORKER_PSS_MB},
        "floors": {BARE: BARE_URL, FAB_FLOOR: FAB_FLOOR_URL},
        "pages": {t.page: t.url for t in PAGES},
        "datasets": [{
            "backend": res.dataset.backend,
            "tickets": res.dataset.tickets,
            "database": res.db_version,
            "preload": res.preload,
            "runs": [{"page": r.page, "connections": r.connections, "rps": round(r.rps, 1),
                      "latency_ms": {k: round(v, 2) for k, v in r.latency_ms.items()}, "requests": r.requests,
                      "non2xx": r.non2xx, "socket_errors": r.errors} for r in res.runs],
            "best": {t.page: {"rps": round(res.best(t.page).rps, 1), "connections": res.best(t.page).connections,
                              "ratio_to_fab_floor": round(res.ratio(t.page), 3),
                              "ratio_to_bare": round(res.ratio(t.page, BARE), 3),
                              **({"ratio_to_plain_list": round(res.ratio(t.page, PLAIN_LIST[t.page]), 3)}
                                 if t.page in PLAIN_LIST else {})} for t in PAGES},
            "memory_samples": res.samples,
            "memory_mb": {label: {"boot_rss": round(res.boot[label]["rss"], 1),
                                  "boot_pss": round(res.boot[label]["pss"], 1),
                                  "rss": round(m["rss"], 1), "peak_rss": round(m["peak"], 1),
                                  "pss": round(m["pss"], 1), "max_pss": round(m["max_pss"], 1)}
                          for label, m in res.memory.items()},
        } for res in results],
    }


def _counts(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"bad connection counts {value!r}: want e.g. 2,4,8")
    return counts


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--connections", type=_counts, default=[2, 4, 8], help="wrk connection counts (default 2,4,8)")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per run (default 15)")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up seconds per page (default 5)")
    parser.add_argument("--max-seconds", type=float, default=300,
                        help="measuring time budget per dataset; the runs are shortened to fit (default 300)")
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="run gunicorn without --preload (to compare its workers' memory)")
    parser.add_argument("--report", type=Path, default=None, help=f"Markdown file whose '{SECTION}' section to write")
    args = parser.parse_args(argv)
    try:
        datasets = parse_sizes(args.sizes, args.people)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not sys.platform.startswith("linux"):
        raise SystemExit("bench.load reads worker memory from /proc: it runs on Linux only")
    wrk = find_wrk()
    datasets, skipped, pg_url = reachable_datasets(datasets, args.database_url)
    results = []
    with tempfile.TemporaryDirectory(prefix="deyor-load-") as tmp:
        for ds in datasets:
            url, cast, version = prepare(ds, pg_url, args.sqlite_dir)
            results.append(measure(ds, url, cast, version, args.connections, args.duration, args.warmup,
                                   args.max_seconds, wrk, Path(tmp), args.preload))
    report = render(results, skipped, args.connections, args.duration, args.warmup, args.preload)
    print("\n" + report)
    results_path = args.results or (args.report.parent / RESULTS_NAME if args.report else None)
    if results_path:
        write_results(results_path, "load", results_json(results))
    if args.report:
        write_section(args.report, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
