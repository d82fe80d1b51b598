"""The benchmark runs end to end (tiny sizes; the figures themselves live in `make bench`)."""
from __future__ import annotations

from bench import smtp_latency


def test_smtp_latency_bench_writes_its_report(tmp_path):
    report = tmp_path / "PERFORMANCE.md"
    assert smtp_latency.main(["--requests", "3", "--delay", "0.2", "--report", str(report)]) == 0
    text = report.read_text()
    assert "| fast |" in text and "| slow (0.2 s per email) |" in text
    rows = [line for line in text.splitlines() if line.startswith("| fast") or line.startswith("| slow")]
    for row in rows:
        queued = int(row.split("|")[4])
        assert queued == 3 + smtp_latency.WARMUP  # every create queued its email
