"""Risk limits. Every number the risk manager enforces is a field here, with its default.

The spec's core limits are top-level fields (`[risk] max_position_pct = 0.05`); each further rule
family has its own table (`[risk.liquidity] max_spread_pct = 0.08`). A limit set to null/None is
off. `disabled_rules` switches off whole rules by name. Everything is validated when the settings
load, and an error names the field (`risk.greeks.max_abs_delta_dollars: ...`).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptionsLimits(_Section):
    """Options-aware exposure limits."""

    max_premium_per_trade: float | None = Field(
        None, gt=0, description="Largest premium outlay of one opening order, dollars "
        "(on top of max_position_pct); None = off.")
    max_premium_per_day_pct: float | None = Field(
        0.5, gt=0, description="Premium paid to open positions today, including working "
        "entries, as a fraction of start-of-day equity; None = off.")
    max_contracts_per_underlying: int | None = Field(
        100, ge=1, description="Contracts held plus working entries across all contracts of one "
        "underlying; None = off.")
    max_same_expiry_pct: float | None = Field(
        0.10, gt=0, le=1, description="Premium cost of positions plus working entries that "
        "expire on one day, as a fraction of equity; None = off.")
    zero_dte_cutoff_minutes: int | None = Field(
        60, ge=0, description="No new entries in contracts expiring today within this many "
        "minutes of the session close (early closes included); None = off.")
    allow_short_options: bool = Field(
        False, description="Allow selling options to open. Off: margin on short options is "
        "not modelled, so the gate refuses it.")


class GreeksLimits(_Section):
    """Portfolio Greeks after the order, in dollars (per-contract Greeks from the context).

    delta $ = delta x 100 x qty x underlying price (share-equivalent exposure);
    gamma $ = gamma x 100 x qty x price^2 / 100 (change of delta $ for a 1% move);
    vega $ = vega x 100 x qty (per volatility point); theta $ = theta x 100 x qty (per day).
    """

    max_abs_delta_dollars: float | None = Field(
        None, gt=0, description="|net delta $|; None = off.")
    max_abs_gamma_dollars: float | None = Field(
        None, gt=0, description="|net gamma $|; None = off.")
    max_abs_vega_dollars: float | None = Field(None, gt=0, description="|net vega $|; None = off.")
    max_theta_decay_dollars: float | None = Field(
        None, gt=0, description="Largest net daily theta paid (negative theta $); None = off.")
    on_unknown: Literal["reject", "ignore"] = Field(
        "reject", description="When a limit is on and a contract's Greeks are unknown: reject "
        "the entry (safe) or leave that contract out of the sums.")
    rate: float = Field(0.0, ge=-0.05, le=0.5, description="Risk-free rate (continuous) for "
                        "the implied volatility and Greeks computed from quotes.")
    dividend_yield: float = Field(0.0, ge=0, le=0.5, description="Continuous dividend yield "
                                  "of the underlyings, for the same computation.")
    max_age_seconds: float = Field(
        30.0, gt=0, description="A contract's Greeks are recomputed from its quote at most "
        "this often.")

    @property
    def enabled(self) -> bool:
        return any(v is not None for v in (self.max_abs_delta_dollars, self.max_abs_gamma_dollars,
                                            self.max_abs_vega_dollars,
                                            self.max_theta_decay_dollars))


class SessionLimits(_Section):
    """When entries may be opened within a session."""

    no_entries_after_open_minutes: int = Field(
        5, ge=0, description="No new entries this many minutes after the open; 0 = off.")
    no_entries_before_close_minutes: int = Field(
        15, ge=0, description="No new entries this many minutes before the close; 0 = off.")
    require_session: bool = Field(
        True, description="Refuse entries outside a regular session (weekends, holidays, "
        "pre/post market).")


class LiquidityLimits(_Section):
    """Market-quality checks on the contract being entered."""

    max_spread: float | None = Field(
        0.50, gt=0, description="Widest bid-ask spread, dollars; None = off.")
    max_spread_pct: float | None = Field(
        0.10, gt=0, description="Widest bid-ask spread as a fraction of mid; None = off.")
    min_volume: int = Field(10, ge=0, description="Contracts traded this session; 0 = off.")
    min_open_interest: int = Field(
        100, ge=0, description="Open interest of the contract; 0 = off.")
    reject_unknown_open_interest: bool = Field(
        False, description="Reject when open interest is unknown (feeds without it). Off: "
        "the check applies only once a figure is known.")
    max_quote_age_seconds: float | None = Field(
        30.0, gt=0, description="A quote older than this is stale: no entries on it; None = off.")


class AccountLimits(_Section):
    """Account-level checks: money, regulation and the pace of trading."""

    check_buying_power: bool = Field(
        True, description="Refuse entries whose cost, with working entries, exceeds buying power.")
    pdt_equity_threshold: float | None = Field(
        25_000.0, gt=0, description="Pattern-day-trader rule applies below this equity; "
        "None = off (e.g. a cash account).")
    pdt_max_day_trades: int = Field(
        3, ge=0, description="Day trades allowed in the window below the threshold: once used, "
        "new entries stop (exits never do).")
    pdt_window_sessions: int = Field(5, ge=1, description="Window of the PDT count, sessions.")
    max_orders_per_second: int | None = Field(
        5, ge=1, description="Entries refused once this many orders went out in the last "
        "second; None = off.")
    max_orders_per_minute: int | None = Field(
        60, ge=1, description="Entries refused once this many orders went out in the last "
        "minute; None = off.")
    duplicate_window_seconds: float | None = Field(
        10.0, gt=0, description="Refuse an entry for the same contract and side as one sent "
        "within this many seconds; None = off.")
    losing_streak: int | None = Field(
        3, ge=1, description="Consecutive losing trades that start a cooldown; None = off.")
    losing_streak_cooldown_minutes: float = Field(
        30.0, gt=0, description="No new entries for this long after the streak's last loss.")


RULE_NAMES = (
    "order_sanity", "trading_state", "daily_loss", "max_contracts_per_order",
    "max_concurrent_trades", "max_position_size", "premium_per_trade",
    "premium_per_day", "contracts_per_underlying", "same_expiry_exposure", "no_short_options",
    "greeks", "session_window", "zero_dte_cutoff", "stale_quote", "spread", "volume",
    "open_interest", "buying_power", "pattern_day_trader", "losing_streak", "duplicate_order",
    "order_rate", "connectivity",
)
#: Rules that protect the books themselves and cannot be disabled.
ESSENTIAL_RULES = frozenset({"order_sanity", "trading_state", "daily_loss"})


class RiskConfig(BaseModel):
    """Pre-trade limits (fractions are of account equity unless said otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_pct: float = Field(
        0.05, gt=0, le=1, description="Largest premium outlay of one trade, fraction of equity.")
    risk_per_trade_pct: float = Field(
        0.02, gt=0, le=1,
        description="Equity at risk per trade (entry to stop); sizing derives quantity from it.")
    max_concurrent_trades: int = Field(
        3, ge=1, description="Open positions plus working entries at any time.")
    max_daily_loss_pct: float = Field(
        0.03, gt=0, le=1,
        description="Daily-loss breaker: equity drawdown from the session's opening equity that "
        "latches REDUCING (exits only) until the next session.")
    halt_daily_loss_pct: float | None = Field(
        None, gt=0, le=1,
        description="Second breaker threshold that HALTS and flattens; unset to disable.")
    max_contracts_per_order: int = Field(50, ge=1, description="Largest quantity of one order.")
    atr_stop_multiple: float = Field(
        2.0, gt=0, description="Stop distance in ATRs when a signal brings no stop of its own.")
    atr_period: int = Field(14, ge=1, description="Bars in the ATR used for stops.")
    options: OptionsLimits = OptionsLimits()
    greeks: GreeksLimits = GreeksLimits()
    session: SessionLimits = SessionLimits()
    liquidity: LiquidityLimits = LiquidityLimits()
    account: AccountLimits = AccountLimits()
    disabled_rules: list[str] = Field(
        default_factory=list, description=f"Rules to switch off by name, from: "
        f"{', '.join(RULE_NAMES)}. {', '.join(sorted(ESSENTIAL_RULES))} cannot be disabled.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.halt_daily_loss_pct is not None and (
                self.halt_daily_loss_pct <= self.max_daily_loss_pct):
            raise ValueError(
                f"halt_daily_loss_pct ({self.halt_daily_loss_pct}) must be above "
                f"max_daily_loss_pct ({self.max_daily_loss_pct}): HALT is the second threshold")
        unknown = sorted(set(self.disabled_rules) - set(RULE_NAMES))
        if unknown:
            raise ValueError(f"disabled_rules: unknown rule(s) {', '.join(unknown)}; known: "
                             f"{', '.join(RULE_NAMES)}")
        essential = sorted(set(self.disabled_rules) & ESSENTIAL_RULES)
        if essential:
            raise ValueError(f"disabled_rules: {', '.join(essential)} cannot be disabled")
        return self
