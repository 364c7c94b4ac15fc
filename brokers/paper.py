"""The built-in paper venue: a simulated exchange with its own ledger.

It sits behind the same `Broker` protocol as Alpaca and IBKR and keeps its books (orders,
fills, positions, cash) in its own SQLite file, apart from the bot's store, as a real venue
would. A crash of the bot is therefore reconciled against it exactly as against a real broker.

Fill model (conservative by design, because the spread is an options trader's biggest cost):
- a marketable order fills at the far side of the NBBO (buy at the ask, sell at the bid), never
  at the mid, plus configured slippage;
- no more than the displayed size fills per quote; the rest waits for later quotes;
- a resting limit fills at its limit only when the quote moves to or through it, or a trade
  prints at or through it;
- an order is rejected when the contract has no quote, or a crossed or one-sided one;
- per-contract commission and fees on every fill; options expire at the close (ITM settled at
  intrinsic value, OTM worthless).
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from brokers.base import UpdateListener
from brokers.connection import ConnectionListener
from brokers.multileg import MultiLegOrder
from brokers.orders import (
    Account,
    BrokerOrder,
    BrokerPosition,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
)
from brokers.paper_combo import PaperCombos
from market.clock import Clock
from market.data import Quote, Trade, quote_problem
from market.instruments import CONTRACT_MULTIPLIER, OptionSymbol, is_option_symbol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
  client_order_id TEXT PRIMARY KEY, broker_order_id TEXT NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, quantity INTEGER NOT NULL, order_type TEXT NOT NULL, limit_price REAL,
  status TEXT NOT NULL, filled_quantity INTEGER NOT NULL DEFAULT 0,
  average_fill_price REAL NOT NULL DEFAULT 0, eligible_at TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
  fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, quantity INTEGER NOT NULL, price REAL NOT NULL, commission REAL NOT NULL,
  ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
  symbol TEXT PRIMARY KEY, quantity INTEGER NOT NULL, average_price REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY CHECK (id = 1), cash REAL NOT NULL);
"""


