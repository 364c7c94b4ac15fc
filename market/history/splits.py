"""Split adjustment at query time: the store keeps what was traded, readers ask for a basis.

A stored bar is never rewritten: a split announced later would otherwise force rewriting years
of partitions, and two readers could not disagree about the basis. Instead a reader names the
*basis* — the day whose share count prices are expressed in — and every row dated before a
split executed on or before the basis is adjusted. A backtest over 2014 therefore adjusts to
2014's last day and never learns about AAPL's 2020 split (no look-ahead).

Stocks (as Massive's `adjusted=true` aggregates): prices × f, share counts ÷ f, with
f = Π split_from / split_to over the splits between the row's day and the basis.

Options follow what OCC does to listed contracts on the execution date:

- a forward split with a whole ratio n (2:1, 4:1, 7:1): every contract becomes n contracts,
  strikes are divided by n and rounded to the cent (AAPL 650 → 92.86 on 2014-06-09), the
  deliverable stays 100 shares. Adjusted: price ÷ n, contract counts × n, strike as OCC's, and
  the symbol rewritten with that strike, so it is the key of the post-split series.
- any other ratio (3:2, reverse 1:10): the contract count and strike stay, the deliverable
  becomes 100 × ratio shares (150, 10). OCC gives such series a new root we cannot know, so
  the symbol stays; the `deliverable` column says what one contract now delivers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from market.history.errors import HistoryError
from market.history.store import HistoryStore

PRICE_COLUMNS = ("open", "high", "low", "close", "price", "bid_price", "ask_price", "vwap")
SHARE_COLUMNS = ("volume", "size", "bid_size", "ask_size")
CONTRACT_COLUMNS = ("volume", "size", "bid_size", "ask_size", "open_interest")
UNDERLYING_PRICE_COLUMNS = ("underlying_close",)
TIME_COLUMNS = ("window_start", "sip_timestamp")
STANDARD_DELIVERABLE = 100.0
_EXCHANGE_TZ = "America/New_York"
_EPOCH = date(1970, 1, 1)


class MissingSplits(HistoryError):
    """An adjusted read of an underlying whose splits were never fetched (not "no splits")."""

    def __init__(self, underlying: str) -> None:
        super().__init__(
            f"no splits stored for {underlying}: fetch them first (tradefly data fetch "
            f"--from <any day> --datasets splits --underlyings {underlying})"
        )


@dataclass(frozen=True, slots=True)
class Split:
    """One split as Massive reports it: `split_to` new shares for `split_from` old ones,
    trading on the new count from `execution_date` (the ex-date) on."""

    execution_date: date
    split_from: float
    split_to: float

    @property
    def ratio(self) -> float:
        return self.split_to / self.split_from

    @property
    def whole(self) -> bool:
        """A forward split by a whole number: OCC multiplies contracts and divides strikes."""
        return self.ratio > 1 and math.isclose(self.ratio, round(self.ratio), abs_tol=1e-9)


@dataclass(frozen=True, slots=True)
class _DayTerms:
    """How the rows of one day change to reach the basis."""

    stock_factor: float  # stock prices × this, share counts ÷ this
    contracts: float  # option contract counts × this; option prices ÷ this
    whole_ratios: tuple[int, ...]  # strike divisions, in execution order (rounded each time)
    deliverable: float  # shares one adjusted contract delivers


def _round_cent(values: np.ndarray) -> np.ndarray:
    """Nearest cent, halves up (as OCC publishes adjusted strikes); float noise ignored."""
    return np.floor(values * 100.0 + 0.5 + 1e-7) / 100.0


class SplitAdjuster:
    """Adjusts tables read from the store to the share basis of one day."""

    def __init__(self, splits: Iterable[Split], basis: date | None = None) -> None:
        ordered = sorted(splits, key=lambda s: s.execution_date)
        self.splits = tuple(s for s in ordered if basis is None or s.execution_date <= basis)
        self.basis = basis

    @classmethod
    def from_table(cls, table: pa.Table, basis: date | None = None) -> SplitAdjuster:
        rows = table.select(["execution_date", "split_from", "split_to"]).to_pylist()
        return cls(
            (
                Split(r["execution_date"], float(r["split_from"]), float(r["split_to"]))
                for r in rows
                if r["execution_date"] and r["split_from"] and r["split_to"]
            ),
            basis,
        )

    @classmethod
    def from_store(
        cls, store: HistoryStore, underlying: str, basis: date | None = None
    ) -> SplitAdjuster:
        table = store.read("splits", None, underlying.upper())
        if table is None:
            raise MissingSplits(underlying.upper())
        return cls.from_table(table, basis)

    def pending(self, day: date) -> tuple[Split, ...]:
        """The splits a row of `day` has not seen yet, oldest first."""
        return tuple(s for s in self.splits if day < s.execution_date)

    def factor(self, day: date) -> float:
        """Stock price multiplier from `day`'s share count to the basis."""
        return math.prod(1.0 / s.ratio for s in self.pending(day))

    def _terms(self, pending: tuple[Split, ...]) -> _DayTerms:
        contracts, deliverable, whole = 1.0, STANDARD_DELIVERABLE, []
        for split in pending:
            if split.whole:
                contracts *= round(split.ratio)
                whole.append(round(split.ratio))
            else:
                deliverable *= split.ratio
        factor = math.prod(1.0 / s.ratio for s in pending)
        return _DayTerms(factor, contracts, tuple(whole), deliverable)

    def _regimes(self, table: pa.Table, day: date | None) -> list[tuple[_DayTerms, np.ndarray]]:
        """The rows grouped by the splits still pending on their day (one group per regime,
        so the work is per split, not per day or per row)."""
        days = _row_days(table, day)
        edges = np.array([(s.execution_date - _EPOCH).days for s in self.splits], dtype=np.int64)
        regime = np.searchsorted(edges, days, side="right")  # splits executed on or before
        return [(self._terms(self.splits[r:]), regime == r) for r in np.unique(regime).tolist()]

    # -- tables ----------------------------------------------------------------------------

    def stock(self, table: pa.Table, day: date | None = None) -> pa.Table:
        """Stock bars, trades or quotes in basis terms, with the `split_factor` applied."""
        factors = np.ones(table.num_rows)
        for terms, rows in self._regimes(table, day):
            factors[rows] = terms.stock_factor
        out = table
        for name in PRICE_COLUMNS:
            out = _scale(out, name, factors)
        for name in SHARE_COLUMNS:
            out = _scale(out, name, 1.0 / factors)
        return _set(out, "split_factor", pa.array(factors))

    def options(self, table: pa.Table, day: date | None = None) -> pa.Table:
        """Option rows in basis terms, as OCC adjusted the contracts (module docstring).

        Adds `raw_symbol` (as stored), `deliverable` (shares per contract) and
        `split_factor` (the underlying's price factor); rewrites `symbol` and `strike`.
        """
        n = table.num_rows
        contracts, deliverable, stock = np.ones(n), np.full(n, STANDARD_DELIVERABLE), np.ones(n)
        strike = table.column("strike").to_numpy(zero_copy_only=False).astype(float)
        for terms, rows in self._regimes(table, day):
            contracts[rows] = terms.contracts
            deliverable[rows] = terms.deliverable
            stock[rows] = terms.stock_factor
            for ratio in terms.whole_ratios:
                strike[rows] = _round_cent(strike[rows] / ratio)
        out = _set(table, "raw_symbol", table.column("symbol"))
        for name in PRICE_COLUMNS:
            out = _scale(out, name, 1.0 / contracts)
        for name in CONTRACT_COLUMNS:
            out = _scale(out, name, contracts)
        for name in UNDERLYING_PRICE_COLUMNS:
            out = _scale(out, name, stock)
        out = _set(out, "strike", pa.array(strike))
        out = _set(out, "symbol", _symbols(table.column("symbol"), strike))
        out = _set(out, "deliverable", pa.array(deliverable))
        return _set(out, "split_factor", pa.array(stock))


