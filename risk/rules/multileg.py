"""The risk gate for multi-leg orders: the same limits as single-leg orders, applied to what a
combo really risks.

A vertical spread's short leg is not a naked short, and its long leg's premium is not what is
at risk: checking each leg as a single order would refuse good spreads and pass bad ones. So a
combo is checked as a whole, against the limits the configured single-leg rules already hold:

- account-level rules (trading state, daily loss, session, connectivity, PDT, losing streak,
  throttle, duplicates, strategy safeguards, concurrent trades, and any rule added later) see
  the combo once, as one order of the legs joined by `|`, priced at its capital at risk;
- market-quality rules (stale quote, spread, volume, open interest, 0DTE cutoff) see each leg;
- the sizing rules are replaced here by combo arithmetic: premium at risk = net debit x qty x
  100; the max loss of a defined-risk combo (from its payoff at expiry) against
  `max_position_size`; contracts per order and per underlying count every leg; portfolio
  Greeks add every leg; a combo whose short legs are not covered by long legs of the same right
  is naked, refused while `no_short_options` is on.
A combo whose every leg reduces a held position is an exit: no entry-only limit applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from brokers.multileg import Leg, MultiLegOrder, net_quote, parsed
from brokers.orders import Intent, OrderRequest, OrderType, Side
from market.instruments import CONTRACT_MULTIPLIER, OptionRight
from risk.config import GreeksLimits
from risk.context import ContractGreeks, RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.manager import RiskManager, RiskRule
from risk.reducing import reduces_position
from risk.rules.common import fit, option_of
from risk.rules.greeks import GREEKS, dollar_greeks

#: Rules asked about every leg of an entry, as if it were a single order.
PER_LEG = frozenset({"zero_dte_cutoff", "stale_quote", "spread", "volume", "open_interest"})
#: Rules whose limits this module applies to the combo as a whole.
COMBO_AWARE = frozenset(
    {
        "order_sanity",
        "max_contracts_per_order",
        "max_position_size",
        "premium_per_trade",
        "premium_per_day",
        "contracts_per_underlying",
        "same_expiry_exposure",
        "no_short_options",
        "buying_power",
        "greeks",
    }
)
NAME = "multileg"


def payoff_floor(legs: tuple[Leg, ...]) -> float | None:
    """The lowest value per combo (per share) of the legs' intrinsic values at expiry, over
    every underlying price; None when it is unbounded below (net short calls).

    Intrinsic value at the first expiry is a floor for legs expiring later too (a live option
    is worth at least its intrinsic value), so the max loss derived from it is conservative
    for calendars and diagonals.
    """
    specs = [(parsed(leg.symbol), leg.side.sign * leg.ratio) for leg in legs]
    if sum(w for s, w in specs if s.right is OptionRight.CALL) < 0:
        return None  # more calls sold than bought: the loss grows without bound

    def value(price: float) -> float:
        total = 0.0
        for spec, weight in specs:
            if spec.right is OptionRight.CALL:
                total += weight * max(0.0, price - spec.strike)
            else:
                total += weight * max(0.0, spec.strike - price)
        return total

    return min(value(p) for p in {0.0, *(s.strike for s, _ in specs)})


def naked_legs(legs: tuple[Leg, ...]) -> list[str]:
    """Rights (calls, puts) where the combo sells more contracts than it buys."""
    out = []
    for right in OptionRight:
        net = sum(leg.side.sign * leg.ratio for leg in legs if parsed(leg.symbol).right is right)
        if net < 0:
            out.append(f"{right.word}s")
    return out


@dataclass(frozen=True, slots=True)
class ComboEconomics:
    """What one combo costs and risks, per share (x100 per contract)."""

    price: float  # net price: the limit, else the natural price (debit > 0, credit < 0)
    max_loss: float | None  # None: undefined (unbounded) risk

    @property
    def debit(self) -> float:
        return max(self.price, 0.0)

    @property
    def at_risk(self) -> float:
        """Capital one combo ties up: its max loss, at least its debit."""
        return self.debit if self.max_loss is None else max(self.debit, self.max_loss)

    @classmethod
    def of(cls, order: MultiLegOrder, ctx: RiskContext) -> ComboEconomics | None:
        price = order.limit_price
        if price is None:
            market = net_quote(order.legs, ctx.quote)
            if market is None:
                return None
            price = market.ask
        floor = payoff_floor(order.legs)
        return cls(price, None if floor is None else max(0.0, price - floor))


@dataclass(frozen=True, slots=True)
class ComboVerdict:
    order: MultiLegOrder
    rejection: Reject | None = None
    resizes: tuple[Resize, ...] = field(default=())

    @property
    def approved(self) -> bool:
        return self.rejection is None


def leg_request(order: MultiLegOrder, index: int, quantity: int | None = None) -> OrderRequest:
    """One leg as the single order risk rules understand (priced at its quote)."""
    leg = order.legs[index]
    return OrderRequest(
        order.leg_id(index),
        leg.symbol,
        leg.side,
        (quantity or order.quantity) * leg.ratio,
        OrderType.MARKET,
        None,
        leg.intent,
        underlying=order.underlying,
        strategy=order.strategy,
        reason=order.reason,
        replaces=order.replaces,
    )


def proxy_request(order: MultiLegOrder, econ: ComboEconomics | None) -> OrderRequest:
    """The combo as one order for account-level rules: symbol the legs joined by `|`, price
    its capital at risk in dollars (the proxy is not an option, so no x100 is added)."""
    per_combo = None if econ is None else econ.at_risk * CONTRACT_MULTIPLIER
    return OrderRequest(
        order.client_order_id,
        order.symbol,
        Side.BUY,
        order.quantity,
        OrderType.LIMIT,
        per_combo if per_combo and per_combo > 0 else None,
        Intent.CLOSE if order.closes else Intent.OPEN,
        underlying=order.underlying,
        strategy=order.strategy,
        reason=order.reason,
        replaces=order.replaces,
    )


ComboRule = Callable[[MultiLegOrder, ComboEconomics, RiskContext, RiskRule], Decision]


class ComboGate:
    """Checks combos with the rules of a `RiskManager` (read at each check, so rules added
    after start-up, like the strategy safeguards, apply to combos too)."""

    def __init__(self, manager: RiskManager) -> None:
        self.manager = manager

    def check(self, order: MultiLegOrder, ctx: RiskContext) -> ComboVerdict:
        ctx.begin_check()
        try:
            return self._check(order, ctx)
        finally:
            ctx.end_check()

    def _check(self, order: MultiLegOrder, ctx: RiskContext) -> ComboVerdict:
        rules = {r.name: r for r in self.manager.rules}
        legs = [leg_request(order, i) for i in range(len(order.legs))]
        for req in legs:
            if req.intent is Intent.CLOSE and not reduces_position(req, ctx):
                return ComboVerdict(
                    order,
                    Reject(
                        NAME,
                        f"closing leg {req.side} {req.quantity} "
                        f"{req.symbol} has no position to "
                        "reduce",
                    ),
                )
        econ = ComboEconomics.of(order, ctx)
        if all(reduces_position(req, ctx) for req in legs):
            self._approved(order, econ, ctx, rules)  # an exit: no entry limit applies
            return ComboVerdict(order)
        if econ is None:
            return ComboVerdict(
                order,
                Reject(NAME, f"no two-sided quote on every leg of {order.label}: cannot price it"),
            )
        resizes: list[Resize] = []
        stop: Reject | None = None
        order, stop = _account_rules(order, econ, ctx, rules, resizes)
        if stop is not None:
            return ComboVerdict(order, stop, tuple(resizes))
        stop = _per_leg(order, ctx, rules)
        if stop is not None:
            return ComboVerdict(order, stop, tuple(resizes))
        for name, combo_rule in _COMBO_RULES:
            if name in rules:
                order, stop = _apply(combo_rule(order, econ, ctx, rules[name]), order, resizes)
                if stop is not None:
                    return ComboVerdict(order, stop, tuple(resizes))
        self._approved(order, econ, ctx, rules)
        return ComboVerdict(order, None, tuple(resizes))

    def _approved(
        self,
        order: MultiLegOrder,
        econ: ComboEconomics | None,
        ctx: RiskContext,
        rules: dict[str, RiskRule],
    ) -> None:
        remember = [getattr(r, "on_approved", None) for n, r in rules.items() if n not in PER_LEG]
        hooks = [hook for hook in remember if hook is not None]
        if hooks:  # the stateful rules (throttle, duplicates) count the combo once
            now, proxy = ctx.now(), proxy_request(order, econ)
            for hook in hooks:
                hook(proxy, now)


def _account_rules(
    order: MultiLegOrder,
    econ: ComboEconomics,
    ctx: RiskContext,
    rules: dict[str, RiskRule],
    resizes: list[Resize],
) -> tuple[MultiLegOrder, Reject | None]:
    """Every rule that is neither per leg nor combo-aware sees the combo once, as its proxy."""
    proxy = proxy_request(order, econ)
    for name, rule in rules.items():
        if name in PER_LEG or name in COMBO_AWARE:
            continue
        before = order
        order, stop = _apply(rule.check(proxy, ctx), order, resizes)
        if stop is not None:
            return order, stop
        if order is not before:
            proxy = proxy_request(order, econ)
    return order, None


def _per_leg(order: MultiLegOrder, ctx: RiskContext, rules: dict[str, RiskRule]) -> Reject | None:
    """Market quality of every leg: one illiquid leg spoils the combo's price."""
    for i in range(len(order.legs)):
        request = leg_request(order, i)
        for name in sorted(PER_LEG & rules.keys()):
            decision = rules[name].check(request, ctx)
            if isinstance(decision, Reject):
                return Reject(decision.rule, f"leg {i + 1}: {decision.reason}")
    return None


