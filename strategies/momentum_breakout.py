"""Momentum breakout: the underlying moves hard on volume through a level; buy its direction.

On each closed 1-minute bar of an underlying: a move of at least `min_move` over `window`, the
stock's volume over the window at least `min_stock_volume_ratio` x its session average, the
option volume on the move's side (calls up, puts down) at least `min_option_volume_ratio` x its
average per window (below), a MACD crossover in the move's direction within the window, and a
close through the high (low) of the `level_lookback` bars before the window. Then a contract is
picked from the chain (strategies.selection). Calls on bullish breaks, puts on bearish.

The specification compares option volume with its 30-day average. When the daily history
(`MarketState.daily`, decision 0340) holds enough sessions, the baseline is that side's mean
daily volume spread evenly over a regular session's 390 minutes, times the window; otherwise
(a replay without history, a new deployment) it is the session so far (decision 0262), and the
reason says which baseline was used.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import date, datetime, timedelta

from pydantic import Field

from market.calendar import NEW_YORK
from market.clock import Clock
from market.data import Bar
from market.state import MarketState
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.registry import register
from strategies.scoring import (
    ConfidenceWeights,
    combine,
    confirmed,
    flow_agreement,
    iv_factor,
    ramp,
    timeframe_agreement,
)
from strategies.selection import SelectionConfig, describe, select_contract

REGULAR_SESSION_MINUTES = 390  # a daily average is spread over a full session's minutes


class MomentumBreakoutConfig(StrategyConfig):
    underlyings: tuple[str, ...] | None = Field(None, description="Only these (default None: "
                                                "every underlying with 1m bars).")
    window: int = Field(15, ge=2, description="Move window, 1m bars (default 15).")
    min_move: float = Field(0.03, gt=0, description="|close / close window ago - 1| (default "
                            "3%, the spec's).")
    full_move: float = Field(0.06, gt=0, description="Move scored full strength (default 6%).")
    min_stock_volume_ratio: float = Field(2.0, ge=0, description="Window volume / session "
                                          "average per window (default 2x).")
    min_option_volume_ratio: float = Field(3.0, ge=0, description="The move side's option "
                                           "volume in the window / its 30-day average per "
                                           "window, or the session's while fewer sessions are "
                                           "stored (default 3x).")
    min_session_bars: int = Field(30, ge=1, description="Bars seen before the averages count "
                                  "(default 30).")
    macd_timeframe: str = Field("1m", description="MACD crossover timeframe (default 1m).")
    level_lookback: int = Field(60, ge=1, description="Bars before the window whose high/low "
                                "is the level to break (default 60).")
    confirm_timeframe: str | None = Field("15m", description="Higher timeframe whose EMA 9/21 "
                                          "trend must agree (default 15m; None: off).")
    confirm_when_cold: bool = Field(True, description="Pass while it warms up (default true).")
    score_timeframes: tuple[str, ...] = Field(("5m", "15m"), description="Timeframes voting in "
                                              "the confidence (default 5m, 15m).")
    selection: SelectionConfig = SelectionConfig()
    target_pct: float = Field(0.50, gt=0, description="Take profit (default +50%).")
    stop_pct: float = Field(0.20, gt=0, description="Stop loss (default -20%).")
    time_stop: timedelta = Field(timedelta(hours=2), description="Longest hold (default 2 h; "
                                 "the spec's 15 min minimum is the risk engine's business).")
    cooldown: timedelta = Field(timedelta(minutes=30), description="Per underlying and "
                                "direction (default 30 min).")
    weights: ConfidenceWeights = ConfidenceWeights()


class MomentumBreakout(Strategy):
    name = "momentum_breakout"
    config: MomentumBreakoutConfig

    def __init__(self, config: MomentumBreakoutConfig, market: MarketState,
                 clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._hist: dict[str, deque[float]] = {}
        self._option_cum: dict[str, deque[tuple[int, int]]] = {}  # (calls, puts) per bar
        self._macd: dict[str, deque[float]] = {}  # MACD histogram per bar, NaN while warming
        self._last: dict[tuple[str, int], datetime] = {}
        self._bars_seen: dict[str, int] = {}
        self._volume_sum: dict[str, float] = {}

    def on_bar(self, bar: Bar) -> list[Signal]:
        cfg = self.config
        if bar.timeframe != "1m" or (cfg.underlyings is not None
                                     and bar.symbol not in cfg.underlyings):
            return []
        sym = bar.symbol
        hist = self._hist.setdefault(sym, deque(maxlen=cfg.window + cfg.level_lookback + 1))
        hist.append(bar.close)
        self._bars_seen[sym] = seen = self._bars_seen.get(sym, 0) + 1
        self._volume_sum[sym] = self._volume_sum.get(sym, 0.0) + bar.volume
        flow = self.market.flow.underlying(sym) if self.market.flow is not None else None
        cum = self._option_cum.setdefault(sym, deque(maxlen=cfg.window + 1))
        cum.append((flow.call_volume, flow.put_volume) if flow else (0, 0))
        self._macd.setdefault(sym, deque(maxlen=cfg.window + 1)).append(self._macd_hist(sym))
        if seen < max(cfg.min_session_bars, cfg.window + 1) or len(hist) <= cfg.window:
            return []
        move = bar.close / hist[-1 - cfg.window] - 1.0
        if abs(move) < cfg.min_move:
            return []
        direction = 1 if move > 0 else -1
        return self._check(bar, move, direction, seen)

    def _check(self, bar: Bar, move: float, direction: int, seen: int) -> list[Signal]:
        cfg, sym = self.config, bar.symbol
        last = self._last.get((sym, direction))
        if last is not None and bar.ts - last < cfg.cooldown:
            return []
        bars = list(self.market.bars.get(sym, ()))[-cfg.window:]
        window_volume = sum(b.volume for b in bars)
        avg_window = self._volume_sum[sym] / seen * cfg.window
        stock_ratio = window_volume / avg_window if avg_window > 0 else math.nan
        if not stock_ratio >= cfg.min_stock_volume_ratio:
            return []
        option_ratio, baseline = self._option_ratio(sym, direction, seen,
                                                    bar.ts.astimezone(NEW_YORK).date())
        if not option_ratio >= cfg.min_option_volume_ratio:
            return []
        crossed = self._macd_crossed(sym, direction)
        if not crossed:
            return []
        older = list(self.market.bars.get(sym, ()))[-cfg.window - cfg.level_lookback:-cfg.window]
        if not older:
            return []
        level = max(b.high for b in older) if direction > 0 else min(b.low for b in older)
        if (bar.close - level) * direction <= 0:
            return []
        ind = self.market.indicators
        ok, confirm_text = confirmed(ind, sym, direction, cfg.confirm_timeframe,
                                     cfg.confirm_when_cold)
        if not ok:
            return []
        contract = select_contract(self.market, sym, direction > 0, cfg.selection, bar.ts)
        if contract is None or contract.ask is None or contract.bid is None:
            return []
        self._last[(sym, direction)] = bar.ts
        agree, tf_text = timeframe_agreement(ind, sym, direction, cfg.score_timeframes)
        spread_pct = (contract.ask - contract.bid) / ((contract.ask + contract.bid) / 2)
        confidence, factors = combine({
            "strength": ramp(abs(move), cfg.min_move, cfg.full_move),
            "liquidity": 1 - spread_pct / cfg.selection.max_spread_pct,
            "timeframes": agree,
            "flow": flow_agreement(self.market.flow, sym, direction),
            "iv": iv_factor(contract.iv_rank),
        }, cfg.weights)
        entry = contract.ask
        word = "up" if direction > 0 else "down"
        level_name = "resistance" if direction > 0 else "support"
        reason = (f"{sym} {move:+.2%} in {cfg.window}m ({word}, >= {cfg.min_move:.1%}); stock "
                  f"volume {stock_ratio:.1f}x avg (>= {cfg.min_stock_volume_ratio:g}x); "
                  f"{'call' if direction > 0 else 'put'} volume {option_ratio:.1f}x {baseline} "
                  f"(>= {cfg.min_option_volume_ratio:g}x); MACD {cfg.macd_timeframe} crossed "
                  f"{word}; close {bar.close:.2f} through {level_name} {level:.2f}; "
                  f"{confirm_text}; trends {tf_text}; buy {describe(contract)}; "
                  f"score {factors}")
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, contract.symbol, bar.ts, entry,
                       confidence, reason, sym, target=round(entry * (1 + cfg.target_pct), 2),
                       stop=round(entry * (1 - cfg.stop_pct), 2), time_stop=cfg.time_stop)]

    def _option_ratio(self, sym: str, direction: int, seen: int,
                      today: date) -> tuple[float, str]:
        """The move side's option volume in the window over its baseline, and the baseline's
        name for the reason: the stored 30-day average when there is one, else the session."""
        cum = self._option_cum[sym]
        side = 0 if direction > 0 else 1
        now, then = cum[-1][side], cum[0][side]
        window = self.config.window
        daily = self.market.daily
        if daily is None:
            fallback = "session avg (no daily history)"
        else:
            average, sessions = daily.volume_avg(sym, today, "calls" if side == 0 else "puts")
            if math.isfinite(average):
                expected = average / REGULAR_SESSION_MINUTES * window
                ratio = (now - then) / expected if expected > 0 else math.nan
                plural = "s" if sessions != 1 else ""
                return ratio, f"30-day avg ({sessions} session{plural} stored)"
            fallback = (f"session avg (no 30-day avg: {sessions} of "
                        f"{daily.config.min_volume_sessions} sessions stored)")
        average = now / seen * window
        return ((now - then) / average if average > 0 else math.nan), fallback

    def _macd_hist(self, sym: str) -> float:
        ind = self.market.indicators
        try:
            return math.nan if ind is None else ind.value(sym, self.config.macd_timeframe,
                                                          "macd", line="hist")
        except KeyError:
            return math.nan

    def _macd_crossed(self, sym: str, direction: int) -> bool:
        """MACD histogram now on the move's side and on the other side (or zero) at some
        point in the window: the line crossed its signal during the move."""
        hist = [h for h in self._macd.get(sym, ()) if not math.isnan(h)]
        return bool(hist) and hist[-1] * direction > 0 and any(h * direction <= 0 for h in hist)


register("momentum_breakout", MomentumBreakout, MomentumBreakoutConfig)
