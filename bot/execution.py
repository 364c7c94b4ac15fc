"""Smart limit pricing: work an order from the mid toward the natural price in steps.

Crossing a $0.10 spread on a $2.00 option costs 5% — a scalper's whole stop. So an entry (or a
take-profit) starts at the mid, or a configured fraction of the way to the natural side, and
steps toward the natural price every `step_seconds`, by cancel-then-replace, until it fills,
`give_up_seconds` pass, or the next step would cross the signal's limit. Each step is a new
order with its own client order id (linked by `replaces`) that passes the risk manager like any
other. The next step is only sent once the broker confirms the cancel, so two steps are never
working at once, whatever the broker. Stops and flattens go straight to the natural price or to
market, by config.

Multi-leg orders step the same way on their net price (`execute_combo`): the combo's mid and
natural price come from its legs' quotes (buy legs at the ask, sell legs at the bid), a step
cancels the working combo and sends the rest of it as a new combo, through the combo risk
gate, at the next net price — never past the signal's net limit, never one leg at a time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, Literal, TypeVar

from bot.brackets import Bracket
from bot.combo_orders import ComboOrder, reprice
from bot.events import EventBus, Notice
from bot.execution_config import ExecutionConfig, ExecutionPolicy
from bot.order_manager import OrderManager
from brokers.multileg import MultiLegOrder, net_quote
from brokers.orders import Intent, Order, OrderRequest, OrderStatus, OrderType, Side
from market.clock import Clock
from market.data import quote_problem
from market.state import MarketState

log = logging.getLogger(__name__)

Kind = Literal["entry", "take_profit", "stop", "flatten"]
__all__ = ["Chain", "ComboChain", "ExecutionConfig", "ExecutionManager", "ExecutionPolicy",
           "Kind", "step_price"]


def step_price(side: Side, bid: float, ask: float, policy: ExecutionPolicy, step: int,
               cap: float | None) -> float:
    """The limit price of step `step` (0-based); the last step is the natural price. Prices are
    rounded to the tick on the passive side, and never past `cap` (the worst price allowed)."""
    natural = ask if side is Side.BUY else bid
    mid = (bid + ask) / 2.0
    start = mid + (natural - mid) * policy.start_offset
    frac = min(step, policy.steps) / policy.steps
    raw = start + (natural - start) * frac
    ticks = raw / policy.tick
    rounded = (math.floor(ticks + 1e-9) if side is Side.BUY else math.ceil(ticks - 1e-9))
    price = round(rounded * policy.tick, 10)
    if frac >= 1.0:
        price = natural
    if cap is not None:
        price = min(price, cap) if side is Side.BUY else max(price, cap)
    return round(price, 4)


TemplateT = TypeVar("TemplateT", OrderRequest, MultiLegOrder)


@dataclass
class _Worked(Generic[TemplateT]):
    """What every order worked in steps carries: the children replace one another."""

    chain_id: str
    kind: Kind
    template: TemplateT
    policy: ExecutionPolicy
    cap: float | None
    deadline: datetime
    next_step_at: datetime
    child: str
    step: int = 0
    filled_before: int = 0  # contracts (combos for a combo) filled by earlier children
    cancelling: bool = False
    giving_up: bool = False
    done: bool = False

    @property
    def symbol(self) -> str:
        return self.template.symbol


@dataclass
class Chain(_Worked[OrderRequest]):
    """One single-contract order worked in steps."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The contracts whose quotes price this chain."""
        return (self.template.symbol,)

    @property
    def what(self) -> str:
        return f"{self.template.side} {self.template.symbol}"


@dataclass
class ComboChain(_Worked[MultiLegOrder]):
    """One multi-leg order worked in steps of its net price (always bought: debit > 0)."""

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(leg.symbol for leg in self.template.legs)

    @property
    def what(self) -> str:
        return self.template.label


ChainListener = Callable[[Chain], None]
ComboChainListener = Callable[[ComboChain], None]