def _apply(
    decision: Decision, order: MultiLegOrder, resizes: list[Resize]
) -> tuple[MultiLegOrder, Reject | None]:
    if isinstance(decision, Reject):
        return order, decision
    if isinstance(decision, Resize):
        if decision.quantity <= 0:
            return order, Reject(decision.rule, decision.reason)
        if decision.quantity < order.quantity:
            resizes.append(decision)
            return order.with_quantity(decision.quantity), None
    return order, None


def _field(rule: RiskRule, name: str) -> float:
    """A limit the single-leg rule holds (its own dataclass field)."""
    value: float = getattr(rule, name)
    return value


def _fit_or_reject(rule: str, allowed: int, why: str) -> Decision:
    return Reject(rule, why) if allowed <= 0 else Resize(allowed, rule, why)


# -- combo arithmetic for the sizing rules -------------------------------------------------
def _contracts_per_order(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    limit = int(_field(rule, "limit"))
    per_combo = order.contracts_per_combo
    if per_combo * order.quantity <= limit:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        limit // per_combo,
        f"{order.quantity} combos x {per_combo} contracts = "
        f"{order.quantity * per_combo} > max {limit} per order",
    )


def _naked(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    naked = naked_legs(order.legs)
    if not naked:
        return APPROVE
    return Reject(
        rule.name,
        f"{order.label} sells more {' and '.join(naked)} than it buys "
        "(naked short: undefined risk); set "
        "risk.options.allow_short_options to permit",
    )


def _premium_per_trade(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    unit = econ.debit * CONTRACT_MULTIPLIER
    cap = _field(rule, "max_premium")
    if unit * order.quantity <= cap:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        fit(cap, 0.0, unit),
        f"net debit {unit * order.quantity:,.2f} of {order.label} > max {cap:,.2f} per trade",
    )


def _position_size(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    if econ.max_loss is None:
        return APPROVE  # naked: refused by no_short_options, or knowingly allowed
    unit = econ.at_risk * CONTRACT_MULTIPLIER
    budget = ctx.equity * _field(rule, "max_pct")
    if unit * order.quantity <= budget:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        fit(budget, 0.0, unit),
        f"max loss {unit * order.quantity:,.2f} of {order.quantity} x "
        f"{order.label} > {_field(rule, 'max_pct'):.0%} of equity "
        f"{ctx.equity:,.2f}",
    )


def _premium_per_day(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    unit = econ.debit * CONTRACT_MULTIPLIER
    if unit <= 0:
        return APPROVE  # a credit pays no premium
    pct = _field(rule, "max_pct")
    budget = pct * (ctx.start_of_day_equity or ctx.equity)
    used = ctx.premium_opened_today() + ctx.exposure().entry_cost
    if used + unit * order.quantity <= budget:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        fit(budget, used, unit),
        f"premium today {used:,.2f} + {unit * order.quantity:,.2f} > "
        f"{pct:.0%} of opening equity ({budget:,.2f})",
    )


def _contracts_per_underlying(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    limit = int(_field(rule, "limit"))
    used = ctx.exposure().contracts_by_underlying.get(order.underlying, 0)
    per_combo = order.contracts_per_combo
    if used + per_combo * order.quantity <= limit:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        (limit - used) // per_combo,
        f"{used} contracts of {order.underlying} held or working + "
        f"{per_combo * order.quantity} in {order.label} > max {limit}",
    )


def _same_expiry(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    expiry = min(parsed(leg.symbol).expiration for leg in order.legs)
    unit = econ.at_risk * CONTRACT_MULTIPLIER
    pct = _field(rule, "max_pct")
    used = ctx.exposure().cost_by_expiry.get(expiry, 0.0)
    budget = pct * ctx.equity
    if used + unit * order.quantity <= budget:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        fit(budget, used, unit),
        f"at risk expiring {expiry} {used:,.2f} + {unit * order.quantity:,.2f}"
        f" > {pct:.0%} of equity ({budget:,.2f})",
    )


def _buying_power(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    unit = econ.at_risk * CONTRACT_MULTIPLIER  # a debit is paid, a credit spread's max loss held
    committed = ctx.exposure().entry_cost
    power = ctx.buying_power
    if committed + unit * order.quantity <= power:
        return APPROVE
    return _fit_or_reject(
        rule.name,
        fit(power, committed, unit),
        f"{order.label} needs {unit * order.quantity:,.2f} + {committed:,.2f} "
        f"working > buying power {power:,.2f}",
    )


def _contract_greeks(symbol: str, ctx: RiskContext) -> ContractGreeks | None:
    if option_of(symbol) is not None:
        return ctx.greeks(symbol)
    quote = ctx.quote(symbol)
    return None if quote is None else ContractGreeks(1.0, 0.0, 0.0, 0.0, quote.mid)


def _dollars(symbol: str, signed: int, ctx: RiskContext) -> tuple[float, ...] | None:
    g = _contract_greeks(symbol, ctx)
    if g is None:
        return None
    return dollar_greeks(g, signed, CONTRACT_MULTIPLIER if option_of(symbol) else 1)


def _greek_bounds(limits: GreeksLimits) -> list[tuple[int, float, float]]:
    """(index, low, high) per Greek with a limit; theta only limits the decay paid."""
    out = []
    for i, cap in enumerate(
        (limits.max_abs_delta_dollars, limits.max_abs_gamma_dollars, limits.max_abs_vega_dollars)
    ):
        if cap is not None:
            out.append((i, -cap, cap))
    if limits.max_theta_decay_dollars is not None:
        out.append((3, -limits.max_theta_decay_dollars, math.inf))
    return out


def _fits(total: float, unit: float, low: float, high: float, wanted: int) -> int:
    """Largest q <= wanted keeping total + q x unit in [low, high]; a combo that brings a
    Greek back toward zero is never cut."""
    after = total + unit * wanted
    if low <= after <= high or abs(after) <= abs(total) or unit == 0:
        return wanted
    room = ((high if unit > 0 else low) - total) / unit
    return 0 if room < 0 else min(wanted, math.floor(room))


def _greeks(
    order: MultiLegOrder, econ: ComboEconomics, ctx: RiskContext, rule: RiskRule
) -> Decision:
    limits = getattr(rule, "limits", None)
    if not isinstance(limits, GreeksLimits) or not limits.enabled:
        return APPROVE
    reject_unknown = limits.on_unknown == "reject"
    unit = [0.0, 0.0, 0.0, 0.0]
    for leg in order.legs:  # one combo's Greeks: every leg, signed, times its ratio
        leg_dollars = _dollars(leg.symbol, leg.side.sign * leg.ratio, ctx)
        if leg_dollars is None:
            if reject_unknown:
                return Reject(
                    rule.name,
                    f"Greeks of leg {leg.symbol} unknown: cannot check the portfolio Greeks limits",
                )
            continue
        unit = [a + b for a, b in zip(unit, leg_dollars, strict=True)]
    totals = [0.0, 0.0, 0.0, 0.0]
    for symbol, qty in ctx.exposure().signed_by_symbol.items():
        if not qty:
            continue
        held = _dollars(symbol, qty, ctx)
        if held is None:
            if reject_unknown:
                return Reject(
                    rule.name,
                    f"Greeks of held {symbol} unknown: cannot check the portfolio Greeks limits",
                )
            continue
        totals = [a + b for a, b in zip(totals, held, strict=True)]
    allowed, why = order.quantity, ""
    for i, low, high in _greek_bounds(limits):
        fits = _fits(totals[i], unit[i], low, high, order.quantity)
        if fits < allowed:
            allowed = fits
            after = totals[i] + unit[i] * order.quantity
            why = (
                f"net {GREEKS[i]} $ {totals[i]:,.0f} → {after:,.0f} with "
                f"{order.quantity} x {order.label}, limit {low:,.0f}..{high:,.0f}"
            )
    if allowed >= order.quantity:
        return APPROVE
    return _fit_or_reject(rule.name, allowed, why)


_COMBO_RULES: tuple[tuple[str, ComboRule], ...] = (
    ("max_contracts_per_order", _contracts_per_order),
    ("no_short_options", _naked),
    ("max_position_size", _position_size),
    ("premium_per_trade", _premium_per_trade),
    ("premium_per_day", _premium_per_day),
    ("contracts_per_underlying", _contracts_per_underlying),
    ("same_expiry_exposure", _same_expiry),
    ("buying_power", _buying_power),
    ("greeks", _greeks),
)

__all__ = [
    "COMBO_AWARE",
    "NAME",
    "PER_LEG",
    "ComboEconomics",
    "ComboGate",
    "ComboVerdict",
    "leg_request",
    "naked_legs",
    "payoff_floor",
    "proxy_request",
]
