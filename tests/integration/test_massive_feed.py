"""MassiveFeed: the real `massive` client (REST + WebSocket) against a local fake on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from massive.exceptions import AuthError

from market.clock import SimClock
from market.data import Bar, Quote, Trade
from market.feeds.massive import (
    MassiveFeed,
    MassiveFeedConfig,
    MassiveRequestError,
    MassiveUnavailable,
)
from market.instruments import OptionRight
from tests.integration.fakes.massive import FakeMassive, fixture

pytestmark = pytest.mark.integration

API_KEY = "massive-key-never-logged"
GOOG_CHAIN = Path(__file__).resolve().parents[1] / "market" / "data" / \
    "GOOG_2015-12-24_chain.csv.gz"
FAR_FUTURE = datetime(2030, 1, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMassive]:
    server = await FakeMassive(api_key=API_KEY).start()
    yield server
    await server.stop()


def make_feed(fake: FakeMassive, clock: SimClock | None = None, **overrides: Any) -> MassiveFeed:
    settings: dict[str, Any] = dict(
        rest_url=fake.rest_url, ws_host=fake.ws_host, ws_secure=False, http_retries=2,
        connect_timeout_seconds=1.0, read_timeout_seconds=1.0, call_attempts=3,
        backoff_initial_seconds=0.01, backoff_max_seconds=0.05)
    feed_args = {k: overrides.pop(k) for k in ("underlyings", "option_symbols",
                                               "stale_after_seconds", "on_stale_change")
                 if k in overrides}
    settings.update(overrides)
    return MassiveFeed(MassiveFeedConfig(**settings), API_KEY, clock or SimClock(FAR_FUTURE),
                       **feed_args)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll a condition on the fake's or the feed's state (both change in this loop)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling plain state is the point
            await asyncio.sleep(0.01)


# -- REST ----------------------------------------------------------------------------------------

async def test_contract_reference_follows_pagination(fake: FakeMassive) -> None:
    symbols = await make_feed(fake).fetch_contracts("A")

    expected = [r["ticker"][2:] for r in
                fixture("GET_v3_reference_options_contracts.json")["results"]
                + fixture("GET_v3_reference_options_contracts_cursor_page2.json")["results"]]
    assert [s.occ for s in symbols] == expected and len(expected) == 20
    first, cursor = fake.requests[0], fake.requests[1]
    assert first.query["underlying_ticker"] == "A" and first.query["limit"] == "1000"
    assert "cursor" in cursor.query and "underlying_ticker" not in cursor.query
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in fake.requests)


async def test_chain_snapshot_fixture_becomes_a_validated_chain(fake: FakeMassive) -> None:
    item = fixture("GET_v3_snapshot_options_UNDERLYING.json")["results"][0]
    ns = item["last_quote"]["last_updated"]
    quoted_at = datetime.fromtimestamp(ns // 1000 // 1_000_000, UTC).replace(
        microsecond=ns // 1000 % 1_000_000)  # truncated to the microsecond, never rounded up
    fresh = make_feed(fake, SimClock(quoted_at + timedelta(seconds=10)))

    chain = await fresh.fetch_chain("AAPL")

    c = chain.get("AAPL230616C00150000")
    assert c is not None and c.is_valid
    assert (c.bid, c.ask, c.bid_size, c.ask_size) == (28.9, 29.25, 294, 209)
    assert (c.last, c.volume, c.open_interest) == (29.25, 8, 8133)
    assert (c.delta, c.gamma, c.theta, c.vega) == (0.6436614934293701, 0.0061735291012820675,
                                                   -0.028227189324641973, 0.6381159723175714)
    assert c.implied_volatility == 0.3570277203465058
    assert c.underlying_price == 159.9606 and c.mark == pytest.approx(29.075)
    assert c.quote_timestamp == quoted_at
    assert fake.requests[0].query["limit"] == "250"

    later = await make_feed(fake, SimClock(quoted_at + timedelta(minutes=5))).fetch_chain("AAPL")
    assert later.flag_counts()["stale"] == 1
    assert later.get("AAPL230616C00150000") is None  # never handed out as valid


def snapshot_rows(as_of_ns: int) -> list[dict[str, Any]]:
    """The real GOOG 2015-12-24 chain in Massive's snapshot shape."""
    df = pd.read_csv(GOOG_CHAIN)
    rows = []
    r: Any
    for r in df.itertuples():
        rows.append({
            "details": {"ticker": f"O:{r.occ_symbol}", "strike_price": r.strike,
                        "expiration_date": r.expiration, "shares_per_contract": 100,
                        "contract_type": "call" if r.right == "C" else "put",
                        "exercise_style": "american"},
            "last_quote": {"bid": r.low, "ask": r.high, "bid_size": 5, "ask_size": 7,
                           "last_updated": as_of_ns, "timeframe": "REAL-TIME"},
            "day": {"volume": int(r.volume)},
            "greeks": {"delta": r.delta, "gamma": r.gamma, "theta": r.theta, "vega": r.vega},
            "implied_volatility": r.implied_volatility,
            "underlying_asset": {"price": r.underlying_close, "ticker": "GOOG"},
        })
    return rows


