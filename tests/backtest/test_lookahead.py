"""No look-ahead: a value planted in the future is invisible to every strategy until its time.

A probe strategy records, on every hook, the clock's now, the event's stamp and everything it
can read from the market state. The data carries a planted, impossible price; the probe must
first see it exactly when the feed releases it, and never see any stamp beyond now.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from backtest.runner import run
from market.data import Bar, Quote, Trade
from strategies.base import Signal, Strategy, StrategyConfig
from strategies.registry import register
from tests.conftest import REPLAY_DIR, make_settings

PLANTED = 999.99


@dataclass
class Seen:
    now: datetime
    event_ts: datetime
    latest_state_ts: datetime
    planted_visible: bool


SEEN: list[Seen] = []


class ProbeConfig(StrategyConfig):
    pass


class Probe(Strategy):
    name = "lookahead_probe"

    def _look(self, event: Quote | Trade | Bar) -> list[Signal]:
        quotes = self.market.quotes.values()
        bars = [b for series in self.market.bars.values() for b in series]
        latest = max([q.ts for q in quotes] + [b.ts for b in bars] + [event.ts])
        planted = any(q.bid == PLANTED - 0.01 or q.ask == PLANTED for q in quotes) or any(
            b.close == PLANTED for b in bars)
        SEEN.append(Seen(self.clock.now(), event.ts, latest, planted))
        return []

    def on_quote(self, quote: Quote) -> list[Signal]:
        return self._look(quote)

    def on_bar(self, bar: Bar) -> list[Signal]:
        return self._look(bar)

    def on_trade(self, trade: Trade) -> list[Signal]:
        return self._look(trade)


register("lookahead_probe", Probe, ProbeConfig)


def _settings():  # type: ignore[no-untyped-def]
    return make_settings(strategies={"lookahead_probe": {}})


def _assert_never_ahead() -> None:
    assert SEEN, "the probe was never called"
    ahead = [s for s in SEEN if s.event_ts > s.now or s.latest_state_ts > s.now]
    assert not ahead, f"a strategy saw the future: {ahead[:3]}"


def test_planted_minute_bar_is_invisible_until_the_minute_has_ended(tmp_path: Path) -> None:
    # The 10:33 New York bar of the real GOOG day gets an impossible close and quote. A minute
    # bar is known only when it ends, so nothing may see it before 10:34 (15:34 UTC).
    df = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_1min.csv.gz")
    row = df.timestamp == "2015-12-24T10:33:00-05:00"
    assert row.sum() == 1
    df.loc[row, ["close", "bid_close", "ask_close"]] = [PLANTED, PLANTED - 0.01, PLANTED]
    with gzip.open(tmp_path / "GOOG_2015-12-24_1min.csv.gz", "wt") as out:
        df.to_csv(out, index=False)
    SEEN.clear()
    run(_settings(), tmp_path)
    _assert_never_ahead()
    first = next(s for s in SEEN if s.planted_visible)
    assert first.now == datetime(2015, 12, 24, 15, 34, tzinfo=UTC)
    assert all(not s.planted_visible for s in SEEN if s.now < first.now)
    # and it really was released then: the strategies ran through the whole day
    assert SEEN[-1].now > datetime(2015, 12, 24, 17, 50, tzinfo=UTC)


def test_future_row_first_in_an_event_table_waits_for_its_stamp(tmp_path: Path) -> None:
    # An event table whose FIRST row is stamped an hour later than the rest: a loader that
    # replayed file order would leak it at once.
    future = {"ts": "2015-12-24T11:30:00-05:00", "symbol": "GOOG", "bid": PLANTED - 0.01,
              "ask": PLANTED, "bid_size": 1, "ask_size": 1, "underlying": "GOOG"}
    rows = [future] + [
        {"ts": f"2015-12-24T10:{m:02d}:00-05:00", "symbol": "GOOG", "bid": 748.0 + m / 100,
         "ask": 748.2 + m / 100, "bid_size": 100, "ask_size": 100, "underlying": "GOOG"}
        for m in range(0, 60)] + [
        {"ts": "2015-12-24T11:31:00-05:00", "symbol": "GOOG", "bid": 748.0, "ask": 748.2,
         "bid_size": 100, "ask_size": 100, "underlying": "GOOG"}]
    pd.DataFrame(rows).to_csv(tmp_path / "quotes.csv", index=False)
    SEEN.clear()
    run(_settings(), tmp_path)
    _assert_never_ahead()
    first = next(s for s in SEEN if s.planted_visible)
    assert first.now == datetime(2015, 12, 24, 16, 30, tzinfo=UTC)
    assert sum(1 for s in SEEN if s.now < first.now) == 60
