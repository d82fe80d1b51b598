"""The page bench runs end to end at a tiny size (the real figures come from `make bench`)."""
from __future__ import annotations

import json

from bench import pages

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

OTHER_SECTION = "## Ticket create vs SMTP speed\n\nThis section belongs to the other bench.\n"


def _table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| page") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def test_page_bench_reports_every_page_and_keeps_the_other_section(tmp_path, capsys):
    report = tmp_path / "PERFORMANCE.md"
    report.write_text("# Performance\n\n" + OTHER_SECTION)
    args = ["--sizes", "sqlite:300", "--requests", "10", "--search", "refund",
            "--sqlite-dir", str(tmp_path), "--report", str(report)]

    assert pages.main(args) == 0
    text = report.read_text()
    assert OTHER_SECTION in text and text.count(pages.SECTION + "\n") == 1
    assert "### SQLite 300 tickets" in text and "### How to reproduce" in text

    rows = _table_rows(text)
    for name in (pages.BARE, pages.FLOOR, pages.AGENT_LIST, pages.ADMIN_LIST, pages.AGENT_SEARCH,
                 pages.ADMIN_SEARCH, pages.DETAIL, pages.AGENT_QUEUE, pages.ADMIN_QUEUE):
        _, shown, p50, p95, ratio, statements, sql_ms = rows[name]
        assert 0 < float(p50) <= float(p95), rows[name]
        assert float(ratio) > 0 and float(sql_ms) >= 0
        assert int(statements.split("–")[-1]) >= 0
    assert rows[pages.FLOOR][4] == "1.00" and rows[pages.FLOOR][1] == "0"  # the floor, and it is empty
    assert rows[pages.BARE][5] == "0"  # /health touches no database
    assert int(rows[pages.AGENT_LIST][5]) > int(rows[pages.FLOOR][5])
    assert rows[pages.DETAIL][1] == f"{pages.DETAIL_COMMENTS} comments"
    admin_sees, agent_sees = (int(rows[n][1].replace(",", "")) for n in (pages.ADMIN_LIST, pages.AGENT_LIST))
    assert admin_sees == 300 > agent_sees > 0
    assert 0 < int(rows[pages.AGENT_SEARCH][1]) <= int(rows[pages.ADMIN_SEARCH][1].replace(",", ""))
    # The queues are the list with filters: fewer rows, and no more statements than the plain list.
    for queue, (_, plain) in pages.QUEUE_PAGES.items():
        assert 0 <= int(rows[queue][1].replace(",", "")) <= int(rows[plain][1].replace(",", ""))
        assert int(rows[queue][5].split("–")[-1]) <= pages.LIST_STATEMENTS_MAX
    assert "_flt_0_assignees=me" in text and "_flt_0_priority=Urgent" in text

    # The figures as JSON and the p95 plot, beside the report and linked from it.
    (dataset,) = json.loads((tmp_path / pages.RESULTS_NAME).read_text())["pages"]["datasets"]
    assert dataset["tickets"] == 300 and dataset["pages"][pages.ADMIN_LIST]["rows"] == 300
    assert (tmp_path / pages.PLOT_NAME).read_bytes().startswith(PNG_SIGNATURE)
    assert f"]({pages.PLOT_NAME})" in text

    # A second run reuses the seeded database and replaces its own section only.
    capsys.readouterr()
    assert pages.main(args) == 0
    assert "reusing the seeded database" in capsys.readouterr().err
    text = report.read_text()
    assert OTHER_SECTION in text and text.count(pages.SECTION + "\n") == 1
    assert _table_rows(text)[pages.ADMIN_LIST][1] == "300"


def _figures(backend: str, tickets: int, scale: float) -> dict:
    return {"backend": backend, "tickets": tickets,
            "pages": {name: {"p95_ms": scale * (n + 1)} for n, name in enumerate(pages.PLOT_PAGES)}}


def test_p95_plot_is_a_png_and_the_same_for_the_same_figures(tmp_path):
    figures = {"targets_p95_ms": {"list": pages.LIST_P95_MS, "search": pages.SEARCH_P95_MS,
                                  "detail": pages.DETAIL_P95_MS},
               "datasets": [_figures("sqlite", 100_000, 20), _figures("postgresql", 100_000, 8),
                            _figures("postgresql", 1_000_000, 11)]}
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    pages.plot(figures, first)
    pages.plot(figures, second)
    data = first.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and 10_000 < len(data) < 300_000
    assert data == second.read_bytes()  # no timestamp or version in the file


def test_a_capped_record_count_reads_as_a_lower_bound():
    assert pages.record_count(b"<strong>Record Count:</strong> 10,000+\n") == (10_000, True)
    assert pages.record_count(b"<strong>Record Count:</strong> 2,000 ") == (2_000, False)
    assert pages.record_count(b"<strong>Record Count:</strong> 0") == (0, False)
    assert pages.record_count(b'<span data-record-count="2134">') == (2_134, False)
    assert pages.record_count(b'<span data-record-count="10,000+">') == (10_000, True)
    assert pages.record_count(b"no count here") is None
    assert pages.rows_text(10_000, True) == "10,000+" and pages.rows_text(300, False) == "300"
