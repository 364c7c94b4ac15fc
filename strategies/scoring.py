"""Confidence scoring and multi-timeframe confirmation, shared by the strategies.

Confidence is a weighted mean of factors in [0, 1]: signal strength (how far past its
threshold the trigger is), liquidity (spread and volume), multi-timeframe agreement, flow
agreement and IV-rank regime. A factor that cannot be measured (NaN: indicator warming up, no
IV history) is left out and the remaining weights are renormalised, so a missing input
neither helps nor hurts. The reason string lists every factor used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from market.flow.tracker import FlowTracker
from market.indicators.registry import IndicatorRegistry


class ConfidenceWeights(BaseModel):
    """Weights of the confidence factors (they need not sum to 1: the mean is normalised)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strength: float = Field(0.35, ge=0, description="How far the trigger is past its "
                            "threshold (default 0.35).")
    liquidity: float = Field(0.20, ge=0, description="Tight spread, traded volume "
                             "(default 0.20).")
    timeframes: float = Field(0.20, ge=0, description="Share of the confirmation timeframes "
                              "whose trend agrees (default 0.20).")
    flow: float = Field(0.15, ge=0, description="Options premium flow agrees with the "
                        "direction (default 0.15).")
    iv: float = Field(0.10, ge=0, description="Low IV rank favours buying premium "
                      "(default 0.10).")


def clamp01(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def ramp(value: float, threshold: float, full: float) -> float:
    """0 at `threshold`, 1 at `full` (either order), clamped: strength past a threshold."""
    if math.isnan(value) or full == threshold:
        return math.nan
    return clamp01((value - threshold) / (full - threshold))


def combine(factors: Mapping[str, float], weights: ConfidenceWeights) -> tuple[float, str]:
    """Weighted mean of the measurable factors, rounded to 3 places, and their summary."""
    w = weights.model_dump()
    used = {k: v for k, v in factors.items() if not math.isnan(v) and w.get(k, 0.0) > 0}
    total = sum(w[k] for k in used)
    score = sum(w[k] * v for k, v in used.items()) / total if total else 0.0
    summary = " ".join(f"{k}={v:.2f}" for k, v in used.items())
    return round(clamp01(score), 3), summary


def trend(indicators: IndicatorRegistry | None, symbol: str, timeframe: str) -> float:
    """+1 when EMA 9 is above EMA 21 on the last closed `timeframe` bar, -1 below, NaN while
    either is warming up (or the registry does not keep them)."""
    if indicators is None:
        return math.nan
    try:
        fast = indicators.value(symbol, timeframe, "ema9")
        slow = indicators.value(symbol, timeframe, "ema21")
    except KeyError:
        return math.nan
    if math.isnan(fast) or math.isnan(slow):
        return math.nan
    return 1.0 if fast > slow else -1.0 if fast < slow else 0.0


def timeframe_agreement(indicators: IndicatorRegistry | None, symbol: str, direction: int,
                        timeframes: Iterable[str]) -> tuple[float, str]:
    """Share of the warm timeframes whose trend agrees with `direction` (NaN if none warm)."""
    votes: list[float] = []
    parts: list[str] = []
    for tf in timeframes:
        t = trend(indicators, symbol, tf)
        mark = "warming" if math.isnan(t) else "+" if t > 0 else "-" if t < 0 else "="
        parts.append(f"{tf} {mark}")
        if not math.isnan(t):
            votes.append(1.0 if t * direction > 0 else 0.0)
    share = sum(votes) / len(votes) if votes else math.nan
    return share, ", ".join(parts)


def confirmed(indicators: IndicatorRegistry | None, symbol: str, direction: int,
              timeframe: str | None, when_cold: bool) -> tuple[bool, str]:
    """The multi-timeframe rule: the higher timeframe's trend must agree with `direction`.
    While it warms up the rule passes only if `when_cold` says so."""
    if timeframe is None:
        return True, "no higher-timeframe rule"
    t = trend(indicators, symbol, timeframe)
    if math.isnan(t):
        return when_cold, f"{timeframe} trend warming up ({'allowed' if when_cold else 'blocked'})"
    ok = t * direction > 0
    return ok, f"{timeframe} EMA9{'>' if t > 0 else '<' if t < 0 else '='}EMA21"


def flow_agreement(flow: FlowTracker | None, underlying: str, direction: int) -> float:
    """How much the session's option flow leans `direction`, 0..1 (0.5 = neutral).

    Uses the signed (bid/ask-classified) bullish premium when prints could be signed, else
    the call share of premium (calls bullish, puts bearish). NaN with no option prints."""
    if flow is None:
        return math.nan
    f = flow.underlying(underlying)
    total = f.call_premium + f.put_premium
    if total <= 0:
        return math.nan
    signed = f.bullish_premium
    lean = signed / total if signed else (f.call_premium - f.put_premium) / total
    return clamp01(0.5 + 0.5 * lean * direction)


def iv_factor(iv_rank: float | None) -> float:
    """Buying premium is cheaper at a low IV rank (0-100): 1 - rank/100, NaN when unknown."""
    if iv_rank is None or math.isnan(iv_rank):
        return math.nan
    return clamp01(1.0 - iv_rank / 100.0)
