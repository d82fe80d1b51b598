"""The SLA bench runs end to end at a tiny size (the real figures come from `make bench`)."""
from __future__ import annotations

from bench import sla


def test_sla_bench_reports_every_figure_and_cleans_up(tmp_path, monkeypatch):
    for name, value in {"DUE_TICKETS": 120, "SMALL_DUE": 40, "EMPTY_PASSES": 5,
                        "REQUEST_ROUNDS": 2, "REQUESTS_PER_ROUND": 3}.items():
        monkeypatch.setattr(sla, name, value)
    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\n## Pages\n\nThe other bench's.\n")
    assert sla.main(["--sizes", "sqlite:300", "--sqlite-dir", str(tmp_path), "--report", str(report)]) == 0
    text = report.read_text()
    assert "## Pages\n\nThe other bench's." in text and text.count(sla.SECTION + "\n") == 1
    assert "| Pass over 120 tickets due for a step: steps, emails, time | 120, 120," in text
    assert "Scheduler pass, nothing due" in text and "Ticket create p95, SLA hooks on / off (p50)" in text

    # The seeded database is left as the bench found it: no bench tickets, steps or emails.
    from sqlalchemy import create_engine, text as sql

    engine = create_engine(f"sqlite:///{tmp_path / 'deyor_bench_300.db'}")
    with engine.connect() as conn:
        assert conn.execute(sql("SELECT COUNT(*) FROM ticket WHERE subject LIKE 'SLA bench%'")).scalar() == 0
        assert conn.execute(sql("SELECT COUNT(*) FROM sla_step")).scalar() == 0
        assert conn.execute(sql("SELECT COUNT(*) FROM ticket WHERE escalation_at IS NOT NULL")).scalar() == 0
    engine.dispose()