async def test_paginated_real_chain_with_bad_rows_flagged_and_counted(fake: FakeMassive) -> None:
    clock = SimClock(datetime(2015, 12, 24, 18, 0, tzinfo=UTC))
    rows = snapshot_rows(int(clock.now().timestamp() * 1e9))
    rows[0]["last_quote"]["bid"], rows[0]["last_quote"]["ask"] = 5.0, 4.0  # crossed
    del rows[1]["last_quote"]["ask"]  # one-sided
    rows[2]["last_quote"]["timeframe"] = "DELAYED"
    rows[3]["details"]["shares_per_contract"] = 10  # an adjusted, non-standard deliverable
    rows[4]["greeks"]["delta"] = -0.5  # a call with a put's delta
    fake.snapshot_pages["GOOG"] = [rows[i:i + 250] for i in range(0, len(rows), 250)]

    chain = await make_feed(fake, clock).fetch_chain("GOOG")

    assert len(fake.requests) == len(fake.snapshot_pages["GOOG"]) == 9
    assert len(chain) == len(rows) - 1
    counts = chain.flag_counts()
    assert counts["crossed"] == 1 and counts["stale"] == 1
    assert counts["nonstandard_deliverable"] == 1 and counts["out_of_range"] == 1
    zero_high = sum(1 for r in rows if not r["last_quote"].get("ask"))  # no offer that day
    assert counts["missing"] == zero_high
    for bad in rows[:5]:
        assert chain.get(bad["details"]["ticker"]) is None
    best = chain.nearest_delta(0.5, OptionRight.CALL, date(2016, 1, 15))
    assert best is not None and best.is_valid and abs(best.delta - 0.5) < 0.05  # type: ignore[operator]


async def test_rate_limits_and_server_errors_are_retried_with_backoff(fake: FakeMassive) -> None:
    fake.fail("/v3/snapshot/options/", 429, times=3)  # exhausts the client's own 2 retries
    fake.fail("/v3/snapshot/options/", 502, times=2)

    chain = await make_feed(fake).fetch_chain("AAPL")

    assert len(chain) == 1
    assert fake.answers[429] == 3 and fake.answers[502] == 2 and fake.answers[200] == 1


