"""The load bench runs end to end at a tiny size: gunicorn, an HTTP login, wrk (the real figures
and their targets come from `make bench`)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import load

OTHER_SECTION = "## Pages\n\nThis section belongs to the page bench.\n"


def _rows(text: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header line starts with `header`."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_load_bench_reports_throughput_and_worker_memory(tmp_path):
    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\n" + OTHER_SECTION)
    (tmp_path / "performance.json").write_text(json.dumps({"pages": {"kept": True}}))
    args = ["--sizes", "sqlite:300", "--connections", "2", "--duration", "2", "--warmup", "1",
            "--sqlite-dir", str(tmp_path), "--report", str(report)]

    assert load.main(args) == 0
    text = report.read_text()
    assert OTHER_SECTION in text and text.count(load.SECTION + "\n") == 1
    assert "### SQLite 300 tickets" in text and "### How to reproduce" in text

    runs = _rows(text, "| page | connections |")
    assert {row[0] for row in runs} == {load.AGENT, load.ADMIN}
    for page, connections, rps, p50, p90, p99, requests, non2xx, errors in runs:
        assert connections == "2" and float(rps.strip("*")) > 0 and int(requests.replace(",", "")) > 0
        assert 0 < float(p50) <= float(p99)
        assert non2xx == "0"

    memory = {row[0]: row for row in _rows(text, "| process |")}
    assert set(memory) == {"gunicorn master", "gunicorn worker 1", "gunicorn worker 2"}
    for _, boot, peak in memory.values():
        assert 0 < float(boot) <= float(peak)

    targets = _rows(text, "| dataset | target |")
    assert len(targets) == 3 and all(row[3] == "yes" or row[3].startswith("no: ") for row in targets)

    figures = json.loads((tmp_path / "performance.json").read_text())
    assert figures["pages"] == {"kept": True}  # the page bench's figures are left alone
    (dataset,) = figures["load"]["datasets"]
    assert dataset["tickets"] == 300 and len(dataset["runs"]) == 2
    assert all(run["non2xx"] == 0 and run["rps"] > 0 for run in dataset["runs"])


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/ok":
            self.send_response(200)
        else:  # what a lost session gets: a redirect to the login page
            self.send_response(302)
            self.send_header("Location", "/login/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_wrk_runs_count_redirects_as_failures(tmp_path):
    """wrk's own counter ignores 3xx; the bench's script counts every response that is not a 2xx."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script = tmp_path / "count.lua"
    script.write_text(load.WRK_SCRIPT)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        wrk = load.find_wrk()
        ok = load.run_wrk(wrk, base + "/ok", {}, 1, 1, script, "ok")
        lost = load.run_wrk(wrk, base + "/lost", {"Cookie": "session=stale"}, 1, 1, script, "lost")
    finally:
        server.shutdown()
        server.server_close()
    assert ok.requests > 0 and ok.non2xx == 0 and ok.rps > 0
    assert lost.requests > 0 and lost.non2xx == lost.requests and lost.first_bad_status == 302

    load._fail_on_non_2xx(ok, lambda: "")
    with pytest.raises(SystemExit, match=r"not 2xx, the first 302 \(a redirect: the session did not stick\?\)"):
        load._fail_on_non_2xx(lost, lambda: "")
