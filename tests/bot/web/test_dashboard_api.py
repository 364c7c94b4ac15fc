"""REST API and authentication of the dashboard, in-process (httpx over ASGI, same loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.http import create_app
from bot.wiring import Bot, build_bot
from market.clock import SimClock
from market.feeds.replay import ReplayDay, ReplayFeed
from tests.conftest import GOOG_DAY, REPLAY_DIR, make_settings, replay

TOKEN = "s3cret-dashboard-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def health() -> dict[str, Any]:
    return {"ok": True, "uptime_seconds": 12.0, "feed_stale": False}


@pytest.fixture(scope="module")
def traded_bot() -> Bot:
    """The GOOG day replayed until the bot has traded (module-wide: the replay is the cost)."""
    clock = SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC))
    bot = build_bot(make_settings(http={"enabled": True, "token": TOKEN}), clock,
                    run_tag="web")
    replay(bot, clock, ReplayFeed([ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)]))
    assert bot.store.load_fills(), "the replay must trade for these tests to mean anything"
    return bot


@pytest.fixture
async def client(traded_bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(traded_bot, health)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as c:
        yield c


@pytest.mark.parametrize("path", ["/api/status", "/api/positions", "/api/orders",
                                  "/api/signals", "/api/denials", "/api/trades",
                                  "/api/quality", "/api/chart", "/api/risk",
                                  "/api/strategies"])
async def test_every_api_route_refuses_without_token(client: httpx.AsyncClient,
                                                     path: str) -> None:
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get(path, headers=AUTH)).status_code == 200


async def test_control_refused_without_token_and_nothing_happens(
        client: httpx.AsyncClient, traded_bot: Bot) -> None:
    assert not traded_bot.control.paused
    r = await client.post("/api/control/pause", json={"args": []})
    assert r.status_code == 401 and not traded_bot.control.paused


async def test_page_redirects_to_login_and_login_sets_a_session(
        client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert (await client.post("/login", json={"token": "nope"})).status_code == 401
    r = await client.post("/login", json={"token": TOKEN})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie  # a random session id, never the token itself
    assert (await client.get("/")).status_code == 200  # the cookie now opens the page
    assert (await client.get("/api/status")).status_code == 200


async def test_no_secret_in_any_response(client: httpx.AsyncClient) -> None:
    paths = ["/api/status", "/api/positions", "/api/orders", "/api/signals", "/api/denials",
             "/api/trades", "/api/quality", "/api/chart", "/api/risk", "/api/strategies",
             "/openapi.json", "/healthz"]
    for path in paths:
        body = (await client.get(path, headers=AUTH)).text
        assert TOKEN not in body, path


async def test_without_a_token_only_loopback_is_served(traded_bot: Bot) -> None:
    bot = build_bot(make_settings(), SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC)),
                    run_tag="web-local")
    app = create_app(bot, health)
    for host, expected in (("127.0.0.1", 200), ("::1", 200), ("10.0.0.5", 401)):
        transport = httpx.ASGITransport(app=app, client=(host, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as c:
            assert (await c.get("/api/status")).status_code == expected, host
    bot.close()


async def test_trades_and_chart_markers_match_the_stored_fills(
        client: httpx.AsyncClient, traded_bot: Bot) -> None:
    fills = traded_bot.store.load_fills()
    trades = (await client.get("/api/trades", headers=AUTH)).json()
    assert [t["fill_id"] for t in trades] == [f.fill_id for f in fills]
    chart = (await client.get("/api/chart", headers=AUTH)).json()
    # Christmas Eve 2015 was a half day: 09:30-13:00 New York = 210 one-minute bars.
    assert chart["symbol"] == "GOOG" and len(chart["bars"]) == 210
    times = [b["time"] for b in chart["bars"]]
    assert times == sorted(times) and len(set(times)) == len(times)
    # One marker per GOOG option fill, on the minute of the fill, buy = entry, sell = exit.
    assert len(chart["markers"]) == sum(1 for f in fills if f.underlying == "GOOG")
    first = fills[0]
    assert chart["markers"][0]["time"] == int(first.ts.timestamp()) // 60 * 60
    assert chart["markers"][0]["side"] == first.side.value


async def test_control_goes_through_the_control_api_with_confirmation_and_audit(
        client: httpx.AsyncClient, traded_bot: Bot) -> None:
    r = (await client.post("/api/control/pause", json={"args": []}, headers=AUTH)).json()
    assert r["status"] == "done" and traded_bot.control.paused
    r = (await client.post("/api/control/resume", json={"args": []}, headers=AUTH)).json()
    assert r["status"] == "done" and not traded_bot.control.paused
    # kill is admin-only: the dashboard's trader role is refused, exactly as on Telegram.
    r = (await client.post("/api/control/kill", json={"args": []}, headers=AUTH)).json()
    assert r["status"] == "denied"
    name = traded_bot.engine.strategies[0].name
    r = (await client.post("/api/control/strategy", json={"args": [name, "off"]},
                           headers=AUTH)).json()
    assert r["status"] == "done" and not traded_bot.engine.strategies[0].enabled
    await client.post("/api/control/strategy", json={"args": [name, "on"]}, headers=AUTH)
    audit = [row["command"] for row in traded_bot.store.load_audit(10)]
    assert "/pause" in audit and "/kill" in audit


async def test_flatten_asks_for_confirmation_and_cancel_does_nothing(
        client: httpx.AsyncClient, traded_bot: Bot) -> None:
    r = (await client.post("/api/control/flatten", json={"args": ["GOOG"]},
                           headers=AUTH)).json()
    if r["status"] == "done":  # nothing open: it says so without asking
        assert "nothing" in r["message"].lower() or "no " in r["message"].lower()
        return
    assert r["status"] == "confirm" and r["token"]
    c = (await client.post(f"/api/control/cancel/{r['token']}", headers=AUTH)).json()
    assert c["status"] == "done" and "nothing was done" in c["message"].lower()


async def test_open_position_carries_its_greeks(sim_clock: SimClock, goog_feed: ReplayFeed) -> None:
    bot = build_bot(make_settings(), sim_clock, run_tag="web-greeks")
    for event in goog_feed.events():  # the real day, until the bot holds its first call
        sim_clock.advance_to(event.ts)
        bot.engine.on_event(event)
        if bot.portfolio.open_positions():
            break
    transport = httpx.ASGITransport(app=create_app(bot, health), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as c:
        rows = (await c.get("/api/positions")).json()["rows"]
    bot.close()
    assert len(rows) == 1
    row = rows[0]
    assert "C" in row["symbol"][4:] and row["quantity"] > 0  # a long call
    # A long call's position delta lies between 0 and every share it controls; it loses
    # time value (theta < 0) and gains from volatility (vega > 0).
    assert 0 < row["delta"] <= row["quantity"] * 100
    assert row["theta"] < 0 < row["vega"]
