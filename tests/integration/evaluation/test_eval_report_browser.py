"""The HTML report in real headless Chromium: it loads without console errors or network requests, shows the
numbers of summary.json, and its trajectory viewer works. Writes a screenshot (to $AGENTRL_ARTIFACTS if set,
else the test's tmp folder)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from agentrl.evaluation import EvalSpec, evaluate_async
from agentrl.evaluation.report import fmt

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def lookup(summary, keys):
    value = summary
    for k in keys:
        value = value[int(k)] if isinstance(value, list) else value[k]
    return value


async def test_report_renders_the_summary_numbers(tmp_path):
    from playwright.async_api import async_playwright

    # tic-tac-toe with random legal moves: two agents, wins, losses and draws, several turns each
    summary = await evaluate_async(EvalSpec("classic/TicTacToe-v0", tasks="test/:4", samples=4, agent="player_1"), tmp_path / "run",
                                   progress=False)
    page_path = tmp_path / "run" / "report.html"
    problems, requests = [], []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(page_path.as_uri(), wait_until="load")

            shown = await page.eval_on_selector_all(
                "[data-metric]", "els => els.map(e => [e.dataset.metric, e.textContent, e.offsetParent !== null])")
            assert len(shown) > 40
            for path, text, visible in shown:
                assert visible, path
                assert text == fmt(lookup(summary, json.loads(path))), path
            headline = await page.text_content(".cards")
            assert fmt(summary["overall"]["success_rate"]) in headline
            assert await page.locator("#reward-histogram rect").count() >= 1
            assert await page.locator("#task-bars rect").count() == 4

            # trajectory viewer: open one episode and read its turns; the filter hides other tasks
            first = page.locator("details.episode").first
            await first.locator("summary").click()
            assert await first.locator(".turn").count() >= 3
            assert "Board:" in await first.locator(".turn pre").first.text_content()
            await page.fill("#filter", "tictactoe-test-1")
            assert await page.text_content("#shown") == "4"
            await page.fill("#filter", "")
            await page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
    assert requests == [page_path.as_uri()]  # self-contained: nothing else fetched
    assert (tmp_path / "report.png").stat().st_size > 10_000
    if os.environ.get("AGENTRL_ARTIFACTS"):
        target = Path(os.environ["AGENTRL_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "report.png", target / "eval_report.png")
