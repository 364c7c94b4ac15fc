"""An `OptionChain` from what the bot has seen so far (`MarketState`), whatever the feed.

With the replay feed there is no vendor snapshot: the chain is the latest quote of every option
contract of the underlying, its session volume and last print, and its open interest. With a
live feed this gives the same view between REST snapshots. Quotes are stamped when they became
known, so with `max_quote_age` a contract that stopped quoting is flagged stale. With the daily
history loaded (`state.daily`), each contract carries its 30-day average volume.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from market.calendar import NEW_YORK
from market.chain import OptionChain
from market.instruments import is_option_symbol
from market.state import MarketState


def underlying_price(state: MarketState, underlying: str) -> float:
    """The underlying's quote mid when it has a two-sided quote, else its last print (an
    index's value), else its last bar's close, else NaN (every contract is then flagged
    missing)."""
    quote = state.quote(underlying)
    if quote is not None and quote.bid > 0 and quote.ask >= quote.bid:
        return quote.mid
    activity = state.activity.get(underlying)
    if activity is not None and math.isfinite(activity.last_price):
        return activity.last_price
    bar = state.last_bar(underlying)
    return bar.close if bar is not None else math.nan


def chain_from_state(state: MarketState, underlying: str, as_of: datetime,
                     max_quote_age: timedelta | None = None) -> OptionChain:
    """The option chain of `underlying` as of `as_of` from the latest events in `state`."""
    symbols = [s for s, u in state.underlying_of.items()
               if u == underlying and s != underlying and is_option_symbol(s)]
    quotes = [state.quotes[s] for s in symbols]
    activity = [state.activity.get(s) for s in symbols]
    oi = state.open_interest
    daily: dict[str, Any] = {} if state.daily is None else {
        "volume_avg_30d": state.daily.contract_volume_avg(
            underlying, symbols, as_of.astimezone(NEW_YORK).date())}
    return OptionChain.build(
        underlying, as_of, symbols,
        bid=np.fromiter((q.bid for q in quotes), np.float64, len(quotes)),
        ask=np.fromiter((q.ask for q in quotes), np.float64, len(quotes)),
        bid_size=np.fromiter((q.bid_size for q in quotes), np.float64, len(quotes)),
        ask_size=np.fromiter((q.ask_size for q in quotes), np.float64, len(quotes)),
        quote_time=np.fromiter((q.ts.timestamp() * 1e9 for q in quotes), np.float64,
                               len(quotes)),
        max_quote_age=max_quote_age,
        underlying_price=underlying_price(state, underlying),
        volume=np.fromiter((a.volume if a else 0 for a in activity), np.float64, len(quotes)),
        last=np.fromiter((a.last_price if a else math.nan for a in activity), np.float64,
                         len(quotes)),
        open_interest=np.fromiter((oi.get(s, math.nan) for s in symbols), np.float64,
                                  len(quotes)),
        **daily,
    )
