"""The trade journal: premium today, day trades (PDT), losing streak."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from brokers.orders import Fill, Side
from risk.journal import TradeJournal

CALL = "GOOG151231C00750000"
DAY1 = datetime(2015, 12, 23, 15, 0, tzinfo=UTC)
DAY2 = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
_n = iter(range(10**6))


def fill(side: Side, qty: int, price: float, ts: datetime, cid: str = "",
         symbol: str = CALL, fee: float = 0.0) -> Fill:
    n = next(_n)
    return Fill(f"f{n}", cid or f"o{n}", symbol, side, qty, price, ts, fee)


def test_premium_counts_opening_buys_per_new_york_day():
    j = TradeJournal()
    j.record(fill(Side.BUY, 2, 1.50, DAY2))
    j.record(fill(Side.SELL, 2, 1.60, DAY2 + timedelta(minutes=5)))
    j.record(fill(Side.BUY, 1, 3.00, DAY2 + timedelta(minutes=9)))
    assert j.premium_on(date(2015, 12, 24)) == 2 * 150 + 300
    late = datetime(2015, 12, 25, 2, 0, tzinfo=UTC)  # 21:00 on the 24th in New York
    j.record(fill(Side.BUY, 1, 1.00, late, symbol="GOOG151231P00700000"))
    assert j.premium_on(date(2015, 12, 24)) == 700


def test_a_closing_order_with_partial_fills_is_one_day_trade():
    j = TradeJournal()
    j.record(fill(Side.BUY, 3, 1.0, DAY2))
    j.record(fill(Side.SELL, 1, 1.1, DAY2 + timedelta(minutes=1), cid="exit"))
    j.record(fill(Side.SELL, 2, 1.1, DAY2 + timedelta(minutes=2), cid="exit"))
    assert j.day_trades_since(date(2015, 12, 24)) == 1


def test_closing_an_overnight_position_is_not_a_day_trade():
    j = TradeJournal()
    j.record(fill(Side.BUY, 1, 1.0, DAY1))
    j.record(fill(Side.SELL, 1, 1.2, DAY2))
    assert j.day_trades_since(date(2015, 12, 1)) == 0


def test_day_trades_window_and_duplicate_fill_ids():
    j = TradeJournal()
    for day in (DAY1, DAY2):
        opening = fill(Side.BUY, 1, 1.0, day)
        j.record(opening)
        j.record(opening)  # the same fill again changes nothing
        j.record(fill(Side.SELL, 1, 1.1, day + timedelta(minutes=3)))
    assert j.day_trades_since(date(2015, 12, 23)) == 2
    assert j.day_trades_since(date(2015, 12, 24)) == 1


def test_losing_streak_counts_round_trips_after_fees_and_resets_on_a_win():
    j = TradeJournal()
    t = DAY2
    for i in range(3):
        j.record(fill(Side.BUY, 1, 2.00, t + timedelta(minutes=10 * i)))
        j.record(fill(Side.SELL, 1, 2.00, t + timedelta(minutes=10 * i + 5), fee=0.65))
    assert j.streak.losses == 3  # flat price, fees make each a loss
    assert j.streak.last_loss_at == t + timedelta(minutes=25)
    j.record(fill(Side.BUY, 1, 2.00, t + timedelta(hours=1)))
    j.record(fill(Side.SELL, 1, 2.50, t + timedelta(hours=1, minutes=5)))
    assert j.streak.losses == 0


def test_round_trip_ends_only_when_flat():
    j = TradeJournal()
    j.record(fill(Side.BUY, 2, 2.0, DAY2))
    j.record(fill(Side.SELL, 1, 1.0, DAY2 + timedelta(minutes=1)))
    assert j.streak.losses == 0  # still holding one
    j.record(fill(Side.SELL, 1, 4.0, DAY2 + timedelta(minutes=2)))
    assert j.streak.losses == 0  # -100 + 200: a win overall


def test_load_replays_in_time_order():
    a = fill(Side.BUY, 1, 2.0, DAY2)
    b = fill(Side.SELL, 1, 1.0, DAY2 + timedelta(minutes=1))
    j = TradeJournal()
    j.load([b, a])
    assert j.streak.losses == 1
