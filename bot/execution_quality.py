"""Cost of liquidity, per fill and per strategy: what crossing (or not crossing) the spread cost.

For each fill the benchmark is the market when the decision was taken — the NBBO stored with
the first order of its replace chain. Price improvement is measured against the natural price
(what crossing would have paid) and against the mid, in dollars per contract and as a fraction
of the spread; mark-outs say whether the market then moved for or against the fill.
Positive numbers are good for us throughout.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.store import Store
from market.instruments import CONTRACT_MULTIPLIER


@dataclass(frozen=True, slots=True)
class FillQuality:
    fill_id: str
    strategy: str
    side: str
    quantity: int
    price: float
    natural: float
    mid: float
    spread: float
    vs_natural: float  # dollars per contract (x100 shares) better than crossing
    vs_mid: float  # dollars per contract better than the mid (usually negative)
    spread_captured: float  # fraction of the spread saved vs crossing (0 = crossed, 1 = far side)
    markout_1m: float | None  # dollars per contract the mid moved in our favour after 1 minute
    markout_5m: float | None


def assess(fills: list[dict[str, Any]], orders: dict[str, dict[str, Any]]) -> list[FillQuality]:
    """`fills` from `Store.load_fill_quality()`; `orders` maps client id → row with `replaces`,
    `nbbo_bid`, `nbbo_ask`. Fills without a known decision-time NBBO are skipped."""
    out = []
    for f in fills:
        root = _root(f["client_order_id"], orders)
        bid, ask = (root or {}).get("nbbo_bid"), (root or {}).get("nbbo_ask")
        if bid is None or ask is None or ask <= 0 or bid > ask:
            continue
        sign = 1 if f["side"] == "buy" else -1
        natural = ask if sign > 0 else bid
        mid = (bid + ask) / 2
        spread = ask - bid
        price = f["price"]
        vs_natural = (natural - price) * sign * CONTRACT_MULTIPLIER
        vs_mid = (mid - price) * sign * CONTRACT_MULTIPLIER
        captured = ((natural - price) * sign / spread) if spread > 0 else 0.0

        def markout(after: float | None, sign: int = sign, price: float = price) -> float | None:
            return None if after is None else (after - price) * sign * CONTRACT_MULTIPLIER

        out.append(FillQuality(f["fill_id"], f.get("strategy") or "", f["side"], f["quantity"],
                               price, natural, mid, spread, vs_natural, vs_mid, captured,
                               markout(f.get("mid_after_1m")), markout(f.get("mid_after_5m"))))
    return out


def _root(cid: str, orders: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    row = orders.get(cid)
    seen = set()
    while row is not None and row.get("replaces") and row["replaces"] not in seen:
        seen.add(row["replaces"])
        parent = orders.get(row["replaces"])
        if parent is None:
            break
        row = parent
    return row


def summarize(items: list[FillQuality]) -> dict[str, dict[str, float]]:
    """Per strategy: fills, contracts, dollars saved vs crossing, average spread captured and
    contract-weighted average improvement and mark-outs."""
    groups: dict[str, list[FillQuality]] = defaultdict(list)
    for item in items:
        groups[item.strategy or "(manual)"].append(item)
    report = {}
    for name, group in sorted(groups.items()):
        contracts = sum(i.quantity for i in group)
        m1 = [(i.markout_1m, i.quantity) for i in group if i.markout_1m is not None]
        m5 = [(i.markout_5m, i.quantity) for i in group if i.markout_5m is not None]
        report[name] = {
            "fills": len(group),
            "contracts": contracts,
            "saved_vs_natural": round(sum(i.vs_natural * i.quantity for i in group), 2),
            "avg_vs_natural_per_contract": round(
                sum(i.vs_natural * i.quantity for i in group) / contracts, 4),
            "avg_vs_mid_per_contract": round(
                sum(i.vs_mid * i.quantity for i in group) / contracts, 4),
            "avg_spread_captured": round(sum(i.spread_captured for i in group) / len(group), 4),
            "avg_markout_1m_per_contract": _weighted(m1),
            "avg_markout_5m_per_contract": _weighted(m5),
        }
    return report


def _weighted(pairs: list[tuple[float, int]]) -> float:
    total = sum(q for _, q in pairs)
    return round(sum(v * q for v, q in pairs) / total, 4) if total else float("nan")


def from_store(store: Store, since: datetime | None = None) -> list[FillQuality]:
    """Every fill of the store's account (from `since` on, when given), assessed."""
    fills = store.load_fill_quality()
    if since is not None:
        fills = [f for f in fills if f["ts"] >= since]
    orders = {o.client_order_id: {"replaces": o.request.replaces, "nbbo_bid": o.nbbo_bid,
                                  "nbbo_ask": o.nbbo_ask} for o in store.load_orders()}
    return assess(fills, orders)
