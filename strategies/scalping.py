"""Scalping: short option-price momentum on liquid, near-the-money contracts, calls and puts.

Fires when a contract's mid has risen by `min_momentum` over `lookback`, its spread is tight,
it has traded enough today, its |delta| is in the band, the underlying's 1-minute RSI is in
the side's band and the higher timeframe's trend agrees. A put's premium rising is the bearish
mirror of a call's: the RSI band and the trend direction flip for puts. Exits: target, stop
(a fraction or a dollar floor, whichever is wider) and a time stop.

The README's "Strategies" section explains the defaults, which differ from the specification
where its numbers never trade on real data (its RSI 30-40 "oversold" with a 3% up-move).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from pydantic import Field, field_validator

from market.clock import Clock
from market.data import Quote
from market.greeks import implied_volatility_and_greeks, years_to_expiry
from market.instruments import OptionRight, OptionSymbol, is_option_symbol
from market.state import MarketState
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.funnel import Funnel
from strategies.registry import register
from strategies.scoring import (
    ConfidenceWeights,
    combine,
    confirmed,
    flow_agreement,
    ramp,
    timeframe_agreement,
)

_CENT_EPS = 1e-9  # prices are decimal cents in binary floats: 10.65 - 10.35 > 0.30


def _band(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"band low must not exceed high, got {value}")
    return value


class ScalpingConfig(StrategyConfig):
    max_spread: float = Field(
        0.50,
        gt=0,
        description="Widest bid-ask spread, $ (default 0.50; "
        "the spec's 0.10 never passes on a $750 stock's options).",
    )
    max_spread_pct: float = Field(0.05, gt=0, description="Widest spread / mid (default 0.05).")
    min_price: float = Field(0.50, ge=0, description="Cheapest premium considered (default 0.50).")
    min_volume: int = Field(
        20,
        ge=0,
        description="Contracts traded today (default 20; the "
        "spec's 1,000 suits SPY-class names, not a single GOOG strike).",
    )
    max_moneyness: float = Field(
        0.03, gt=0, description="|strike / underlying - 1| at most this (default 0.03)."
    )
    min_abs_delta: float = Field(0.40, ge=0, le=1, description="Lowest |delta| (default 0.40).")
    max_abs_delta: float = Field(0.70, ge=0, le=1, description="Highest |delta| (default 0.70).")
    lookback: timedelta = Field(
        timedelta(minutes=3), description="Momentum window, 1-5 min (default 3 min)."
    )
    min_momentum: float = Field(0.03, gt=0, description="Mid rise over the window (default 3%).")
    full_momentum: float = Field(
        0.10, gt=0, description="Rise scored as full strength (default 10%)."
    )
    rsi_timeframe: str = Field("1m", description="Underlying RSI 14 timeframe (default 1m).")
    call_rsi_band: tuple[float, float] = Field(
        (0.0, 70.0), description="Underlying RSI allowed for calls (default 0-70: not overbought)."
    )
    put_rsi_band: tuple[float, float] = Field(
        (30.0, 100.0), description="Underlying RSI allowed for puts (default 30-100: not oversold)."
    )
    confirm_timeframe: str | None = Field(
        "5m",
        description="Higher timeframe whose EMA 9/21 "
        "trend must agree (default 5m; None turns it off).",
    )
    confirm_when_cold: bool = Field(
        True, description="Pass while that trend warms up (default true)."
    )
    score_timeframes: tuple[str, ...] = Field(
        ("1m", "5m"), description="Timeframes voting in the confidence (default 1m, 5m)."
    )
    target_pct: float = Field(0.15, gt=0, description="Take profit (default +15%).")
    stop_pct: float = Field(0.05, gt=0, description="Stop loss (default -5%).")
    min_stop: float = Field(0.05, ge=0, description="Stop at least this far, $ (default 0.05).")
    time_stop: timedelta = Field(timedelta(minutes=5), description="Exit after (default 5 min).")
    cooldown: timedelta = Field(
        timedelta(minutes=10), description="Per contract, between signals (default 10 min)."
    )
    rate: float = Field(0.0, description="Risk-free rate for the delta (default 0).")
    weights: ConfidenceWeights = ConfidenceWeights()

    _bands = field_validator("call_rsi_band", "put_rsi_band")(_band)


class Scalping(Strategy):
    name = "scalping"
    config: ScalpingConfig

    def __init__(self, config: ScalpingConfig, market: MarketState, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._mids: dict[str, deque[tuple[datetime, float]]] = {}
        self._last_signal: dict[str, datetime] = {}
        self._specs: dict[str, OptionSymbol] = {}
        self.funnel = Funnel(
            "quotes",
            "spread",
            "momentum",
            "cooldown",
            "volume",
            "moneyness",
            "delta",
            "rsi",
            "trend",
            "signal",
        )

    def on_quote(self, quote: Quote) -> list[Signal]:
        cfg = self.config
        bid, ask = quote.bid, quote.ask
        self.funnel.passed("quotes")
        if bid <= 0 or ask < cfg.min_price or ask - bid > cfg.max_spread + _CENT_EPS:
            return []
        mid = (bid + ask) / 2.0
        if (ask - bid) / mid > cfg.max_spread_pct:
            return []
        self.funnel.passed("spread")
        history = self._mids.get(quote.symbol)
        if history is None:
            history = self._mids[quote.symbol] = deque()
        history.append((quote.ts, mid))
        horizon = quote.ts - cfg.lookback
        while len(history) > 1 and history[1][0] <= horizon:
            history.popleft()
        start_ts, start_mid = history[0]
        if start_ts > horizon or start_mid <= 0:
            return []  # not enough history yet
        momentum = mid / start_mid - 1.0
        if momentum < cfg.min_momentum:
            return []
        self.funnel.passed("momentum")
        return self._maybe_signal(quote, mid, momentum)

    def _maybe_signal(self, quote: Quote, mid: float, momentum: float) -> list[Signal]:
        cfg, funnel = self.config, self.funnel
        last = self._last_signal.get(quote.symbol)
        if last is not None and quote.ts - last < cfg.cooldown:
            return []
        funnel.passed("cooldown")
        volume = self.market.volume(quote.symbol)
        if volume < cfg.min_volume or not is_option_symbol(quote.symbol):
            return []
        funnel.passed("volume")
        spec = self._specs.get(quote.symbol)
        if spec is None:
            spec = self._specs[quote.symbol] = OptionSymbol.parse(quote.symbol)
        root = quote.underlying or spec.root
        und = self.market.quote(root)
        if und is None or und.mid <= 0:
            return []
        moneyness = abs(spec.strike / und.mid - 1.0)
        if moneyness > cfg.max_moneyness:
            return []
        funnel.passed("moneyness")
        delta = self._delta(spec, mid, und.mid, quote.ts)
        if not cfg.min_abs_delta <= abs(delta) <= cfg.max_abs_delta:
            return []
        funnel.passed("delta")
        direction = 1 if spec.right is OptionRight.CALL else -1
        rsi_ok, rsi_text = self._rsi_ok(root, direction)
        if not rsi_ok:
            return []
        funnel.passed("rsi")
        ind = self.market.indicators
        ok, confirm_text = confirmed(
            ind, root, direction, cfg.confirm_timeframe, cfg.confirm_when_cold
        )
        if not ok:
            return []
        funnel.passed("trend")
        funnel.passed("signal")
        self._last_signal[quote.symbol] = quote.ts
        spread_pct = (quote.ask - quote.bid) / mid
        agree, tf_text = timeframe_agreement(ind, root, direction, cfg.score_timeframes)
        confidence, factors = combine(
            {
                "strength": ramp(momentum, cfg.min_momentum, cfg.full_momentum),
                "liquidity": 0.5 * (1 - spread_pct / cfg.max_spread_pct)
                + 0.5 * min(1.0, volume / (10 * max(cfg.min_volume, 1))),
                "timeframes": agree,
                "flow": flow_agreement(self.market.flow, root, direction),
            },
            cfg.weights,
        )
        entry = quote.ask
        stop = entry - max(entry * cfg.stop_pct, cfg.min_stop)
        side = "call" if direction > 0 else "put"
        reason = (
            f"{side} mid +{momentum:.1%} in {cfg.lookback.total_seconds() / 60:.0f}m "
            f"(>= {cfg.min_momentum:.0%}); spread {quote.ask - quote.bid:.2f} "
            f"({spread_pct:.1%}); volume {volume} (>= {cfg.min_volume}); delta "
            f"{delta:+.2f}; strike {spec.strike:g} vs {und.mid:.2f} ({moneyness:.1%}); "
            f"{rsi_text}; {confirm_text}; trends {tf_text}; score {factors}"
        )
        return [
            Signal(
                self.name,
                SignalAction.BUY_TO_OPEN,
                quote.symbol,
                quote.ts,
                entry,
                confidence,
                reason,
                root,
                target=round(entry * (1 + cfg.target_pct), 2),
                stop=round(stop, 2),
                time_stop=cfg.time_stop,
            )
        ]

    def _delta(self, spec: OptionSymbol, mid: float, spot: float, now: datetime) -> float:
        """Black-Scholes delta at the contract's implied vol (NaN when unknowable)."""
        calendar = self.market.calendar
        if calendar is None:
            return math.nan
        t = years_to_expiry(now, spec.expiration, calendar)
        _, greeks = implied_volatility_and_greeks(
            [mid],
            [spec.right is OptionRight.CALL],
            [spot],
            [spec.strike],
            [t],
            self.config.rate,
            0.0,
        )
        return float(greeks.delta[0])

    def _rsi_ok(self, root: str, direction: int) -> tuple[bool, str]:
        """The underlying's RSI in the side's band; passes while it warms up."""
        cfg = self.config
        ind = self.market.indicators
        try:
            rsi = math.nan if ind is None else ind.value(root, cfg.rsi_timeframe, "rsi14")
        except KeyError:  # no bar of the underlying yet, or RSI not configured there
            rsi = math.nan
        low, high = cfg.call_rsi_band if direction > 0 else cfg.put_rsi_band
        if math.isnan(rsi):
            return True, f"RSI {cfg.rsi_timeframe} warming up"
        return low <= rsi <= high, f"RSI {cfg.rsi_timeframe} {rsi:.1f} in {low:g}-{high:g}"


register("scalping", Scalping, ScalpingConfig)