async def test_an_outage_ends_in_a_clear_error_without_the_key(fake: FakeMassive,
                                                               caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    fake.fail("/v3/snapshot/options/", 503, times=1000)

    with pytest.raises(MassiveUnavailable, match="no answer after 3 attempts") as err:
        await make_feed(fake).fetch_chain("AAPL")

    assert fake.answers[503] == 3 * 3  # 3 attempts x (1 + 2 client retries)
    assert API_KEY not in str(err.value) and API_KEY not in caplog.text
    assert "retrying" in caplog.text


async def test_read_timeouts_are_retried(fake: FakeMassive) -> None:
    fake.stall("/v2/aggs/", 0.6, times=3)  # each beyond the 0.3 s read timeout

    feed = make_feed(fake, read_timeout_seconds=0.3)
    bars = await feed.fetch_bars("AAPL", 1, "day", date(2005, 4, 1), date(2005, 4, 4))

    assert len(bars) == 2
    assert len(fake.requests) == 4  # 3 timed out (1 call attempt = 1 + 2 quick retries), then 1


async def test_refusals_are_not_retried(fake: FakeMassive) -> None:
    fake.fail("/v3/snapshot/options/", 403, times=5)

    with pytest.raises(MassiveRequestError, match="refused"):
        await make_feed(fake).fetch_chain("AAPL")

    assert fake.answers[403] == 1


async def test_aggregates_become_bars_stamped_at_their_end(fake: FakeMassive) -> None:
    spec = fixture("GET_v2_aggs_ticker_OPTIONSTICKER_range_spec.json")["results"]
    feed = make_feed(fake)

    bars = await feed.fetch_bars("RDFN211119C00025000", 1, "day", date(2021, 9, 23),
                                 date(2021, 9, 24))

    assert fake.requests[0].path.startswith("/v2/aggs/ticker/O:RDFN211119C00025000/range/1/day")
    assert [b.close for b in bars] == [a["c"] for a in spec]
    assert bars[0].ts == datetime.fromtimestamp(spec[0]["t"] / 1000, UTC) + timedelta(days=1)
    assert bars[0].symbol == "RDFN211119C00025000" and bars[0].timeframe == "1d"
    # a bar that has not closed by the clock's now is not returned
    mid_second_bar = make_feed(fake, SimClock(bars[1].ts - timedelta(hours=1)))
    early = await mid_second_bar.fetch_bars("O:RDFN211119C00025000", 1, "day",
                                            date(2021, 9, 23), date(2021, 9, 24))
    assert [b.ts for b in early] == [bars[0].ts]


# -- WebSocket -----------------------------------------------------------------------------------

OPTION = "SPY241220P00720000"


def quote_frame(bid: float, ask: float, t: int = 1644506128351) -> dict[str, Any]:
    return {**fixture("ws_options_Q.json"), "sym": f"O:{OPTION}", "bp": bid, "ap": ask, "t": t}


def spy_trade() -> dict[str, Any]:
    return {**fixture("ws_status_frames.json")["equity_trade_frame"][0], "sym": "SPY"}


async def streaming(fake: FakeMassive, feed: MassiveFeed) -> asyncio.Task[None]:
    task = asyncio.create_task(feed.run())
    await until(lambda: fake.count("stocks") >= 1 and fake.count("options") >= 1
                and bool(fake.latest("stocks").subscribed)
                and bool(fake.latest("options").subscribed))
    return task


async def test_stream_authenticates_subscribes_and_turns_frames_into_events(
        fake: FakeMassive) -> None:
    feed = make_feed(fake, underlyings=["SPY"], option_symbols=[OPTION])
    task = await streaming(fake, feed)
    try:
        assert feed.is_stale()  # nothing received yet
        options, stocks = fake.latest("options"), fake.latest("stocks")
        assert options.authed_with == API_KEY == stocks.authed_with
        assert sorted(options.subscribed) == [f"AM.O:{OPTION}", f"Q.O:{OPTION}",
                                              f"T.O:{OPTION}"]
        assert sorted(stocks.subscribed) == ["AM.SPY", "Q.SPY", "T.SPY"]

        trade = {**fixture("ws_options_T.json"), "sym": f"O:{OPTION}"}
        minute = {**fixture("ws_options_AM.json"), "sym": f"O:{OPTION}"}
        await fake.send("options", [quote_frame(9.71, 9.81), trade, minute])
        await fake.send("stocks", [spy_trade()])
        await until(lambda: feed.events.qsize() == 4)

        events = [feed.events.get_nowait() for _ in range(4)]
        s = next(e for e in events if e.symbol == "SPY")  # two sockets: no order between them
        q, t, b = (e for e in events if e is not s)  # one socket: in the order sent
        assert isinstance(q, Quote) and (q.symbol, q.bid, q.ask, q.bid_size, q.ask_size) == (
            OPTION, 9.71, 9.81, 17, 24)
        assert q.underlying == "SPY" and q.ts == datetime.fromtimestamp(1644506128.351, UTC)
        assert isinstance(t, Trade) and (t.price, t.size, t.exchange) == (1.54, 1, "65")
        assert isinstance(b, Bar) and b.timeframe == "1m" and b.close == 2.05
        assert b.ts == datetime.fromtimestamp(minute["e"] / 1000, UTC)  # known at its end
        assert isinstance(s, Trade) and (s.symbol, s.price, s.size) == ("SPY", 161.87, 300)
        assert not feed.is_stale()
    finally:
        await feed.stop()
        await task


async def test_the_key_never_reaches_the_logs_even_at_debug(fake: FakeMassive,
                                                           caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    feed = make_feed(fake, underlyings=["SPY"], option_symbols=[OPTION])
    task = await streaming(fake, feed)
    try:
        await fake.send("stocks", [spy_trade()])
        await until(lambda: feed.events.qsize() == 1)
        await feed.fetch_chain("AAPL")
    finally:
        await feed.stop()
        await task
    assert "auth" in caplog.text.lower() or "subscrib" in caplog.text.lower()  # DEBUG was on
    assert API_KEY not in caplog.text


async def test_bad_frames_are_dropped_counted_and_logged_once(fake: FakeMassive,
                                                              caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    feed = make_feed(fake, underlyings=["SPY"], option_symbols=[OPTION])
    task = await streaming(fake, feed)
    try:
        await fake.send("options", [quote_frame(9.9, 9.8), quote_frame(9.9, 9.7),
                                    quote_frame(-1.0, 9.8), quote_frame(9.7, 9.8)])
        await until(lambda: feed.events.qsize() == 1)
        assert feed.dropped == {"crossed": 2, "negative": 1}
        assert caplog.text.count("dropping bad data (crossed)") == 1
        assert feed.events.get_nowait().bid == 9.7  # type: ignore[union-attr]
    finally:
        await feed.stop()
        await task


async def test_an_aborted_connection_is_reconnected_and_resubscribed(fake: FakeMassive) -> None:
    feed = make_feed(fake, underlyings=["SPY"], option_symbols=[OPTION])
    task = await streaming(fake, feed)
    try:
        fake.abort("options")
        await until(lambda: fake.count("options") == 2 and bool(fake.latest("options").subscribed))
        assert sorted(fake.latest("options").subscribed) == [
            f"AM.O:{OPTION}", f"Q.O:{OPTION}", f"T.O:{OPTION}"]
        await fake.send("options", [quote_frame(1.0, 1.1)])
        await until(lambda: feed.events.qsize() == 1)
    finally:
        await feed.stop()
        await task


async def test_a_clean_close_is_reconnected_by_the_supervisor(fake: FakeMassive) -> None:
    feed = make_feed(fake, underlyings=["SPY"], option_symbols=[OPTION])
    task = await streaming(fake, feed)
    try:
        await fake.close("stocks")  # 1000: the client's connect() just returns
        await until(lambda: fake.count("stocks") == 2 and bool(fake.latest("stocks").subscribed))
        assert feed.reconnects["stocks"] == 1
        assert sorted(fake.latest("stocks").subscribed) == ["AM.SPY", "Q.SPY", "T.SPY"]
        feed.subscribe("O:SPY241220C00600000")  # added at run time: sent on the live socket
        await until(lambda: "Q.O:SPY241220C00600000" in fake.latest("options").subscribed)
    finally:
        await feed.stop()
        await task


async def test_first_option_subscription_opens_the_options_socket(fake: FakeMassive) -> None:
    feed = make_feed(fake, underlyings=["SPY"])
    task = asyncio.create_task(feed.run())
    try:
        await until(lambda: fake.count("stocks") == 1 and bool(fake.latest("stocks").subscribed))
        assert fake.count("options") == 0
        feed.subscribe("SPY  241220P00720000")  # any OCC form
        await until(lambda: fake.count("options") == 1 and bool(fake.latest("options").subscribed))
        assert sorted(fake.latest("options").subscribed) == [
            f"AM.O:{OPTION}", f"Q.O:{OPTION}", f"T.O:{OPTION}"]
    finally:
        await feed.stop()
        await task


async def test_index_underlyings_stream_from_the_indices_market(fake: FakeMassive) -> None:
    spxw = "SPXW240119C04800000"
    feed = make_feed(fake, underlyings=["SPX", "SPY"], option_symbols=[spxw])
    task = asyncio.create_task(feed.run())
    try:
        await until(lambda: all(fake.count(m) == 1 and bool(fake.latest(m).subscribed)
                                for m in ("stocks", "indices", "options")))
        assert sorted(fake.latest("indices").subscribed) == ["AM.I:SPX", "V.I:SPX"]
        assert sorted(fake.latest("stocks").subscribed) == ["AM.SPY", "Q.SPY", "T.SPY"]
        await fake.send("indices", [{"ev": "V", "val": 4780.94, "T": "I:SPX", "t": 1705676400000}])
        await fake.send("options", [{**quote_frame(20.0, 20.6), "sym": f"O:{spxw}"}])
        await fake.send("stocks", [spy_trade()])
        await until(lambda: feed.events.qsize() == 3)
        events = {e.symbol: e for e in (feed.events.get_nowait() for _ in range(3))}
        level = events["SPX"]
        assert isinstance(level, Trade) and (level.price, level.size) == (4780.94, 0)
        option_quote = events[spxw]
        assert isinstance(option_quote, Quote) and option_quote.underlying == "SPX"
        assert not feed.is_stale()  # both underlying streams and the options stream are live
    finally:
        await feed.stop()
        await task


async def test_silence_makes_the_feed_stale_and_data_makes_it_live(fake: FakeMassive) -> None:
    clock = SimClock(FAR_FUTURE)
    changes: list[bool] = []
    feed = make_feed(fake, clock, underlyings=["SPY"], option_symbols=[OPTION],
                     stale_after_seconds=0.2, on_stale_change=changes.append)
    task = await streaming(fake, feed)
    try:
        spy = spy_trade()
        await fake.send("options", [quote_frame(1.0, 1.1)])
        await fake.send("stocks", [spy])
        await until(lambda: changes == [False])
        clock.advance_to(FAR_FUTURE + timedelta(seconds=1))  # silence on the heartbeat stream
        await until(lambda: changes == [False, True])
        assert feed.is_stale()
        await fake.send("stocks", [spy])
        await until(lambda: changes == [False, True, False])
        fake.abort("stocks")
        await until(lambda: fake.count("stocks") == 2)
        assert feed.is_stale()  # reconnected, but no data on the new socket yet
    finally:
        await feed.stop()
        await task


async def test_a_wrong_key_stops_streaming_with_auth_error(fake: FakeMassive) -> None:
    feed = MassiveFeed(MassiveFeedConfig(ws_host=fake.ws_host, ws_secure=False), "wrong-key",
                       SimClock(FAR_FUTURE), underlyings=["SPY"])
    with pytest.raises(AuthError):
        await asyncio.wait_for(feed.run(), timeout=10)
    assert fake.count("stocks") == 1 and feed.is_stale()
