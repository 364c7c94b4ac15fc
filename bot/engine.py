"""The engine: the synchronous hot path from a market event to orders.

event → market state → venue (paper) → brackets → strategies → sizing → risk → order manager.
It never awaits: the daemon calls it from the event loop, the backtester calls it in a plain
loop, with the same objects apart from the clock, the feed and the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any

from bot.brackets import Bracket, BracketBook
from bot.combo_brackets import SpreadBracketBook
from bot.combo_signals import act_on_combo, flatten_after_cancel, flatten_combos
from bot.config import OrdersConfig
from bot.events import EventBus, Notice
from bot.execution import Chain, ExecutionConfig, ExecutionManager, Kind
from bot.markouts import MarkoutTracker
from bot.metrics import Metrics
from bot.order_manager import OrderManager
from bot.portfolio import Portfolio, multiplier
from bot.reconcile import resume_brackets
from bot.spread_exits import rearm_spread, settle_spreads, spread_time_stops, watch_spreads
from bot.strategy_book import StrategyBook
from bot.trading_control import TradingControl
from brokers.base import MarketAware
from brokers.orders import Fill, Intent, Order, OrderStatus, OrderType, Side
from market.calendar import NEW_YORK, ExchangeCalendar, Session
from market.clock import Clock
from market.data import Bar, Quote, Trade, quote_problem
from market.instruments import OptionSymbol, is_option_symbol
from market.state import MarketState
from risk.breaker import DailyLossBreaker
from risk.config import RiskConfig
from risk.rules.strategy_budget import RULE_NAME as STRATEGY_RULE
from risk.rules.strategy_budget import StrategyBudget, StrategySafeguards
from risk.sizing import contracts_for_risk
from risk.state import TradingState
from risk.stops import stop_for_entry
from strategies.base import FillNotice, Signal, SignalAction
from strategies.guard import GuardedStrategy

log = logging.getLogger(__name__)

Event = Quote | Trade | Bar
ONE_SIDED = frozenset({"no_ask"})
_INF = float("inf")


@dataclass
class SessionPlan:
    session: Session
    flatten_at: datetime
    expiring_at: datetime | None = None  # close what expires today (None: off)
    flattened: bool = False
    closed: bool = False


@dataclass
class DaySummary:
    signals: int = 0
    orders: int = 0
    denied: int = 0
    fills: int = 0
    dropped_quotes: int = 0


@dataclass
class Engine:
    clock: Clock
    calendar: ExchangeCalendar
    market: MarketState
    strategies: list[GuardedStrategy]
    orders: OrderManager
    portfolio: Portfolio
    control: TradingControl
    risk_config: RiskConfig
    orders_config: OrdersConfig
    bus: EventBus
    metrics: Metrics
    execution: ExecutionManager | None = None
    venues: list[MarketAware] = field(default_factory=list)
    brackets: BracketBook = field(default_factory=BracketBook)
    spread_brackets: SpreadBracketBook = field(default_factory=SpreadBracketBook)
    summary: DaySummary = field(default_factory=DaySummary)
    _plan: SessionPlan | None = None
    _plan_until: datetime | None = None
    _last_checked: datetime | None = None
    _drop_counters: dict[str, Any] = field(default_factory=dict)
    _warned: set[tuple[str, str]] = field(default_factory=set)
    _flatten_after_cancel: dict[str, str] = field(default_factory=dict)  # symbol: reason
    #: Spreads (by entry combo id) a flatten closes once their resting exit's cancel is
    #: confirmed (bot/combo_signals.py).
    spreads_to_flatten: dict[str, str] = field(default_factory=dict)
    last_event_at: datetime | None = None
    #: Called with each session at its close, after the day's books are written (the daily
    #: IV and volume history records itself here); a failing listener is logged, not raised.
    session_listeners: list[Callable[[Session], object]] = field(default_factory=list)
    #: Called with every signal a strategy emits, before it is sized and risk-checked
    #: (calibration and tests collect them here instead of wrapping strategy hooks).
    signal_listeners: list[Callable[[Signal], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.breaker = DailyLossBreaker(self.risk_config)
        self.strategy_book = StrategyBook(self.orders, self.portfolio, self.orders.store,
                                          self.bus, self.clock, budgets={
            g.name: StrategyBudget(getattr(g.strategy.config, "max_capital_pct", None),
                                   getattr(g.strategy.config, "max_entries_per_day", None),
                                   getattr(g.strategy.config, "max_open_positions", None))
            for g in self.strategies})
        self.strategy_book.load()
        self.orders.risk.add_rule(StrategySafeguards(self.strategy_book))
        self.markouts = MarkoutTracker(self.orders.store)
        self.orders.fill_listeners.append(self._on_fill)
        if self.execution is None:
            self.execution = ExecutionManager(self.orders, self.market, self.clock,
                                              ExecutionConfig(), self.bus)
        self.execution.done_listeners.append(self._on_chain_done)
        self.orders.status_listeners.append(self._on_order_status)
        self.orders.combos.listeners.append(partial(flatten_after_cancel, self))
        self.execution.combo_done_listeners.append(partial(rearm_spread, self))

    def resume(self) -> None:
        """After a restart, once the books are restored and reconciled: watch the stored
        brackets again, and hold every order still working to its execution deadline (the
        process that stepped it is gone; decision 0360)."""
        resume_brackets(self.orders.store, self.orders, self.portfolio, self.brackets,
                        self.spread_brackets)
        if self.execution is not None:
            single = [o for o in self.orders.open_orders()
                      if self.orders.combos.combo_id(o.client_order_id) is None]
            self.execution.adopt(single, self.orders.orders)
            self.execution.adopt_combos(self.orders.combos.combos)

    # -- events ---------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        ts = self.last_event_at = event.ts
        if ts is not self._last_checked:  # events of one release share one stamp object
            self._check_session(ts)
        kind = type(event)
        if kind is Quote:
            self.on_quote(event)  # type: ignore[arg-type]
        elif kind is Bar:
            self.on_bar(event)  # type: ignore[arg-type]
        elif kind is Trade:
            self.on_trade(event)  # type: ignore[arg-type]
        if self.execution is not None and self.execution.chains:
            self.execution.on_time(ts)

    def on_quote(self, quote: Quote) -> None:
        # quote_problem's own fast path, inline: a sound quote (nearly all) costs no call.
        bid, ask = quote.bid, quote.ask
        if not (0.0 <= bid <= ask < _INF and ask > 0.0 and quote.bid_size >= 0
                and quote.ask_size >= 0):
            problem = quote_problem(quote)
            if problem is not None:
                self._drop(quote, problem)
                return
        self.market.on_quote(quote)
        for venue in self.venues:
            venue.on_quote(quote)
        if self.markouts.pending:
            self.markouts.on_quote(quote)
        if self.execution is not None and self.execution.chains:
            self.execution.on_quote(quote.symbol, quote.ts)
        if self.portfolio.quantity(quote.symbol) != 0:
            self._watch_position(quote)
        for guarded in self.strategies:
            signals = guarded.call(guarded.strategy.on_quote, quote)
            if signals:
                self._handle_signals(signals)

    def on_trade(self, trade: Trade) -> None:
        self.market.on_trade(trade)
        for venue in self.venues:
            on_trade = getattr(venue, "on_trade", None)
            if on_trade is not None:
                on_trade(trade)
        for guarded in self.strategies:
            signals = guarded.call(guarded.strategy.on_trade, trade)
            if signals:
                self._handle_signals(signals)

    def on_bar(self, bar: Bar) -> None:
        self.market.on_bar(bar)
        for guarded in self.strategies:
            signals = guarded.call(guarded.strategy.on_bar, bar)
            if signals:
                self._handle_signals(signals)

    def on_timer(self, now: datetime) -> None:
        """Periodic housekeeping when no market event arrives (live): time stops, session."""
        self._check_session(now)
        if self.execution is not None and self.execution.chains:
            self.execution.on_time(now)
        for bracket in self.brackets.due_time_stops(now):
            self._exit(bracket.symbol, f"time stop at {bracket.time_stop_at:%H:%M:%S}",
                       bracket, "stop")
        if self.spread_brackets:
            spread_time_stops(self, now)

    def _drop(self, quote: Quote, problem: str) -> None:
        counter = self._drop_counters.get(problem)
        if counter is None:
            counter = self._drop_counters[problem] = self.metrics.quotes_dropped.labels(problem)
        counter.inc()
        self.summary.dropped_quotes += 1
        # A one-sided market is normal for deep contracts: one line in all. Corrupt values
        # (NaN, negative, crossed) are worth a line per symbol.
        key = ("*" if problem in ONE_SIDED else quote.symbol, problem)
        if key not in self._warned:
            self._warned.add(key)
            log.warning("dropped %s quote for %s (bid %s ask %s); further ones are counted in "
                        "tradefly_quotes_dropped, not logged", problem,
                        "all symbols" if key[0] == "*" else quote.symbol, quote.bid, quote.ask)

    # -- signals → orders -----------------------------------------------------------------
    def _handle_signals(self, signals: list[Signal]) -> None:
        for signal in signals:
            for listener in self.signal_listeners:
                listener(signal)
            self.summary.signals += 1
            self.metrics.signals.labels(signal.strategy).inc()
            cid = self._act_on(signal)
            self.orders.store.add_signal(
                signal.ts, signal.strategy, signal.symbol, signal.action.value,
                signal.confidence, signal.entry_limit, signal.target, signal.stop,
                signal.reason, cid)
            self.bus.publish(Notice("signal", signal.ts,
                                    f"{signal.strategy}: {signal.action.value} {signal.symbol} "
                                    f"@ {signal.entry_limit:.2f} (conf {signal.confidence:.2f})"
                                    f" — {signal.reason}", priority=0,
                                    data={"strategy": signal.strategy, "symbol": signal.symbol,
                                          "confidence": signal.confidence,
                                          "reason": signal.reason}))

    def _act_on(self, signal: Signal) -> str | None:
        if signal.legs:  # a spread: one combo order, never legged (bot/combo_signals.py)
            return act_on_combo(self, signal)
        if signal.action is SignalAction.SELL_TO_CLOSE:
            order = self._exit(signal.symbol, f"{signal.strategy}: {signal.reason}", None,
                               "take_profit")
            return None if order is None else order.client_order_id
        equity = self.portfolio.equity(self.market.quotes, at_liquidation=True)
        cfg = self.risk_config
        stop = signal.stop if signal.stop is not None else stop_for_entry(
            signal.entry_limit, self.market.bars.get(signal.symbol), cfg.atr_period,
            cfg.atr_stop_multiple)
        quantity = contracts_for_risk(equity, signal.entry_limit, stop, cfg,
                                      multiplier(signal.symbol))
        if quantity <= 0:
            # One contract already risks more than risk_per_trade_pct (entry to stop) or costs
            # more than max_position_pct: no order, but the refusal is counted and told.
            self.summary.denied += 1
            self.metrics.risk_denials.labels("risk_per_trade").inc()
            self.bus.publish(Notice(
                "order_denied", signal.ts, f"Skipped {signal.strategy} entry in {signal.symbol}"
                f" @ {signal.entry_limit:.2f}: one contract exceeds the risk per trade "
                f"({cfg.risk_per_trade_pct:.0%}) or position size ({cfg.max_position_pct:.0%}) "
                "budget [risk_per_trade]", data={"rule": "risk_per_trade",
                                                 "symbol": signal.symbol}))
            return None
        request = self.orders.new_request(
            signal.symbol, Side.BUY, quantity, intent=Intent.OPEN,
            limit_price=signal.entry_limit, underlying=signal.underlying,
            strategy=signal.strategy, reason=signal.reason)
        bracket = None
        if signal.target is not None or stop is not None or signal.time_stop is not None:
            bracket = Bracket(request.client_order_id, signal.symbol, signal.target, stop,
                              signal.ts + signal.time_stop if signal.time_stop else None)
        assert self.execution is not None
        order = self.execution.execute(request, "entry", cap=signal.entry_limit,
                                       bracket=bracket)  # recorded with the order
        self.summary.orders += 1
        if order.status.value == "denied":
            self.summary.denied += 1
            if order.status_reason.startswith(f"{STRATEGY_RULE}:") and (
                    "stopped for the session" not in order.status_reason):
                self.strategy_book.trip(signal.strategy,
                                        order.status_reason.split(": ", 1)[1])
            return order.client_order_id
        self.strategy_book.record_entry(signal.strategy)
        if bracket is not None:
            self.brackets.add(bracket)
        return order.client_order_id

    # -- positions ------------------------------------------------------------------------
    def _watch_position(self, quote: Quote) -> None:
        self._check_breaker(quote.ts)
        if self.spread_brackets:
            watch_spreads(self, quote.symbol, quote.ts)
        bracket = self.brackets.get(quote.symbol)
        if bracket is None or not bracket.may_fire(quote.ts):
            return
        fired = bracket.trigger(quote.bid, quote.ts)
        if fired is not None:
            kind, why = fired
            self._exit(quote.symbol, why, bracket, kind)  # type: ignore[arg-type]

    def _exit(self, symbol: str, why: str, bracket: Bracket | None,
              kind: Kind = "flatten") -> Order | None:
        """Close the whole position in `symbol`, priced by the execution policy of `kind`."""
        held = self.portfolio.quantity(symbol)
        if held == 0 or self._exit_working(symbol):
            return None
        side = Side.SELL if held > 0 else Side.BUY
        entry = self.orders.orders.get(bracket.entry_id) if bracket else None
        request = self.orders.new_request(
            symbol, side, abs(held), intent=Intent.CLOSE, order_type=OrderType.MARKET,
            underlying=self.market.underlying_of.get(symbol, ""), reason=why,
            strategy=entry.request.strategy if entry else "",
            parent_id=bracket.entry_id if bracket else None)
        assert self.execution is not None
        order = self.execution.execute(request, kind)
        self.summary.orders += 1
        if bracket is not None:
            self.after_exit(bracket, order.client_order_id, order.status)
        return order

    def after_exit(self, bracket: Bracket, exit_id: str, status: OrderStatus) -> None:
        """Track a bracket's exit: working, done, or refused (then pause before retrying)."""
        if status.is_open:
            bracket.sent(exit_id)
        elif status is OrderStatus.FILLED:
            bracket.sent(None)
        else:
            cfg = self.orders_config
            bracket.refused(self.clock.now(), cfg.exit_retry_seconds, cfg.exit_retry_max_seconds)

    def _exit_working(self, symbol: str) -> bool:
        if self.execution is not None and self.execution.working(symbol):
            return True
        return any(o.request.symbol == symbol and o.request.intent is Intent.CLOSE
                   for o in self.orders.open_orders())

    def _on_chain_done(self, chain: Chain) -> None:
        """An exit worked in steps gave up: re-arm the bracket so it can fire again."""
        if chain.template.intent is Intent.CLOSE:
            bracket = self.brackets.get(chain.symbol)
            if bracket is not None and self.portfolio.quantity(chain.symbol) != 0:
                bracket.exit_id = None

    def _on_fill(self, fill: Fill, order: Order | None) -> None:
        self.summary.fills += 1
        self.markouts.on_fill(fill)
        symbol = fill.symbol
        if self.portfolio.quantity(symbol) == 0:
            bracket = self.brackets.remove(symbol)
            if bracket is not None:
                self.orders.store.close_bracket(bracket.entry_id, fill.client_order_id)
        elif order is not None and order.request.intent is Intent.CLOSE:
            bracket = self.brackets.get(symbol)
            if bracket is not None and order.status.is_terminal:
                bracket.exit_id = None  # partial exit done: watch the rest again
        if self.spread_brackets:
            settle_spreads(self, symbol)
        notice = FillNotice(symbol, fill.side.sign * fill.quantity, fill.price, fill.ts)
        for guarded in self.strategies:
            guarded.call(guarded.strategy.on_fill, notice)
        self._check_breaker(fill.ts)

    def flatten(self, reason: str, symbol: str | None = None) -> list[Order]:
        """Close every position (or one symbol's) through risk and the order manager, and
        cancel working entries."""
        if self.execution is not None:
            self.execution.stop_stepping(symbol)  # a cancelled entry step must not re-enter
        for order in self.orders.open_orders():
            if order.request.intent is Intent.OPEN and symbol in (None, order.request.symbol):
                self.orders.cancel(order.client_order_id)
        out: list[Order] = []
        flatten_combos(self, reason, symbol)  # spreads close as one combo, never legged out
        for pos in self.portfolio.open_positions():
            if symbol is None or pos.symbol == symbol:
                waiting = self._cancel_limit_exits(pos.symbol)
                exit_order = self._exit(pos.symbol, reason, self.brackets.get(pos.symbol))
                if exit_order is not None:
                    out.append(exit_order)
                elif waiting:  # the venue has not confirmed the cancel yet
                    self._flatten_after_cancel[pos.symbol] = reason
        return out

    def _cancel_limit_exits(self, symbol: str) -> bool:
        """A flatten must not wait on an exit resting at a limit (a take-profit being worked
        may never fill): cancel it so the flatten policy closes the position. Returns whether
        one was cancelled. Market exits and a spread's closing combo are left to finish."""
        cancelled = False
        for order in self.orders.open_orders():
            request = order.request
            if (request.symbol == symbol and request.intent is Intent.CLOSE
                    and request.order_type is OrderType.LIMIT
                    and self.orders.combos.combo_id(order.client_order_id) is None):
                self.orders.cancel(order.client_order_id)
                cancelled = True
        return cancelled

    def _on_order_status(self, order: Order) -> None:
        """A cancel a flatten asked for is confirmed: close the position now."""
        symbol = order.request.symbol
        if (symbol in self._flatten_after_cancel and order.status.is_terminal
                and not self._exit_working(symbol)):
            reason = self._flatten_after_cancel.pop(symbol)
            self._exit(symbol, reason, self.brackets.get(symbol))

    def _check_breaker(self, now: datetime) -> None:
        equity = self.portfolio.equity(self.market.quotes, at_liquidation=True)
        self.metrics.equity.set(equity)
        verdict = self.breaker.evaluate(equity, self.control.start_of_day_equity,
                                        self.control.state)
        if verdict is None:
            return
        state, reason = verdict
        self.control.set_state(state, reason, now, by_breaker=True)
        self.metrics.trading_state.set(2 if state is TradingState.HALTED else 1)
        if state is TradingState.HALTED:
            self.flatten(f"breaker: {reason}")

    # -- session --------------------------------------------------------------------------
    def _check_session(self, now: datetime) -> None:
        if now is self._last_checked:
            return  # events of one release share their timestamp object: checked already
        self._last_checked = now
        if self._plan_until is None or now >= self._plan_until:
            self._roll_day(now)
        plan = self._plan
        if plan is None or plan.closed:
            return
        if plan.expiring_at is not None and now >= plan.expiring_at:
            plan.expiring_at = None
            self._close_expiring(plan.session)
        if not plan.flattened and now >= plan.flatten_at:
            plan.flattened = True
            if self.orders_config.flatten_before_close_minutes and (
                    self.portfolio.open_positions()):
                minutes = self.orders_config.flatten_before_close_minutes
                self.flatten(f"end-of-day flatten {minutes} min before the "
                             f"{plan.session.close.astimezone(NEW_YORK):%H:%M} close")
        if now >= plan.session.close:
            self.close_session()

    def _roll_day(self, now: datetime) -> None:
        """Called once per calendar day (New York): pick up that day's session, if any."""
        local = now.astimezone(NEW_YORK)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), NEW_YORK)
        self._plan_until = midnight.astimezone(UTC)
        session = self.calendar.session_for(now)
        if session is None or (self._plan is not None and self._plan.session == session):
            return
        if self._plan is not None and not self._plan.closed:
            self.close_session()
        self._plan = self._new_plan(session)
        equity = self.portfolio.equity(self.market.quotes, at_liquidation=True)
        if self.control.start_session(session.day.isoformat(), equity, now):
            self.market.reset_session()

    def _new_plan(self, session: Session) -> SessionPlan:
        cfg = self.orders_config
        # Entries near the close are the risk gate's call (risk.session), not the engine's.
        expiring = cfg.close_expiring_before_close_minutes
        return SessionPlan(
            session, session.close - timedelta(minutes=cfg.flatten_before_close_minutes),
            session.close - timedelta(minutes=expiring) if expiring else None)

    def _close_expiring(self, session: Session) -> None:
        """Close what expires today (single contracts and the spreads they are legs of)."""
        minutes = self.orders_config.close_expiring_before_close_minutes
        reason = (f"expires today: closed {minutes} min before the "
                  f"{session.close.astimezone(NEW_YORK):%H:%M} close")
        for pos in self.portfolio.open_positions():
            if not is_option_symbol(pos.symbol):
                continue
            if OptionSymbol.parse(pos.symbol).expiration <= session.day:
                self.flatten(reason, pos.symbol)

    def close_session(self) -> None:
        """At the close: day orders expire, expiring options settle, the day's P&L is kept."""
        plan = self._plan
        if plan is None or plan.closed:
            return
        plan.closed = True
        underlying_prices = {sym: q.mid for sym, q in self.market.quotes.items()
                             if q.underlying == sym or not q.underlying}
        for venue in self.venues:
            expire = getattr(venue, "expire_session", None)
            if expire is not None:
                expire(underlying_prices)
        equity = self.portfolio.equity(self.market.quotes, at_liquidation=True)
        self.orders.store.save_daily_pnl(
            plan.session.day.isoformat(), self.control.start_of_day_equity, equity,
            self.portfolio.realized_pnl, self.portfolio.fees, self.portfolio.fills_seen)
        self.orders.store.flush()
        for listener in self.session_listeners:
            try:
                listener(plan.session)
            except Exception:
                log.exception("session-close listener %r failed", listener)
        self.bus.publish(Notice("session_closed", plan.session.close,
                                f"Session {plan.session.day} closed: equity {equity:,.2f}",
                                data={"day": plan.session.day.isoformat(), "equity": equity}))
