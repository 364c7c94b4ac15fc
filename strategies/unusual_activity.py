"""Volume spike / unusual options activity: follow large, one-sided option flow.

On each closed 1-minute bar of an underlying, reads the flow tracker (market.flow): at least
`min_blocks` block trades in the last `window`, their directional premium (a call bought or a
put sold is bullish; a call sold or a put bought bearish; an unsigned print counts its right's
direction) at least `min_net_premium` in absolute value, the busiest block contract's session
volume at least `min_volume_ratio` x its baseline (its 30-day average daily volume when the
daily history, `MarketState.daily`, holds enough sessions and the contract traded in them,
else its open interest as published before the open), and the session put/call volume ratio
leaning the same way by at least `min_pc_deviation` from `pc_baseline`. The direction comes
from the flow, never assumed bullish: no net premium means no direction and no signal. It buys
the flow's contract when it passes the selection limits, else a nearby liquid one from the
chain.

Put/call deviation: with pc = session put volume / call volume and b = `pc_baseline`, the
lean is (b - pc) / b for bullish flow and (pc - b) / b for bearish; the rule needs
lean >= `min_pc_deviation`. Puts traded with no calls is an infinite ratio (fully bearish), no
option volume at all is no ratio (refused).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta

from pydantic import Field

from market.calendar import NEW_YORK
from market.clock import Clock
from market.data import Bar
from market.flow.classify import TradeSide
from market.flow.events import BlockTrade
from market.instruments import OptionRight, OptionSymbol
from market.state import MarketState
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.funnel import Funnel
from strategies.registry import register
from strategies.scoring import (
    ConfidenceWeights,
    clamp01,
    combine,
    confirmed,
    ramp,
    timeframe_agreement,
)
from strategies.selection import SelectionConfig, describe, select_contract


class UnusualActivityConfig(StrategyConfig):
    underlyings: tuple[str, ...] | None = Field(
        None, description="Only these (default None: every underlying with 1m bars)."
    )
    window: timedelta = Field(timedelta(minutes=30), description="Flow window (default 30 min).")
    min_blocks: int = Field(3, ge=1, description="Block trades in the window (default 3).")
    min_net_premium: float = Field(
        1_000_000.0,
        ge=0,
        description="|directional block premium| in the window, $ (default 1,000,000).",
    )
    full_net_premium: float = Field(
        5_000_000.0, gt=0, description="Premium scored full strength, $ (default 5,000,000)."
    )
    min_volume_ratio: float = Field(
        5.0,
        ge=0,
        description="Flow contract's session volume / "
        "its baseline: 30-day average volume, else open interest "
        "(default 5x).",
    )
    require_baseline: bool = Field(
        True,
        description="Refuse when neither baseline is known (default true; the shipped "
        "NWSA, FOXA and SPY days carry no open interest).",
    )
    pc_baseline: float = Field(
        0.7,
        gt=0,
        description="Normal put/call volume ratio (default "
        "0.7, the long-run equity-option average).",
    )
    min_pc_deviation: float = Field(
        0.0,
        description="Put/call must lean the flow's way by "
        "this fraction of the baseline (default 0: at least level "
        "with it; negative tolerates an opposite lean).",
    )
    confirm_timeframe: str | None = Field(
        None,
        description="Higher timeframe whose EMA 9/21 "
        "trend must agree (default None: flow leads price).",
    )
    confirm_when_cold: bool = Field(True, description="Pass while it warms up (default true).")
    score_timeframes: tuple[str, ...] = Field(
        ("5m", "15m"), description="Timeframes voting in the confidence (default 5m, 15m)."
    )
    selection: SelectionConfig = SelectionConfig(min_abs_delta=0.25, max_abs_delta=0.75, max_dte=45)
    target_pct: float = Field(0.30, gt=0, description="Take profit (default +30%).")
    stop_pct: float = Field(0.20, gt=0, description="Stop loss (default -20%).")
    time_stop: timedelta = Field(timedelta(hours=1), description="Longest hold (default 1 h).")
    cooldown: timedelta = Field(
        timedelta(minutes=30), description="Per underlying and direction (default 30 min)."
    )
    weights: ConfidenceWeights = ConfidenceWeights()


def block_direction(block: BlockTrade, right: OptionRight) -> int:
    """+1 bullish, -1 bearish: buyer-initiated calls and seller-initiated puts are bullish."""
    base = 1 if right is OptionRight.CALL else -1
    if block.side is TradeSide.SELL:
        return -base
    return base  # BUY, or UNKNOWN/MID: the right's own direction


def put_call_ratio(put_volume: int, call_volume: int) -> float:
    """Put / call contracts: inf with puts and no calls, NaN with neither."""
    if call_volume > 0:
        return put_volume / call_volume
    return math.inf if put_volume > 0 else math.nan


def pc_lean(pc: float, baseline: float, direction: int) -> float:
    """How far the put/call ratio leans `direction`'s way, as a fraction of the baseline:
    below the baseline is bullish, above bearish (NaN when pc is)."""
    if math.isinf(pc):
        return -math.inf if direction > 0 else math.inf
    return (baseline - pc) / baseline * direction


class UnusualActivity(Strategy):
    name = "unusual_activity"
    config: UnusualActivityConfig

    def __init__(self, config: UnusualActivityConfig, market: MarketState, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._last: dict[tuple[str, int], datetime] = {}
        self.funnel = Funnel(
            "bars",
            "blocks",
            "premium",
            "cooldown",
            "volume_ratio",
            "put_call",
            "trend",
            "contract",
            "signal",
        )

    def on_bar(self, bar: Bar) -> list[Signal]:
        cfg, flow = self.config, self.market.flow
        if (
            flow is None
            or bar.timeframe != "1m"
            or (cfg.underlyings is not None and bar.symbol not in cfg.underlyings)
        ):
            return []
        funnel = self.funnel
        funnel.passed("bars")
        sym, since = bar.symbol, bar.ts - cfg.window
        blocks = [
            e
            for e in flow.events
            if isinstance(e, BlockTrade) and e.underlying == sym and e.ts > since
        ]
        if len(blocks) < cfg.min_blocks:
            return []
        funnel.passed("blocks")
        net = 0.0
        by_contract: dict[str, float] = defaultdict(float)
        for b in blocks:
            net += block_direction(b, OptionSymbol.parse(b.symbol).right) * b.premium
            by_contract[b.symbol] += b.premium
        if abs(net) < cfg.min_net_premium or net == 0:
            return []  # too small, or balanced: no direction to follow
        funnel.passed("premium")
        direction = 1 if net > 0 else -1
        last = self._last.get((sym, direction))
        if last is not None and bar.ts - last < cfg.cooldown:
            return []
        funnel.passed("cooldown")
        lead = max(by_contract, key=lambda s: (by_contract[s], s))
        ratio, base_text = self._volume_ratio(lead, sym, bar.ts.astimezone(NEW_YORK).date())
        if not ratio >= cfg.min_volume_ratio and (cfg.require_baseline or not math.isnan(ratio)):
            return []
        funnel.passed("volume_ratio")
        totals = flow.underlying(sym)
        pc = put_call_ratio(totals.put_volume, totals.call_volume)
        lean = pc_lean(pc, cfg.pc_baseline, direction)
        if math.isnan(lean) or lean < cfg.min_pc_deviation:
            return []
        funnel.passed("put_call")
        ind = self.market.indicators
        ok, confirm_text = confirmed(
            ind, sym, direction, cfg.confirm_timeframe, cfg.confirm_when_cold
        )
        if not ok:
            return []
        funnel.passed("trend")
        lead_right = OptionSymbol.parse(lead).right
        follows = (lead_right is OptionRight.CALL) == (direction > 0)
        contract = select_contract(
            self.market, sym, direction > 0, cfg.selection, bar.ts, prefer=lead if follows else None
        )
        if contract is None or contract.ask is None or contract.bid is None:
            return []
        funnel.passed("contract")
        funnel.passed("signal")
        self._last[(sym, direction)] = bar.ts
        agree, tf_text = timeframe_agreement(ind, sym, direction, cfg.score_timeframes)
        spread_pct = (contract.ask - contract.bid) / ((contract.ask + contract.bid) / 2)
        confidence, factors = combine(
            {
                "strength": ramp(abs(net), cfg.min_net_premium, cfg.full_net_premium),
                "liquidity": 1 - spread_pct / cfg.selection.max_spread_pct,
                "timeframes": agree,
                "flow": clamp01(0.5 + lean),  # an infinite lean clamps to 0 or 1
            },
            cfg.weights,
        )
        entry = contract.ask
        word = "bullish" if direction > 0 else "bearish"
        reason = (
            f"{sym} {word} flow: {len(blocks)} blocks in "
            f"{cfg.window.total_seconds() / 60:.0f}m (>= {cfg.min_blocks}); directional "
            f"premium ${net:+,.0f} (|.| >= ${cfg.min_net_premium:,.0f}); lead {lead} "
            f"volume {base_text} (>= {cfg.min_volume_ratio:g}x); put/call "
            f"{pc:.2f} vs {cfg.pc_baseline:g} (lean {lean:+.0%}, >= "
            f"{cfg.min_pc_deviation:+.0%}); {confirm_text}; trends {tf_text}; "
            f"buy {describe(contract)}; score {factors}"
        )
        return [
            Signal(
                self.name,
                SignalAction.BUY_TO_OPEN,
                contract.symbol,
                bar.ts,
                entry,
                confidence,
                reason,
                sym,
                target=round(entry * (1 + cfg.target_pct), 2),
                stop=round(entry * (1 - cfg.stop_pct), 2),
                time_stop=cfg.time_stop,
            )
        ]

    def _volume_ratio(self, symbol: str, underlying: str, today: date) -> tuple[float, str]:
        """The contract's session volume over its baseline, and '12.0x open interest 200'."""
        volume = self.market.volume(symbol)
        daily = self.market.daily
        if daily is not None:
            average = float(daily.contract_volume_avg(underlying, [symbol], today)[0])
            if average > 0:  # NaN: too few sessions stored; 0: never traded in them
                ratio = volume / average
                return ratio, f"{ratio:.1f}x 30-day average {average:,.0f}"
        oi = self.market.open_interest.get(symbol)
        if oi is None or oi <= 0:
            return math.nan, f"{volume:,} vs open interest (unknown)"
        return volume / oi, f"{volume / oi:.1f}x open interest {oi}"


register("unusual_activity", UnusualActivity, UnusualActivityConfig)
