"""End to end: the daemon replays the GOOG day; headless Chromium (Debian's, via Playwright)
logs in, watches the chart and the fills arrive; strangers are refused. Screenshots of both
themes go to var/screenshots/ to be looked at."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from bot.daemon import Daemon
from bot.events import Notice
from tests.conftest import ROOT, make_settings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TOKEN = "e2e-token-not-a-secret-elsewhere"
SHOTS = ROOT / "var" / "screenshots"

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120),
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="needs Debian chromium (make chromium installs it)")]


async def start_daemon(tmp_path: Path, speed: float) -> tuple[Daemon, asyncio.Task[int]]:
    settings = make_settings(tmp_path, replay={"folder": ROOT / "data" / "replay",
                                               "speed": speed},
                             http={"enabled": True, "port": 0, "token": TOKEN})
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run())
    for _ in range(500):
        if daemon.http_port:
            break
        await asyncio.sleep(0.01)
    assert daemon.http_port, "the daemon did not serve HTTP"
    return daemon, task


async def launch(pw: Any) -> Browser:
    browser: Browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                                headless=True)
    return browser


async def test_dashboard_follows_a_replay_in_chromium(tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await launch(pw)
        daemon, task = await start_daemon(tmp_path, speed=600)  # the day in ~21 s
        published: dict[str, float] = {}

        def on_notice(notice: Notice) -> None:
            if notice.kind == "fill" and notice.data:
                published[notice.data["client_order_id"]] = time.time() * 1000

        daemon.bot.bus.subscribe(on_notice)
        base = f"http://127.0.0.1:{daemon.http_port}"
        try:
            # A stranger: the page sends them to the login, the API and the WebSocket refuse.
            stranger = await browser.new_page()
            await stranger.goto(base + "/")
            assert stranger.url == base + "/login"
            assert (await stranger.request.get(base + "/api/status")).status == 401
            ws_outcome = await stranger.evaluate("""url => new Promise(done => {
                const ws = new WebSocket(url);
                ws.onopen = () => done("open"); ws.onclose = () => done("closed"); })""",
                                                 base.replace("http", "ws") + "/ws")
            assert ws_outcome == "closed"
            await stranger.screenshot(path=SHOTS / "login.png")

            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(base + "/login")
            await page.fill("#token", TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/")
            await page.wait_for_function("window.tradefly.connected", timeout=10_000)
            await page.wait_for_function("window.tradefly.fills >= 1", timeout=40_000)
            await page.wait_for_function("window.tradefly.fills >= 2", timeout=40_000)
            await page.wait_for_function("window.tradefly.markers >= 2 "
                                         "&& window.tradefly.bars >= 30", timeout=10_000)
            assert await page.locator("#trades tbody tr").count() >= 2
            assert await page.evaluate("window.tradefly.orders") >= 2  # order updates pushed
            seen = await page.evaluate("window.tradefly.fillSeen")
            # Every fill the page shows is one the bot published (the lag is printed, not
            # asserted: tests never assert on time, and this machine's load varies).
            assert seen and {s["id"] for s in seen} <= set(published)
            lags = [s["at"] - published[s["id"]] for s in seen]
            print(f"\nfill → page lag (ms): {[round(lag) for lag in lags]}")
            assert await page.locator("#live").inner_text() == "live"
            await page.screenshot(path=SHOTS / "dashboard-dark.png", full_page=True)
            await page.click("#theme")
            await page.screenshot(path=SHOTS / "dashboard-light.png", full_page=True)
            # Control from the page goes through the ControlAPI (audited as a web user).
            await page.click("button[data-cmd=pause]")
            await page.wait_for_function(
                "document.getElementById('state').textContent.includes('paused')",
                timeout=5_000)
            assert daemon.bot.control.paused
            await page.click("button[data-cmd=resume]")
            await page.wait_for_function(
                "!document.getElementById('state').textContent.includes('paused')",
                timeout=5_000)
            assert not daemon.bot.control.paused
            audit = [r["command"] for r in daemon.bot.store.load_audit(5)]
            assert "/pause" in audit and "/resume" in audit
            # The daemon goes away: the page says so and keeps trying to reconnect.
            daemon.request_stop("test over")
            assert await task == 0
            await page.wait_for_function(
                "document.getElementById('live').textContent === 'reconnecting'",
                timeout=5_000)
        finally:
            daemon.request_stop("test over")
            assert await task == 0
            await browser.close()
