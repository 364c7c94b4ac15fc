"""End to end: two real GOOG sessions replayed in sequence through the live engine. The first
day's close is recorded in the store, and the second day's contracts carry a 30-day volume
average and an IV rank from it; a restarted bot loads both days back. Volumes are checked
against the raw trade files with pandas."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd
import pytest

from backtest.data import load_data
from bot.store.daily_history import DailyHistoryRepository
from bot.store.store import Store
from bot.wiring import build_bot
from market.calendar import NEW_YORK
from market.chain_from_state import chain_from_state
from market.clock import SimClock
from market.daily_history import (
    CALL_VOLUME_SERIES,
    IV_SERIES,
    VOLUME_SERIES,
    two_sided_atm_iv,
    with_iv_rank,
)
from market.greeks.chain import with_greeks
from tests.conftest import SHARED, make_settings

DAY1, DAY2 = date(2015, 12, 23), date(2015, 12, 24)
DATA = SHARED / "data"
LOOK_AT = datetime.combine(DAY2, time(11, 0), NEW_YORK).astimezone(UTC)


def day_volumes(day: date) -> pd.Series:
    """Contracts traded per symbol over the day's file (its prints are all in regular hours,
    13:00 close included on the half day 2015-12-24)."""
    trades = pd.read_csv(DATA / "options_minute" / f"GOOG_{day}_trades.csv.gz")
    return trades.groupby("occ_symbol").volume.sum()


def test_the_second_day_carries_the_first_days_volume_and_iv(tmp_path: Path) -> None:
    if not (DATA / "options_minute").exists():
        pytest.fail(f"the shared real data is needed at {DATA} (see its README)")
    settings = make_settings(  # no strategies: this is about the data, not trading
        tmp_path, strategies={}, daily_history={"min_volume_sessions": 1, "min_iv_sessions": 1}
    )
    data = load_data(DATA, DAY1, DAY2, ["GOOG"])
    assert data.days == [DAY1, DAY2]
    clock = SimClock(datetime.combine(DAY1, time(0), NEW_YORK).astimezone(UTC))
    bot = build_bot(settings, clock, run_tag="daily")
    looked = False
    try:
        for event in data.source.events():
            if not looked and event.ts >= LOOK_AT:
                looked = True
                chain = chain_from_state(bot.market, "GOOG", clock.now())
                priced = with_greeks(chain, 0.04, 0.0, bot.market.calendar)[0]  # type: ignore[arg-type]
                ranked = with_iv_rank(priced, bot.market.daily, bot.market.calendar)  # type: ignore[arg-type]
                current_iv = two_sided_atm_iv(priced, bot.market.calendar, 30.0)  # type: ignore[arg-type]
            clock.advance_to(event.ts)
            bot.engine.on_event(event)
        bot.engine.close_session()
    finally:
        bot.close()  # records the last session once more, with the prints stamped at its close
    assert looked
    store = Store.open(settings.store.url, settings.account_id)
    repo = DailyHistoryRepository(store)
    stored_iv = repo.load_daily("GOOG", IV_SERIES, 5)
    stored_volume = repo.load_daily("GOOG", VOLUME_SERIES, 5)
    stored_calls = repo.load_daily("GOOG", CALL_VOLUME_SERIES, 5)
    store.close()

    first = day_volumes(DAY1)
    assert [v.day for v in stored_volume] == [DAY1, DAY2]
    assert stored_volume[0].value == first.sum() > 0
    assert stored_volume[1].value == day_volumes(DAY2).sum()
    calls = first[first.index.str[10] == "C"].sum()
    assert stored_calls[0].value == calls

    # Day 2's contracts: the 30-day average is day 1's volume (one session), 0 if none
    avg = dict(zip(chain.symbol.tolist(), chain.column("volume_avg_30d").tolist(), strict=True))
    traded_both = [s for s in first.index if s in avg]
    assert traded_both, "some day-1 contracts are quoted on day 2"
    for symbol in traded_both:
        assert avg[symbol] == first[symbol], symbol
    untraded = [s for s in avg if s not in first.index]
    assert untraded and all(avg[s] == 0.0 for s in untraded)
    contract = chain.get(traded_both[0], valid_only=False)
    assert contract is not None and contract.volume_avg_30d == first[traded_both[0]]

    # IV: day 1's closing ATM IV is the whole window; day 2's current ATM IV ranks against it
    assert [v.day for v in stored_iv] == [DAY1, DAY2]
    iv1 = stored_iv[0].value
    assert 0.05 < iv1 < 1.5 and 0.05 < current_iv < 1.5
    expected = 100.0 if current_iv > iv1 else 0.0  # one session: the range is [min, max]
    assert ranked.column("iv_rank").tolist() == pytest.approx([expected] * len(ranked))
    assert ranked.column("iv_percentile").tolist() == [expected] * len(ranked)

    # A restart on the same store loads both sessions back
    later = SimClock(datetime(2015, 12, 28, 14, 0, tzinfo=UTC))
    again = build_bot(settings, later, run_tag="daily2")
    try:
        assert again.market.daily is not None
        both = (first.sum() + day_volumes(DAY2).sum()) / 2
        assert again.market.daily.volume_avg("GOOG", date(2015, 12, 28)) == (both, 2)
        assert again.market.daily.iv_history("GOOG", date(2015, 12, 28)).tolist() == [
            v.value for v in stored_iv
        ]
    finally:
        again.close()
    assert not math.isnan(iv1)