class PaperConfig(BaseModel):
    """How the simulated venue behaves. Defaults are conservative."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    starting_cash: float = Field(100_000.0, gt=0, description="Cash in a new paper account.")
    commission_per_contract: float = Field(
        0.65, ge=0, description="Commission per contract per fill, dollars.")
    fees_per_contract: float = Field(
        0.0, ge=0, description="Regulatory and exchange fees per contract per fill, dollars.")
    slippage: float = Field(
        0.0, ge=0, description="Extra price, against us, on every marketable fill (dollars).")
    latency: timedelta = Field(
        timedelta(0), description="Delay before an order can fill; 0 fills against the "
        "quote in force when it arrives.")
    ledger_path: str = Field(
        ":memory:", description="SQLite file of the venue's own books (':memory:' for "
        "backtests).")


@dataclass(slots=True)
class _Working:
    order: BrokerOrder
    order_type: OrderType
    eligible_at: datetime
    marketable_checked: bool = False


class PaperBroker:
    """A simulated venue with a durable ledger of its own."""

    name = "paper"
    connected = True  # in-process: it cannot become unreachable

    def __init__(self, clock: Clock, config: PaperConfig | None = None) -> None:
        self.config = config or PaperConfig()
        self._clock = clock
        self._listener: UpdateListener = lambda _u: None
        if self.config.ledger_path != ":memory:":
            Path(self.config.ledger_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.config.ledger_path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO account (id, cash) VALUES (1, ?)", (self.config.starting_cash,)
        )
        self._quotes: dict[str, Quote] = {}
        self._working: dict[str, _Working] = {}
        self._by_symbol: dict[str, set[str]] = {}
        self._fill_seq = itertools.count(self._count("fills") + 1)
        self._order_seq = itertools.count(self._count("orders") + 1)
        self._load_working()
        self.combos = PaperCombos(self)  # multi-leg orders: all legs together or none

    # -- protocol -------------------------------------------------------------------------
    def set_listener(self, listener: UpdateListener) -> None:
        self._listener = listener

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Nothing will ever be said: the simulator never disconnects."""

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        self._db.close()

    def submit(self, order: Order) -> None:
        req = order.request
        now = self._clock.now()
        if self._exists(req.client_order_id) or self.combos.exists(req.client_order_id):
            # A venue refuses a duplicate client order id; it never creates a second order.
            self._emit(OrderUpdate(req.client_order_id, OrderStatus.REJECTED, now,
                                   reason="duplicate client order id"))
            return
        broker_id = f"P{next(self._order_seq):08d}"
        eligible = now + self.config.latency
        self._db.execute(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,0,0,?,?)",
            (req.client_order_id, broker_id, req.symbol, req.side.value, req.quantity,
             req.order_type.value, req.limit_price, OrderStatus.ACCEPTED.value,
             eligible.isoformat(), now.isoformat()),
        )
        working = _Working(
            BrokerOrder(req.client_order_id, broker_id, req.symbol, req.side, req.quantity, 0,
                        OrderStatus.ACCEPTED, req.limit_price),
            req.order_type, eligible)
        self._track(working)
        self._emit(OrderUpdate(req.client_order_id, OrderStatus.ACCEPTED, now, broker_id))
        if self.config.latency <= timedelta(0):
            self._work_on_arrival(working)

    def submit_multileg(self, order: MultiLegOrder) -> None:
        """A combo, filled all legs together at the net natural price (`paper_combo`)."""
        self.combos.submit(order)

    def cancel(self, client_order_id: str) -> None:
        if self.combos.cancel(client_order_id):
            return
        working = self._working.get(client_order_id)
        if working is None:
            return
        self._finish(working, OrderStatus.CANCELLED, "cancelled by request")

    async def fetch_open_orders(self) -> list[BrokerOrder]:
        return [w.order for w in self._working.values()] + self.combos.open_orders()

    async def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        row = self._db.execute(
            "SELECT client_order_id, broker_order_id, symbol, side, quantity, filled_quantity,"
            " status, limit_price, average_fill_price FROM orders WHERE client_order_id=?",
            (client_order_id,)).fetchone()
        if row is None:
            return self.combos.fetch(client_order_id)
        return _order_from_row(row)

    async def fetch_fills(self, since: datetime | None = None) -> list[Fill]:
        rows = self._db.execute(
            "SELECT fill_id, client_order_id, symbol, side, quantity, price, commission, ts"
            " FROM fills ORDER BY rowid").fetchall()
        fills = [Fill(r[0], r[1], r[2], Side(r[3]), r[4], r[5], datetime.fromisoformat(r[7]),
                      r[6]) for r in rows]
        return [f for f in fills if since is None or f.ts >= since]

    async def fetch_positions(self) -> list[BrokerPosition]:
        rows = self._db.execute(
            "SELECT symbol, quantity, average_price FROM positions WHERE quantity != 0").fetchall()
        return [BrokerPosition(r[0], r[1], r[2]) for r in rows]

    async def fetch_account(self) -> Account:
        cash = self.cash
        value = sum(p.quantity * self._mark(p.symbol, p.average_price) * CONTRACT_MULTIPLIER
                    for p in await self.fetch_positions())
        return Account(equity=cash + value, cash=cash, buying_power=cash)

    # -- market ---------------------------------------------------------------------------
    def on_quote(self, quote: Quote) -> None:
        if quote_problem(quote) is not None:
            return
        self._quotes[quote.symbol] = quote
        if self.combos.working:
            self.combos.on_quote(quote)
        ids = self._by_symbol.get(quote.symbol)
        if not ids:
            return
        for cid in sorted(ids):
            working = self._working.get(cid)
            if working is not None and quote.ts >= working.eligible_at:
                if not working.marketable_checked:
                    self._work_on_arrival(working)
                else:  # resting: fills once the quote reaches or crosses the limit
                    self._work_marketable(working, quote)

    def on_trade(self, trade: Trade) -> None:
        """A print at or through a resting limit fills it (at the limit)."""
        ids = self._by_symbol.get(trade.symbol)
        if not ids:
            return
        for cid in sorted(ids):
            working = self._working.get(cid)
            if (working is None or working.order.limit_price is None
                    or not working.marketable_checked or trade.ts < working.eligible_at):
                continue
            limit = working.order.limit_price
            through = trade.price <= limit if working.order.side is Side.BUY else (
                trade.price >= limit)
            if through:
                qty = min(working.order.quantity - working.order.filled_quantity, trade.size)
                if qty > 0:
                    self._fill(working, qty, limit, trade.ts)

    def expire_session(self, underlying_prices: dict[str, float]) -> None:
        """At the close: day orders expire; options expiring today settle at intrinsic value."""
        now = self._clock.now()
        for working in list(self._working.values()):
            self._finish(working, OrderStatus.EXPIRED, "day order expired at the close")
        self.combos.expire()
        today = now.date()
        for pos in self._positions_sync():
            if not is_option_symbol(pos.symbol):
                continue
            spec = OptionSymbol.parse(pos.symbol)
            if spec.expiration > today:
                continue
            und = underlying_prices.get(spec.root)
            if und is None:
                continue
            intrinsic = max(0.0, und - spec.strike) if spec.right.value == "C" else max(
                0.0, spec.strike - und)
            self._settle(pos, intrinsic, now)

    def close_position_outside(self, symbol: str, price: float | None = None) -> None:
        """A person closes a position in the broker's own app: the venue books it, the bot is
        not told (reconciliation must notice)."""
        pos = next((p for p in self._positions_sync() if p.symbol == symbol), None)
        if pos is None:
            return
        quote = self._quotes.get(symbol)
        fill_price = price if price is not None else (
            quote.bid if pos.quantity > 0 and quote else quote.ask if quote else pos.average_price)
        side = Side.SELL if pos.quantity > 0 else Side.BUY
        cid = f"manual-{symbol}-{self._clock.now():%H%M%S}"
        fees = self.config.commission_per_contract * abs(pos.quantity)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?)",
                             (f"{cid}-F{next(self._fill_seq)}", cid, symbol, side.value,
                              abs(pos.quantity), fill_price, fees, self._clock.now().isoformat()))
            self._apply_position(symbol, -pos.quantity, fill_price)
            self._db.execute("UPDATE account SET cash = cash + ? WHERE id=1",
                             (pos.quantity * fill_price * CONTRACT_MULTIPLIER - fees,))

    def drop_position(self, symbol: str) -> None:
        """A position vanishes without a fill the bot can see (an assignment booked later)."""
        self._db.execute("UPDATE positions SET quantity = 0 WHERE symbol = ?", (symbol,))

    # -- internals ------------------------------------------------------------------------
    @property
    def cash(self) -> float:
        return float(self._db.execute("SELECT cash FROM account WHERE id=1").fetchone()[0])

    def _work_on_arrival(self, working: _Working) -> None:
        working.marketable_checked = True
        order = working.order
        quote = self._quotes.get(order.symbol)
        if quote is None:
            self._finish(working, OrderStatus.REJECTED, f"no quote for {order.symbol}")
            return
        if quote.bid <= 0 and order.side is Side.SELL:
            self._finish(working, OrderStatus.REJECTED, f"no bid for {order.symbol}")
            return
        self._work_marketable(working, quote)

    def _work_marketable(self, working: _Working, quote: Quote) -> None:
        order = working.order
        far = quote.ask if order.side is Side.BUY else quote.bid
        size = quote.ask_size if order.side is Side.BUY else quote.bid_size
        limit = order.limit_price
        if working.order_type is OrderType.LIMIT and limit is not None and (
            far > limit if order.side is Side.BUY else far < limit
        ):
            return  # not marketable: rests
        price = far + self.config.slippage * order.side.sign
        if limit is not None and working.order_type is OrderType.LIMIT:
            price = min(price, limit) if order.side is Side.BUY else max(price, limit)
        qty = min(order.quantity - order.filled_quantity, max(size, 0))
        if qty > 0 and price > 0:
            self._fill(working, qty, round(price, 4), quote.ts)

    def _fill(self, working: _Working, qty: int, price: float, ts: datetime) -> None:
        order = working.order
        fees = (self.config.commission_per_contract + self.config.fees_per_contract) * qty
        fill = Fill(f"{order.broker_order_id}-F{next(self._fill_seq)}", order.client_order_id,
                    order.symbol, order.side, qty, price, ts, round(fees, 4))
        filled = order.filled_quantity + qty
        avg = (order.average_fill_price * order.filled_quantity + price * qty) / filled
        status = OrderStatus.FILLED if filled >= order.quantity else OrderStatus.PARTIALLY_FILLED
        cash_delta = -order.side.sign * price * qty * CONTRACT_MULTIPLIER - fees
        with self._db:  # one transaction: the venue's books never disagree with themselves
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?)",
                             (fill.fill_id, fill.client_order_id, fill.symbol, fill.side.value,
                              qty, price, fill.commission, ts.isoformat()))
            self._db.execute(
                "UPDATE orders SET status=?, filled_quantity=?, average_fill_price=?"
                " WHERE client_order_id=?", (status.value, filled, avg, order.client_order_id))
            self._apply_position(order.symbol, order.side.sign * qty, price)
            self._db.execute("UPDATE account SET cash = cash + ? WHERE id=1", (cash_delta,))
        working.order = BrokerOrder(order.client_order_id, order.broker_order_id, order.symbol,
                                    order.side, order.quantity, filled, status, order.limit_price,
                                    avg)
        if status is OrderStatus.FILLED:
            self._untrack(working)
        self._emit(OrderUpdate(order.client_order_id, status, ts, order.broker_order_id, fill))

    def _apply_position(self, symbol: str, delta: int, price: float) -> None:
        row = self._db.execute("SELECT quantity, average_price FROM positions WHERE symbol=?",
                               (symbol,)).fetchone()
        qty, avg = (row[0], row[1]) if row else (0, 0.0)
        new_qty = qty + delta
        if new_qty == 0:
            new_avg = 0.0
        elif qty == 0 or (qty > 0) != (new_qty > 0):
            new_avg = price  # opened, or flipped through zero
        elif abs(new_qty) > abs(qty):
            new_avg = (avg * abs(qty) + price * abs(delta)) / abs(new_qty)
        else:
            new_avg = avg  # reduced: cost basis of what is left is unchanged
        self._db.execute(
            "INSERT INTO positions VALUES (?,?,?) ON CONFLICT(symbol) DO UPDATE SET"
            " quantity=excluded.quantity, average_price=excluded.average_price",
            (symbol, new_qty, new_avg))

    def _settle(self, pos: BrokerPosition, price: float, now: datetime) -> None:
        side = Side.SELL if pos.quantity > 0 else Side.BUY
        qty = abs(pos.quantity)
        cid = f"expiry-{pos.symbol}-{now.date().isoformat()}"
        fill = Fill(f"{cid}-F{next(self._fill_seq)}", cid, pos.symbol, side, qty, price, now, 0.0)
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO fills VALUES (?,?,?,?,?,?,?,?)",
                             (fill.fill_id, cid, pos.symbol, side.value, qty, price, 0.0,
                              now.isoformat()))
            self._apply_position(pos.symbol, side.sign * qty, price)
            self._db.execute("UPDATE account SET cash = cash + ? WHERE id=1",
                             (-side.sign * price * qty * CONTRACT_MULTIPLIER,))
        self._emit(OrderUpdate(cid, OrderStatus.FILLED, now, None, fill,
                               reason="expired ITM, settled at intrinsic" if price > 0
                               else "expired worthless"))

    def _finish(self, working: _Working, status: OrderStatus, reason: str) -> None:
        self._db.execute("UPDATE orders SET status=? WHERE client_order_id=?",
                         (status.value, working.order.client_order_id))
        self._untrack(working)
        self._emit(OrderUpdate(working.order.client_order_id, status, self._clock.now(),
                               working.order.broker_order_id, reason=reason))

    def _emit(self, update: OrderUpdate) -> None:
        self._listener(update)

    def _track(self, working: _Working) -> None:
        self._working[working.order.client_order_id] = working
        self._by_symbol.setdefault(working.order.symbol, set()).add(working.order.client_order_id)

    def _untrack(self, working: _Working) -> None:
        cid = working.order.client_order_id
        self._working.pop(cid, None)
        ids = self._by_symbol.get(working.order.symbol)
        if ids is not None:
            ids.discard(cid)

    def _exists(self, client_order_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM orders WHERE client_order_id=?",
                                (client_order_id,)).fetchone() is not None

    def _count(self, table: str) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def _load_working(self) -> None:
        rows = self._db.execute(
            "SELECT client_order_id, broker_order_id, symbol, side, quantity, filled_quantity,"
            " status, limit_price, average_fill_price, order_type, eligible_at FROM orders"
            " WHERE status IN ('accepted', 'partially_filled')").fetchall()
        for r in rows:
            self._track(_Working(_order_from_row(r[:9]), OrderType(r[9]),
                                 datetime.fromisoformat(r[10]), marketable_checked=True))

    def _positions_sync(self) -> list[BrokerPosition]:
        rows = self._db.execute(
            "SELECT symbol, quantity, average_price FROM positions WHERE quantity != 0").fetchall()
        return [BrokerPosition(r[0], r[1], r[2]) for r in rows]

    def _mark(self, symbol: str, default: float) -> float:
        q = self._quotes.get(symbol)
        return q.mid if q is not None else default


def _order_from_row(r: tuple) -> BrokerOrder:  # type: ignore[type-arg]
    return BrokerOrder(r[0], r[1], r[2], Side(r[3]), r[4], r[5], OrderStatus(r[6]), r[7], r[8])
