"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright (no browser download).

It must load with no console error, no page error and no request beyond the file itself, lay out without
horizontal overflow, and draw every chart. A full-page screenshot is saved where ``PTMSCOPE_ARTIFACTS``
points (CI keeps it), else in the test's temporary directory.

Chromium comes from scripts/ensure-chromium (run by `make test`), Playwright from the dev extras.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptmscope.report.build import build_report
from ptmscope.store import open_store
from tests.analysis import world

SECTIONS = ["store", "models", "cards", "repositories", "usage", "vulnerabilities", "licenses"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("PTMSCOPE_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: scripts/ensure-chromium installs Chromium")
        pytest.skip("needs Chromium (Debian: apt-get install -y chromium; or set PTMSCOPE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()


def _open(browser: Any, page_file: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri(), wait_until="load")
    return page, problems, requests


def _artifacts(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PTMSCOPE_ARTIFACTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_report_in_headless_chromium(browser: Any, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ptmscope.db'}")
    world.build(store)
    build_report(store, tmp_path / "report", ("html",))
    page_file = tmp_path / "report" / "report.html"
    page, problems, requests = _open(browser, page_file)
    try:
        assert problems == []
        assert requests == [page_file.as_uri()]
        assert page.title().startswith("ptmscope report")
        for section in SECTIONS:
            box = page.locator(f"section#{section}").bounding_box()
            assert box is not None and box["height"] > 100, section
        charts = page.locator("svg.chart")
        assert charts.count() == 8
        for i in range(charts.count()):
            chart = charts.nth(i).bounding_box()
            holder = charts.nth(i).locator("xpath=ancestor::section[1]").bounding_box()
            assert chart is not None and holder is not None
            assert chart["width"] > 200 and chart["height"] > 100, i
            assert chart["x"] + chart["width"] <= holder["x"] + holder["width"] + 1, i  # inside its section
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        shot = _artifacts(tmp_path) / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
    finally:
        page.close()


def test_empty_report_in_headless_chromium(browser: Any, tmp_path: Path) -> None:
    build_report(open_store(f"sqlite:///{tmp_path / 'ptmscope.db'}"), tmp_path / "report", ("html",))
    page, problems, requests = _open(browser, tmp_path / "report" / "report.html")
    try:
        assert problems == [] and len(requests) == 1
        assert page.locator("p.empty").count() >= len(SECTIONS)
        assert page.locator("svg.chart").count() == 0
        page.screenshot(path=str(_artifacts(tmp_path) / "report-empty.png"), full_page=True)
    finally:
        page.close()


def test_the_checks_see_errors_and_outside_requests(browser: Any, tmp_path: Path) -> None:
    """The harness itself: a page with a failing script and an outside image is reported on both counts."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><title>x</title><script>throw new Error("boom")</script>'
                   '<img src="http://127.0.0.1:9/x.png">', encoding="utf-8")
    page, problems, requests = _open(browser, bad)
    page.close()
    assert any("boom" in p for p in problems)
    assert "http://127.0.0.1:9/x.png" in requests
