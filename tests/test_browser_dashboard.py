"""In a real browser: the dashboard draws its charts (the vendored Chart.js, from the tables beside
them) with no JavaScript error, no console error and no Content-Security-Policy violation, on a
desktop and a 390 px phone, in English and Hindi; a click on a figure lands on its list."""
from __future__ import annotations

import re

import pytest

from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit
from tests.test_dashboard import floor  # noqa: F401  (fixture)

CHARTS = ("open", "age", "weekly", "times", "sla")


def _no_console_errors(page) -> list[str]:
    """Console errors, and every failed request (with its URL). The browser's own request for
    /favicon.ico, which the app does not serve, is left out."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    return errors


def _charts_drawn(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('canvas[data-chart]'))
        .map(c => [c.id, {drawn: !!window.Chart.getChart(c), width: c.width,
                          points: (window.Chart.getChart(c) || {data: {labels: []}}).data.labels.length}]))""")


@pytest.mark.browser
def test_dashboard_charts_render_under_the_csp(live_server, floor):
    from playwright.sync_api import expect

    shots = SCREENSHOTS
    shots.mkdir(parents=True, exist_ok=True)
    with chromium_page(live_server) as page:
        console_errors = _no_console_errors(page)
        log_in(page, floor.admin.email)
        expect(page).to_have_url(re.compile(r"/dashboard/$"))  # the home page after login
        visit(page, "/dashboard/")
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === 5")
        charts = _charts_drawn(page)
        assert {name: chart["drawn"] for name, chart in charts.items()} == {f"{c}-chart": True for c in CHARTS}
        assert charts["weekly-chart"]["points"] == 12 and charts["open-chart"]["points"] == 2  # two teams
        assert all(chart["width"] > 100 for chart in charts.values()), charts
        expect(page.locator("#tile-open .dash-tile-value")).to_have_text("6")
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        visit(page, "/dashboard/")
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === 5")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a 390 px phone"
        page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)

        # a figure's link: the list of exactly those tickets
        page.set_viewport_size({"width": 1280, "height": 900})
        visit(page, "/dashboard/")
        page.click("#tile-overdue")
        page.wait_for_url(re.compile(r"/tickets/list/"))
        expect(page.locator("#record-count")).to_have_attribute("data-record-count", "2")

        # in Hindi
        visit(page, "/lang/hi")
        visit(page, "/dashboard/")
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === 5")
        expect(page.locator("h1")).to_have_text("डैशबोर्ड")  # (translations/hi)
        legend = page.evaluate("window.Chart.getChart(document.getElementById('weekly-chart')).data.datasets"
                               ".map(d => d.label)")
        assert legend == ["बनाया गया", "हल हुआ"], legend
        page.screenshot(path=str(shots / "dashboard-hi.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        visit(page, "/dashboard/")
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === 5")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(shots / "dashboard-hi-phone.png"), full_page=True)
        visit(page, "/lang/en")
    assert not console_errors, console_errors


@pytest.mark.browser
def test_an_agents_dashboard_without_workload(live_server, floor):
    from playwright.sync_api import expect

    with chromium_page(live_server) as page:
        console_errors = _no_console_errors(page)
        log_in(page, floor.asha.email)
        visit(page, "/dashboard/")
        page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === 5")
        expect(page.locator("#workload-table")).to_have_count(0)
        expect(page.locator("#tile-open .dash-tile-value")).to_have_text("2")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-agent.png"), full_page=True)
    assert not console_errors, console_errors