class ExecutionManager:
    def __init__(self, orders: OrderManager, market: MarketState, clock: Clock,
                 config: ExecutionConfig, bus: EventBus) -> None:
        self.orders, self.market, self.clock, self.config, self.bus = (
            orders, market, clock, config, bus)
        self.chains: dict[str, Chain | ComboChain] = {}  # by current child id
        self.done_listeners: list[ChainListener] = []
        self.combo_done_listeners: list[ComboChainListener] = []
        orders.status_listeners.append(self._on_order)
        orders.combos.listeners.append(self._on_combo)

    def policy(self, kind: Kind) -> ExecutionPolicy:
        return getattr(self.config, kind)  # type: ignore[no-any-return]

    def execute(self, request: OrderRequest, kind: Kind, cap: float | None = None,
                bracket: Bracket | None = None) -> Order:
        """Send `request` the way its kind's policy says. Returns the first order sent, which
        carries the entry's `bracket` into the store."""
        policy = self.policy(kind)
        quote = self.market.quote(request.symbol)
        if policy.style == "market" or quote is None or quote_problem(quote) is not None:
            return self.orders.submit(replace(request, order_type=OrderType.MARKET,
                                              limit_price=None), bracket)
        steps = 0 if policy.style == "smart" else policy.steps
        price = step_price(request.side, quote.bid, quote.ask, policy, steps, cap)
        order = self.orders.submit(replace(request, order_type=OrderType.LIMIT,
                                           limit_price=price), bracket)
        if policy.style == "smart" and order.status.is_open:
            now = self.clock.now()
            chain = Chain(order.client_order_id, kind, request, policy, cap,
                          now + timedelta(seconds=policy.give_up_seconds),
                          now + timedelta(seconds=policy.step_seconds), order.client_order_id)
            self.chains[chain.child] = chain
        return order

    def execute_combo(self, spec: MultiLegOrder, kind: Kind, cap: float | None = None,
                      bracket: Bracket | None = None) -> ComboOrder:
        """Send a multi-leg order the way its kind's policy says, stepping its net price from
        the net mid toward the net natural price; `cap` is the worst net price allowed (the
        signal's limit). Returns the first combo sent."""
        policy = self.policy(kind)
        market = net_quote(spec.legs, self.market.quote)
        if policy.style == "market" or market is None:
            return self.orders.submit_combo(replace(spec, order_type=OrderType.MARKET,
                                                    limit_price=None), bracket)
        steps = 0 if policy.style == "smart" else policy.steps
        price = step_price(Side.BUY, market.bid, market.ask, policy, steps, cap)
        combo = self.orders.submit_combo(replace(spec, order_type=OrderType.LIMIT,
                                                 limit_price=price), bracket)
        if policy.style == "smart" and combo.status.is_open:
            now = self.clock.now()
            chain = ComboChain(combo.client_order_id, kind, combo.spec, policy, cap,
                               now + timedelta(seconds=policy.give_up_seconds),
                               now + timedelta(seconds=policy.step_seconds),
                               combo.client_order_id)
            self.chains[chain.child] = chain
        return combo

    def adopt(self, working: Iterable[Order], known: Mapping[str, Order]) -> int:
        """After a restart: hold each working limit order that a smart policy was stepping to
        the deadline set when its first step was sent (found through `replaces` in `known`),
        then cancel it. No further steps: the prices the old process stepped on are gone. A
        limit exit is held to the take-profit policy (stops and flattens are market orders
        by default). Returns how many."""
        adopted = 0
        for order in working:
            request = order.request
            if (order.client_order_id in self.chains or request.order_type is not OrderType.LIMIT
                    or request.intent not in (Intent.OPEN, Intent.CLOSE)):
                continue
            root, hops = order, 0
            while (earlier := known.get(root.request.replaces or "")) is not None and (
                    hops < len(known)):
                root, hops = earlier, hops + 1
            kind: Kind = "entry" if request.intent is Intent.OPEN else "take_profit"
            policy = self.policy(kind)
            if policy.style != "smart":
                continue  # never worked in steps: it rests, as it did before the restart
            deadline = root.created_at + timedelta(seconds=policy.give_up_seconds)
            self.chains[order.client_order_id] = Chain(
                root.client_order_id, kind, request, policy, request.limit_price, deadline,
                deadline, order.client_order_id, step=policy.steps)
            adopted += 1
        return adopted

    def adopt_combos(self, combos: Mapping[str, ComboOrder]) -> int:
        """`adopt` for multi-leg orders: each working limit combo of a smart policy is held
        to its first step's deadline, then cancelled as one order. Returns how many."""
        adopted = 0
        for combo in combos.values():
            spec = combo.spec
            if (not combo.status.is_open or combo.client_order_id in self.chains
                    or spec.order_type is not OrderType.LIMIT):
                continue
            root, hops = combo, 0
            while (earlier := combos.get(root.spec.replaces or "")) is not None and (
                    hops < len(combos)):
                root, hops = earlier, hops + 1
            opening = any(leg.intent is Intent.OPEN for leg in spec.legs)
            kind: Kind = "entry" if opening else "take_profit"
            policy = self.policy(kind)
            if policy.style != "smart":
                continue
            deadline = root.parent.created_at + timedelta(seconds=policy.give_up_seconds)
            self.chains[combo.client_order_id] = ComboChain(
                root.client_order_id, kind, spec, policy, spec.limit_price, deadline, deadline,
                combo.client_order_id, step=policy.steps)
            adopted += 1
        return adopted

    def working(self, symbol: str) -> bool:
        return any(symbol in c.symbols for c in self.chains.values())

    def on_quote(self, symbol: str, now: datetime) -> None:
        """A fresh quote for `symbol`: step its chains whose time has come, priced on it."""
        for chain in [c for c in self.chains.values() if symbol in c.symbols]:
            if not chain.cancelling and now >= chain.next_step_at:
                self._step(chain, now)

    def on_time(self, now: datetime) -> None:
        """Any event or timer tick: give up chains past their deadline, and step those whose
        contract has been quiet for a whole extra interval (priced on the last quote)."""
        for chain in list(self.chains.values()):
            if chain.cancelling:
                continue
            quiet_since = chain.next_step_at + timedelta(seconds=chain.policy.step_seconds)
            if now >= chain.deadline or now >= quiet_since:
                self._step(chain, now)

    def stop_stepping(self, symbol: str | None = None) -> None:
        """Flatten, kill or shutdown: no further steps (for one symbol or all); the cancel
        of the working step then ends its chain."""
        for chain in self.chains.values():
            if symbol is None or symbol in chain.symbols:
                chain.giving_up = True

    def _step(self, chain: Chain | ComboChain, now: datetime) -> None:
        if now >= chain.deadline or chain.step >= chain.policy.steps:
            chain.giving_up = True
        chain.cancelling = True
        self.orders.cancel(chain.child)

    def _on_order(self, order: Order) -> None:
        chain = self.chains.get(order.client_order_id)
        if not isinstance(chain, Chain) or not order.status.is_terminal:
            return
        remaining = self._settle(chain, order.status, order.filled_quantity)
        if remaining is None:
            return
        quote = self.market.quote(chain.symbol)
        if quote is None or quote_problem(quote) is not None:
            self._finish(chain, "gave up: no usable quote to step on")
            return
        chain.step += 1
        price = step_price(chain.template.side, quote.bid, quote.ask, chain.policy, chain.step,
                           chain.cap)
        child = replace(chain.template, client_order_id=self.orders.ids.next(),
                        quantity=remaining, order_type=OrderType.LIMIT, limit_price=price,
                        replaces=order.client_order_id)
        sent = self.orders.submit(child)
        self._carry_on(chain, sent.client_order_id, sent.status, sent.status_reason)

    def _on_combo(self, combo: ComboOrder) -> None:
        chain = self.chains.get(combo.client_order_id)
        if not isinstance(chain, ComboChain) or not combo.status.is_terminal:
            return
        remaining = self._settle(chain, combo.status, combo.filled_quantity)
        if remaining is None:
            return
        market = net_quote(chain.template.legs, self.market.quote)
        if market is None:
            self._finish(chain, "gave up: no usable quote on every leg to step on")
            return
        chain.step += 1
        price = step_price(Side.BUY, market.bid, market.ask, chain.policy, chain.step,
                           chain.cap)
        sent = self.orders.submit_combo(reprice(combo.spec, self.orders.ids.next(), remaining,
                                                price))
        self._carry_on(chain, sent.client_order_id, sent.status, sent.parent.status_reason)

    def _settle(self, chain: Chain | ComboChain, status: OrderStatus, filled: int) -> int | None:
        """A worked child ended: book what it filled and say how much is left to work, or
        None when the chain is over (filled, given up, or ended by the venue)."""
        del self.chains[chain.child]
        chain.filled_before += filled
        remaining = chain.template.quantity - chain.filled_before
        if remaining <= 0 or status is OrderStatus.FILLED:
            self._finish(chain, "filled")
            return None
        if (chain.giving_up or self.clock.now() >= chain.deadline
                or status is not OrderStatus.CANCELLED):
            self._finish(chain, f"gave up with {remaining} of {chain.template.quantity} "
                                f"unfilled ({status.value})")
            return None
        return remaining

    def _carry_on(self, chain: Chain | ComboChain, child: str, status: OrderStatus,
                  reason: str) -> None:
        """The next step went to the risk gate: work it, or end the chain on its verdict."""
        if not status.is_open:
            self._finish(chain, "filled" if status is OrderStatus.FILLED
                         else f"step {chain.step} not sent: {reason}")
            return
        chain.child, chain.cancelling = child, False
        chain.next_step_at = self.clock.now() + timedelta(seconds=chain.policy.step_seconds)
        self.chains[child] = chain

    def _finish(self, chain: Chain | ComboChain, outcome: str) -> None:
        chain.done = True
        if outcome != "filled":
            log.info("%s %s: %s", chain.kind, chain.what, outcome)
            self.bus.publish(Notice("execution_gave_up", self.clock.now(),
                                    f"{chain.kind} {chain.what}: {outcome}",
                                    data={"chain": chain.chain_id}))
        if isinstance(chain, ComboChain):
            for combo_listener in self.combo_done_listeners:
                combo_listener(chain)
            return
        for listener in self.done_listeners:
            listener(chain)
