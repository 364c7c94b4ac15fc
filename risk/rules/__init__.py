"""Risk rules, one concern per file. `build_rules` assembles them from the config in their
checking order: cheap refusals first (state, loss, time, market quality, account), then the
sizing limits that may shrink an order, then the throttle, which counts only what survives."""

from __future__ import annotations

from datetime import timedelta

from risk.config import RiskConfig
from risk.manager import RiskRule
from risk.rules.account import BuyingPower, LosingStreakCooldown, PatternDayTrader
from risk.rules.connectivity import ConnectivityGate
from risk.rules.flow import DuplicateOrderGuard, OrderRateThrottle
from risk.rules.greeks import GreeksLimit
from risk.rules.limits import (
    DailyLossGuard,
    MaxConcurrentTrades,
    MaxContractsPerOrder,
    MaxPositionSize,
    OrderSanity,
    TradingStateGate,
)
from risk.rules.liquidity import MaxSpread, MinOpenInterest, MinVolume, StaleQuote
from risk.rules.options import (
    ContractsPerUnderlying,
    NoShortOptions,
    PremiumPerDay,
    PremiumPerTrade,
    SameExpiryExposure,
)
from risk.rules.session import SessionWindow, ZeroDteCutoff


def _candidates(c: RiskConfig) -> list[RiskRule | None]:
    opt, liq, acct, ses = c.options, c.liquidity, c.account, c.session
    minutes = timedelta(minutes=1)
    return [
        OrderSanity(),
        TradingStateGate(),
        DailyLossGuard(c.max_daily_loss_pct),
        ConnectivityGate(),
        SessionWindow(ses.no_entries_after_open_minutes * minutes,
                      ses.no_entries_before_close_minutes * minutes, ses.require_session),
        None if opt.zero_dte_cutoff_minutes is None else ZeroDteCutoff(
            opt.zero_dte_cutoff_minutes * minutes),
        None if liq.max_quote_age_seconds is None else StaleQuote(liq.max_quote_age_seconds),
        None if liq.max_spread is None and liq.max_spread_pct is None else MaxSpread(
            liq.max_spread, liq.max_spread_pct),
        MinVolume(liq.min_volume) if liq.min_volume else None,
        MinOpenInterest(liq.min_open_interest, liq.reject_unknown_open_interest)
        if liq.min_open_interest else None,
        None if opt.allow_short_options else NoShortOptions(),
        None if acct.pdt_equity_threshold is None else PatternDayTrader(
            acct.pdt_equity_threshold, acct.pdt_max_day_trades, acct.pdt_window_sessions),
        None if acct.losing_streak is None else LosingStreakCooldown(
            acct.losing_streak, acct.losing_streak_cooldown_minutes * minutes),
        None if acct.duplicate_window_seconds is None else DuplicateOrderGuard(
            timedelta(seconds=acct.duplicate_window_seconds)),
        MaxConcurrentTrades(c.max_concurrent_trades),
        MaxContractsPerOrder(c.max_contracts_per_order),
        MaxPositionSize(c.max_position_pct),
        None if opt.max_premium_per_trade is None else PremiumPerTrade(opt.max_premium_per_trade),
        None if opt.max_premium_per_day_pct is None else PremiumPerDay(
            opt.max_premium_per_day_pct),
        None if opt.max_contracts_per_underlying is None else ContractsPerUnderlying(
            opt.max_contracts_per_underlying),
        None if opt.max_same_expiry_pct is None else SameExpiryExposure(opt.max_same_expiry_pct),
        BuyingPower() if acct.check_buying_power else None,
        GreeksLimit(c.greeks) if c.greeks.enabled else None,
        None if acct.max_orders_per_second is None and acct.max_orders_per_minute is None
        else OrderRateThrottle(acct.max_orders_per_second, acct.max_orders_per_minute),
    ]


def build_rules(config: RiskConfig) -> list[RiskRule]:
    """The rule list for `config`: every rule whose limit is set and that is not disabled."""
    disabled = set(config.disabled_rules)
    return [rule for rule in _candidates(config)
            if rule is not None and rule.name not in disabled]
