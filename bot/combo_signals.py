"""A strategy's multi-leg signal (a spread) becomes one combo order on the one path.

Sizing follows the single-leg rule with the combo's capital at risk in place of the premium:
a defined-risk spread can lose its max loss and no more, so the quantity is what keeps that
within `risk_per_trade_pct` (and `max_position_pct`) of equity. The combo then goes to the
execution manager, which steps its net price from the net mid toward the net natural price,
never past the signal's net limit, every step through the combo risk gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.brackets import Bracket
from bot.combo_brackets import SpreadBracket
from bot.events import Notice
from bot.spread_exits import cancel_limit_closes, close_spread, closing_working, held_combos
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import Intent, OrderStatus, OrderType, Side
from market.instruments import CONTRACT_MULTIPLIER
from risk.rules.multileg import payoff_floor
from risk.sizing import contracts_for_risk
from strategies.base import Signal, SignalAction

if TYPE_CHECKING:
    from bot.combo_orders import ComboOrder
    from bot.engine import Engine


def combo_of(signal: Signal, client_order_id: str, quantity: int = 1) -> MultiLegOrder:
    """The signal's legs as a combo at its net limit (raises ValueError on a bad combo)."""
    legs = tuple(Leg(leg.symbol, Side(leg.side), leg.ratio, Intent.OPEN) for leg in signal.legs)
    return MultiLegOrder(
        client_order_id,
        legs,
        quantity,
        OrderType.LIMIT,
        signal.entry_limit,
        strategy=signal.strategy,
        reason=signal.reason,
    )


def at_risk_per_combo(spec: MultiLegOrder) -> float:
    """Dollars one combo can lose at its limit: the debit, or the max loss of a defined-risk
    spread; a naked combo counts its debit only (the risk gate refuses it unless allowed)."""
    price = spec.limit_price or 0.0
    floor = payoff_floor(spec.legs)
    loss = max(price, 0.0) if floor is None else max(price - floor, price, 0.0)
    return loss * CONTRACT_MULTIPLIER


def act_on_combo(engine: Engine, signal: Signal) -> str | None:
    """What `Engine._act_on` does for a signal with legs. Returns the first combo's id."""
    orders = engine.orders
    try:
        spec = combo_of(signal, orders.ids.next())
    except ValueError as exc:
        _skip(engine, signal, f"not a valid combo: {exc}", "combo_signal")
        return None
    assert engine.execution is not None
    if signal.action is SignalAction.SELL_TO_CLOSE:
        held = held_combos(engine.portfolio, spec.legs)
        if held <= 0 or closing_working(engine, spec.legs):
            return None
        closed = close_spread(engine, spec.legs, held, "take_profit", signal.reason,
                              signal.strategy)
        return closed.client_order_id
    equity = engine.portfolio.equity(engine.market.quotes, at_liquidation=True)
    at_risk = at_risk_per_combo(spec)
    quantity = (
        1 if at_risk <= 0 else contracts_for_risk(equity, at_risk, 0.0, engine.risk_config, 1)
    )
    if quantity <= 0:
        cfg = engine.risk_config
        _skip(
            engine,
            signal,
            f"one combo risks {at_risk:,.2f}, more than the risk per trade "
            f"({cfg.risk_per_trade_pct:.0%}) or position size "
            f"({cfg.max_position_pct:.0%}) budget",
            "risk_per_trade",
        )
        return None
    protection = _bracket_of(signal, spec)
    combo = engine.execution.execute_combo(
        spec.with_quantity(quantity), "entry", cap=signal.entry_limit,
        bracket=None if protection is None else protection.bracket,  # stored with the entry
    )
    engine.summary.orders += 1
    if combo.status is OrderStatus.DENIED:
        engine.summary.denied += 1
    else:
        engine.strategy_book.record_entry(signal.strategy)
        if protection is not None:
            engine.spread_brackets.add(protection)
    return combo.client_order_id


def _bracket_of(signal: Signal, spec: MultiLegOrder) -> SpreadBracket | None:
    """The signal's stop, target and time stop as net prices of the spread, if it gave any."""
    if signal.stop is None and signal.target is None and signal.time_stop is None:
        return None
    time_stop_at = signal.ts + signal.time_stop if signal.time_stop else None
    return SpreadBracket(Bracket(spec.client_order_id, spec.label, signal.target, signal.stop,
                                 time_stop_at), spec.legs)


def _skip(engine: Engine, signal: Signal, why: str, rule: str) -> None:
    engine.summary.denied += 1
    engine.metrics.risk_denials.labels(rule).inc()
    engine.bus.publish(
        Notice(
            "order_denied",
            signal.ts,
            f"Skipped {signal.strategy} combo {signal.symbol} @ "
            f"{signal.entry_limit:.2f}: {why} [{rule}]",
            data={"rule": rule, "symbol": signal.symbol},
        )
    )


def flatten_combos(engine: Engine, reason: str, symbol: str | None = None) -> list[ComboOrder]:
    """Close the spreads still held as spreads (flatten, kill switch, end of day): each
    opened combo whose legs are still held closes as one combo, by the flatten policy. What
    is left over (a leg closed outside the bot) is closed leg by leg by the engine."""
    assert engine.execution is not None
    out = []
    for combo in list(engine.orders.combos.combos.values()):
        spec = combo.spec
        if spec.intent is not Intent.OPEN or not combo.filled_quantity:
            continue
        if symbol is not None and all(leg.symbol != symbol for leg in spec.legs):
            continue
        if min(held_combos(engine.portfolio, spec.legs), combo.filled_quantity) <= 0:
            continue
        cancel_limit_closes(engine, spec.legs)  # a resting take-profit must not hold it up
        if closing_working(engine, spec.legs):  # the venue has not confirmed the cancel yet
            engine.spreads_to_flatten[combo.client_order_id] = reason
            continue
        closing = _flatten_spread(engine, combo, reason)
        if closing is not None:
            out.append(closing)
    return out


def flatten_after_cancel(engine: Engine, cancelled: ComboOrder) -> None:
    """A closing combo ended: flatten the spreads that were waiting for it to be cancelled."""
    if not cancelled.spec.closes or not cancelled.status.is_terminal:
        return
    for entry_id, reason in list(engine.spreads_to_flatten.items()):
        entry = engine.orders.combos.combos.get(entry_id)
        if entry is None or not closing_working(engine, entry.spec.legs):
            del engine.spreads_to_flatten[entry_id]
            if entry is not None:
                _flatten_spread(engine, entry, reason)


def _flatten_spread(engine: Engine, entry: ComboOrder, reason: str) -> ComboOrder | None:
    held = min(held_combos(engine.portfolio, entry.spec.legs), entry.filled_quantity)
    if held <= 0:
        return None
    return close_spread(engine, entry.spec.legs, held, "flatten", reason, entry.spec.strategy)
