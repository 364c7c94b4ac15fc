"""Per-contract Greeks for the risk rules, computed from the market the bot sees.

Implied volatility comes from the contract's NBBO mid and the underlying's mid (or last bar),
then Black-Scholes-Merton Greeks at that volatility (`market.greeks`). Greeks move slowly next
to a risk check, and recomputing a whole portfolio on every order would cost more than the rest
of the gate, so time is cut into epochs of `max_age` and a contract's Greeks are computed at
most once per epoch (so never older than `max_age`). The epoch number tells a reader of many
contracts (the Greeks limit's portfolio sums) that none of them changed (decision 0355). A
contract without a two-sided quote, an underlying price, or an implied volatility has no Greeks
(None): the rule then applies its `on_unknown` policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from market.calendar import ExchangeCalendar
from market.clock import Clock
from market.greeks import bsm_greeks, implied_volatility, years_to_expiry
from market.instruments import OptionRight
from market.state import MarketState
from risk.context import ContractGreeks
from risk.rules.common import option_of

DAYS_PER_YEAR = 365.0
_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class QuoteGreeks:
    market: MarketState
    clock: Clock
    calendar: ExchangeCalendar
    rate: float = 0.0
    dividend_yield: float = 0.0
    max_age: timedelta = timedelta(seconds=30)
    _cache: dict[str, tuple[int, ContractGreeks | None]] = field(default_factory=dict)
    _epoch: tuple[datetime, datetime, int] = field(default=(_ORIGIN, _ORIGIN, -1), repr=False)

    def __call__(self, symbol: str) -> ContractGreeks | None:
        now = self.clock.now()
        start, end, epoch = self._epoch
        if not start <= now < end:
            epoch = self.epoch(now)
        hit = self._cache.get(symbol)
        if hit is not None and hit[0] == epoch:
            return hit[1]
        value = self._compute(symbol, now)
        self._cache[symbol] = (epoch, value)
        return value

    def epoch(self, now: datetime) -> int:
        """The number of the `max_age` slice of time `now` falls in: while it stays the same,
        no contract's Greeks change."""
        start, end, number = self._epoch
        if start <= now < end:
            return number
        number = (now - _ORIGIN) // self.max_age
        start = _ORIGIN + number * self.max_age
        self._epoch = (start, start + self.max_age, number)
        return number

    def _underlying_price(self, symbol: str, root: str) -> float | None:
        underlying = self.market.underlying_of.get(symbol) or root
        quote = self.market.quote(underlying)
        if quote is not None and quote.bid > 0 and quote.ask >= quote.bid:
            return quote.mid
        bar = self.market.last_bar(underlying)
        return None if bar is None or not bar.close > 0 else bar.close

    def _compute(self, symbol: str, now: datetime) -> ContractGreeks | None:
        option = option_of(symbol)
        quote = self.market.quote(symbol)
        if option is None or quote is None or not quote.bid > 0 or quote.ask < quote.bid:
            return None
        spot = self._underlying_price(symbol, option.root)
        if spot is None:
            return None
        t = years_to_expiry(now, option.expiration, self.calendar)
        if t <= 0:
            return None
        call = option.right is OptionRight.CALL
        iv = float(
            implied_volatility(
                quote.mid, call, spot, option.strike, t, self.rate, self.dividend_yield
            ).iv
        )
        if not math.isfinite(iv) or iv <= 0:
            return None
        g = bsm_greeks(call, spot, option.strike, t, self.rate, self.dividend_yield, iv)
        # bsm_greeks gives theta per year and vega per 1.00 of volatility.
        return ContractGreeks(
            float(g.delta),
            float(g.gamma),
            float(g.vega) / 100.0,
            float(g.theta) / DAYS_PER_YEAR,
            spot,
        )
