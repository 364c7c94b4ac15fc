"""Open interest from the replay: the recorded figure, published at its stamp, never earlier.

Two real GOOG days (2015-12-23 with 118 contracts, 2015-12-24 with 2,058) replayed as one run:
while the first day plays, only its figures are known; the second day's appear with its first
event. Values checked by hand in the shared data's open-interest files."""

from __future__ import annotations

from datetime import date

from market.calendar import NEW_YORK
from market.chain_from_state import chain_from_state
from market.data import Bar, Quote, Trade
from market.feeds.replay import ReplayDay, ReplayFeed
from market.state import MarketState
from tests.conftest import SHARED

OPTIONS, EQUITY = SHARED / "data" / "options_minute", SHARED / "data" / "equity_minute"
DAY1, DAY2 = date(2015, 12, 23), date(2015, 12, 24)
CALL_750 = "GOOG151224C00750000"  # open interest 555 on 12-23, 780 on 12-24
PUT_747 = "GOOG151224P00747500"  # 280, then 345


def _day(day: date, with_oi: bool = True, quotes: bool = True) -> ReplayDay:
    """One recorded day; without quotes (275k rows on 12-24) when only time order matters."""
    stem = f"GOOG_{day.isoformat()}"
    return ReplayDay(
        "GOOG",
        day,
        OPTIONS / f"{stem}_quotes.csv.gz" if quotes else None,
        OPTIONS / f"{stem}_trades.csv.gz",
        OPTIONS / f"{stem}_open_interest.csv.gz" if with_oi else None,
        EQUITY / f"{stem}_1min.csv.gz",
    )


def _apply(market: MarketState, event: Quote | Trade | Bar) -> None:
    if isinstance(event, Quote):
        market.on_quote(event)
    elif isinstance(event, Trade):
        market.on_trade(event)
    else:
        market.on_bar(event)


def test_each_day_shows_its_own_figures_and_none_from_the_future() -> None:
    market = MarketState()
    feed = ReplayFeed([_day(DAY1), _day(DAY2, quotes=False)], open_interest=market.open_interest)
    seen: dict[date, set[tuple[int, int | None, int | None]]] = {DAY1: set(), DAY2: set()}
    for event in feed.events():
        day = event.ts.astimezone(NEW_YORK).date()
        oi = market.open_interest
        seen[day].add((len(oi), oi.get(CALL_750), oi.get(PUT_747)))
    # Day one: its 118 figures only, all day; day two: its 2,058 (a superset) all day.
    assert seen[DAY1] == {(118, 555, 280)}
    assert seen[DAY2] == {(2058, 780, 345)}


def test_a_contract_from_the_chain_carries_the_recorded_open_interest() -> None:
    market = MarketState()
    events = ReplayFeed([_day(DAY2)], open_interest=market.open_interest).events()
    assert market.open_interest == {}  # nothing before the first event is asked for
    first = next(events)
    assert first.ts.astimezone(NEW_YORK).strftime("%H:%M") == "09:31"  # the first release
    assert market.open_interest[CALL_750] == 780
    _apply(market, first)
    for event in events:
        _apply(market, event)
        if event.ts.astimezone(NEW_YORK).hour >= 11:
            break
    chain = chain_from_state(market, "GOOG", event.ts)
    contracts = {c.symbol: c for c in (chain.contract(i) for i in range(len(chain)))}
    assert contracts[CALL_750].open_interest == 780
    assert contracts[PUT_747].open_interest == 345


def test_a_day_without_an_open_interest_file_keeps_the_last_known_figures() -> None:
    # A multi-day replay whose second day has no file: yesterday's figures stay (stale but
    # honest), never a later day's.
    market = MarketState()
    feed = ReplayFeed(
        [_day(DAY1), _day(DAY2, with_oi=False, quotes=False)], open_interest=market.open_interest
    )
    values = {
        (event.ts.astimezone(NEW_YORK).date(), market.open_interest.get(CALL_750))
        for event in feed.events()
    }
    assert values == {(DAY1, 555), (DAY2, 555)}