def _row_days(table: pa.Table, day: date | None) -> np.ndarray:
    """Each row's session date as days since 1970-01-01: the Hive `date` column, else the
    exchange-local date of its time column, else the `day` the caller read it for."""
    if "date" in table.column_names:
        dates = pc.cast(table.column("date"), pa.date32())
    elif day is not None:
        return np.full(table.num_rows, (day - _EPOCH).days, dtype=np.int64)
    else:
        name = next((c for c in TIME_COLUMNS if c in table.column_names), None)
        if name is None:
            raise ValueError("cannot date the rows: no date or time column; pass day=")
        column = table.column(name)
        if not pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.timestamp("ns", tz="UTC"))
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        local = pc.local_timestamp(pc.cast(column, pa.timestamp("ns", tz=_EXCHANGE_TZ)))
        dates = pc.cast(local, pa.date32())
    return pc.cast(dates, pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _scale(table: pa.Table, name: str, by: np.ndarray) -> pa.Table:
    if name not in table.column_names:
        return table
    column = table.column(name)
    scaled = pc.multiply(pc.cast(column, pa.float64()), pa.array(by))
    return _set(table, name, scaled)


def _set(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def _symbols(raw: pa.ChunkedArray | pa.Array, strikes: np.ndarray) -> pa.Array:
    """Compact OCC symbols with the strike field rewritten (root, expiry and right kept)."""
    head = pc.cast(pc.utf8_slice_codeunits(raw, 0, -8), pa.string())
    digits = pa.array(np.rint(strikes * 1000).astype(np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(head, pc.utf8_lpad(digits, 8, "0"), "")


def adjusted_basis(days: Sequence[date]) -> date | None:
    """The default basis of a read: its last day (what a trader saw then)."""
    return max(days) if days else None
