"""`OptionChain`: one underlying's contracts at one moment, columnar at the core.

A chain is a set of numpy columns sorted by (expiration, right, strike), so building one from a
10,000-contract snapshot is a handful of vectorized passes (OCC parsing, validation, one sort)
and lookups are binary searches or masked argmins. `OptionContract` models are made only for the
rows a caller asks for, and cached. Rows with any quality flag stay in the chain for inspection,
but the lookups skip them unless `valid_only=False`, so bad data never reaches a strategy as if
it were good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from market.contract import OptionContract
from market.instruments import CONTRACT_MULTIPLIER, OptionRight, OptionSymbol, parse_occ_array
from market.validation import (
    DataFlag,
    FlagArray,
    FloatArray,
    count_reasons,
    optional_flags,
    quote_flags,
)

#: Optional numeric columns a chain may carry (NaN = absent).
OPTIONAL_COLUMNS = ("last", "bid_size", "ask_size", "volume", "open_interest", "volume_avg_30d",
                    "delta", "gamma", "theta", "vega", "rho", "implied_volatility", "iv_rank",
                    "iv_percentile")
_INT_COLUMNS = frozenset({"bid_size", "ask_size", "volume", "open_interest"})
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class OptionChain:
    """Contracts of one underlying as of `as_of`. Build with `OptionChain.build`."""

    underlying: str
    as_of: datetime
    underlying_price: float
    symbol: npt.NDArray[np.object_]
    expiration: npt.NDArray[np.datetime64]
    strike: FloatArray
    is_call: npt.NDArray[np.bool_]
    bid: FloatArray
    ask: FloatArray
    underlying_prices: FloatArray
    quote_time_ns: npt.NDArray[np.int64]  # epoch ns; -1 when unknown
    columns: Mapping[str, FloatArray]
    flags: FlagArray
    quote_flags: FlagArray  # the part of `flags` that comes from bid, ask, underlying, age
    dropped: Mapping[str, int] = field(default_factory=dict)  # rows refused at build, by reason
    _groups: dict[tuple[np.datetime64, bool], tuple[int, int]] = field(default_factory=dict)
    _cache: dict[int, OptionContract] = field(default_factory=dict)
    _rows: dict[str, int] = field(default_factory=dict)

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def build(
        cls, underlying: str, as_of: datetime, symbols: Sequence[str] | npt.NDArray[Any], *,
        bid: npt.ArrayLike, ask: npt.ArrayLike, underlying_price: float,
        row_underlying_price: npt.ArrayLike | None = None,
        expiration: npt.ArrayLike | None = None, strike: npt.ArrayLike | None = None,
        is_call: npt.ArrayLike | None = None, quote_time: npt.ArrayLike | None = None,
        max_quote_age: timedelta | None = None, dropped: Mapping[str, int] | None = None,
        **optional: npt.ArrayLike,
    ) -> OptionChain:
        """Validate and index one snapshot given as columns (NaN = absent).

        Without `expiration`/`strike`/`is_call` they are parsed from the OCC `symbols` (any
        form); rows whose symbol does not parse are dropped and counted as `bad_symbol`.
        `row_underlying_price` overrides `underlying_price` per row (vendors stamp each row).
        `quote_time` is epoch nanoseconds or datetime64 per row; with `max_quote_age`, older
        quotes are flagged STALE. `dropped` adds counts of rows a caller refused before.
        """
        if as_of.tzinfo is None:
            raise ValueError("OptionChain needs a timezone-aware as_of")
        unknown = set(optional) - set(OPTIONAL_COLUMNS)
        if unknown:
            raise ValueError(f"unknown chain columns: {sorted(unknown)}")
        names = np.asarray(symbols, dtype=object)
        n = len(names)
        if expiration is None or strike is None or is_call is None:
            parsed = parse_occ_array(names)
            exp_col, strike_col, call_col, keep = (parsed.expiration, parsed.strike,
                                                    parsed.is_call, parsed.ok)
        else:
            exp_col = np.asarray(expiration, dtype="datetime64[D]")
            strike_col = np.asarray(strike, dtype=np.float64)
            call_col = np.asarray(is_call, dtype=np.bool_)
            keep = np.isfinite(strike_col) & (strike_col > 0) & ~np.isnat(exp_col)
        und = np.broadcast_to(np.asarray(
            underlying_price if row_underlying_price is None else row_underlying_price,
            dtype=np.float64), (n,))
        qt = _epoch_ns(quote_time, n)
        cols = {k: np.asarray(v, dtype=np.float64) for k, v in optional.items()}
        _same_length(n, bid=bid, ask=ask, underlying=und, expiration=exp_col, strike=strike_col,
                     is_call=call_col, quote_time=qt, **cols)
        refused = dict(dropped or {})
        if not keep.all():
            refused["bad_symbol"] = int(n - np.count_nonzero(keep))
        order = np.lexsort((strike_col, call_col, exp_col))
        if "bad_symbol" in refused:
            order = order[keep[order]]
        repeated = _repeated(order, names, exp_col, call_col, strike_col)
        if repeated.any():  # a vendor listed a contract twice: keep its last row
            refused["duplicate"] = int(np.count_nonzero(repeated))
            order = order[~repeated]
        take = _taker(order)
        bid_s, ask_s, und_s, qt_s = (take(np.asarray(bid, dtype=np.float64)),
                                     take(np.asarray(ask, dtype=np.float64)), take(und), take(qt))
        call_s = take(call_col)
        cols_s = {k: take(v) for k, v in cols.items()}
        age = None
        if max_quote_age is not None:
            as_of_ns = int(pd.Timestamp(as_of).value)
            age = np.where(qt_s >= 0, (as_of_ns - qt_s) / _NS, 0.0)
        base = quote_flags(bid_s, ask_s, und_s, age,
                           None if max_quote_age is None else max_quote_age.total_seconds())
        flags = base | optional_flags(cols_s, call_s, len(order))
        chain = cls(underlying, as_of, float(underlying_price), take(names), take(exp_col),
                    take(strike_col), call_s, bid_s, ask_s, und_s, qt_s, cols_s, flags, base,
                    refused)
        chain._index()
        return chain

    def _index(self) -> None:
        for arr in (self.expiration, self.strike, self.is_call, self.bid, self.ask, self.flags,
                    self.quote_flags, self.underlying_prices, self.quote_time_ns,
                    *self.columns.values()):
            arr.flags.writeable = False
        n = len(self.strike)
        if n == 0:
            return
        change = np.flatnonzero((self.expiration[1:] != self.expiration[:-1])
                                | (self.is_call[1:] != self.is_call[:-1])) + 1
        starts = np.concatenate(([0], change))
        stops = np.concatenate((change, [n]))
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            self._groups[(self.expiration[start], bool(self.is_call[start]))] = (start, stop)

    def with_columns(self, **values: npt.ArrayLike) -> OptionChain:
        """A new chain with optional columns added or replaced (in this chain's row order), e.g.
        Greeks computed from it; the new values are validated like the rest."""
        unknown = set(values) - set(OPTIONAL_COLUMNS)
        if unknown:
            raise ValueError(f"unknown chain columns: {sorted(unknown)}")
        cols = {**self.columns, **{k: np.asarray(v, dtype=np.float64) for k, v in values.items()}}
        flags = self.quote_flags | optional_flags(cols, self.is_call, len(self))
        chain = OptionChain(self.underlying, self.as_of, self.underlying_price, self.symbol,
                            self.expiration, self.strike, self.is_call, self.bid, self.ask,
                            self.underlying_prices, self.quote_time_ns, cols, flags,
                            self.quote_flags, self.dropped)
        chain._index()
        return chain

    # -- shape -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.strike)

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return self.flags == 0

    @property
    def mid(self) -> FloatArray:
        """Mid per row; NaN where the row is flagged."""
        return np.where(self.valid, (self.bid + self.ask) / 2.0, np.nan)

    @property
    def moneyness(self) -> FloatArray:
        """Strike over underlying price per row (1.0 = at the money)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.strike / self.underlying_prices

    def column(self, name: str) -> FloatArray:
        """An optional column (all NaN when the chain does not carry it)."""
        if name not in OPTIONAL_COLUMNS:
            raise KeyError(f"not a chain column: {name}")
        found = self.columns.get(name)
        return np.full(len(self), np.nan) if found is None else found

    def flag_counts(self) -> dict[str, int]:
        """Rows per quality reason, including the rows refused at build (for metrics)."""
        return {**count_reasons(self.flags), **self.dropped}

    def expirations(self) -> list[date]:
        return sorted({exp.astype(date) for exp, _ in self._groups})

    def strikes(self, expiration: date, right: OptionRight | None = None) -> list[float]:
        rows = [rng for (exp, call), rng in self._groups.items()
                if exp == np.datetime64(expiration)
                and (right is None or call == (right is OptionRight.CALL))]
        return sorted({float(k) for a, b in rows for k in self.strike[a:b]})

    # -- lookups ---------------------------------------------------------------------------------

    def contract(self, row: int) -> OptionContract:
        """The model of one row, made on first use (flags included, whatever they are)."""
        found = self._cache.get(row)
        if found is None:
            found = self._cache[row] = self._materialize(row)
        return found

    def get(self, symbol: str, valid_only: bool = True) -> OptionContract | None:
        """The contract named by any OCC form of `symbol`."""
        if not self._rows:
            self._rows.update((s, i) for i, s in enumerate(self.symbol.tolist()))
        row = self._rows.get(symbol)
        if row is None:
            parsed = parse_occ_array([symbol])
            if not parsed.ok[0]:
                return None
            exp, strike = parsed.expiration[0].astype(date), float(parsed.strike[0])
            right = OptionRight.CALL if parsed.is_call[0] else OptionRight.PUT
            return self.find(exp, strike, right, valid_only=valid_only)
        return self._pick(row, valid_only)

    def find(self, expiration: date, strike: float, right: OptionRight,
             valid_only: bool = True, root: str | None = None) -> OptionContract | None:
        """The contract at exactly this expiration, strike and right (binary search). When two
        roots list it (SPX and SPXW on a monthly expiry), pass `root`; without it the first
        listed is returned."""
        rng = self._groups.get((np.datetime64(expiration, "D"), right is OptionRight.CALL))
        if rng is None:
            return None
        start, stop = rng
        i = start + int(np.searchsorted(self.strike[start:stop], strike - 5e-4))
        while i < stop and abs(self.strike[i] - strike) < 5e-4:
            if root is None or OptionSymbol.parse(str(self.symbol[i])).root == root:
                return self._pick(i, valid_only)
            i += 1
        return None

    def contracts(self, right: OptionRight | None = None, expiration: date | None = None,
                  valid_only: bool = True) -> list[OptionContract]:
        rows = np.flatnonzero(self._mask(right, expiration, valid_only))
        return [self.contract(int(i)) for i in rows]

    def calls(self, expiration: date | None = None, valid_only: bool = True
              ) -> list[OptionContract]:
        return self.contracts(OptionRight.CALL, expiration, valid_only)

    def puts(self, expiration: date | None = None, valid_only: bool = True
             ) -> list[OptionContract]:
        return self.contracts(OptionRight.PUT, expiration, valid_only)

    def nearest_delta(self, target: float, right: OptionRight, expiration: date | None = None,
                      valid_only: bool = True) -> OptionContract | None:
        """The contract whose delta is closest to `target` (e.g. 0.30 call, -0.25 put); rows
        without a delta are skipped. Ties go to the nearer expiration, then the lower strike."""
        return self._nearest(self.column("delta"), target, right, expiration, valid_only)

    def nearest_moneyness(self, target: float, right: OptionRight,
                          expiration: date | None = None, valid_only: bool = True,
                          ) -> OptionContract | None:
        """The contract whose strike / underlying is closest to `target` (1.0 = at the money,
        1.05 = 5% above the underlying)."""
        return self._nearest(self.moneyness, target, right, expiration, valid_only)

    def atm(self, right: OptionRight, expiration: date | None = None) -> OptionContract | None:
        return self.nearest_moneyness(1.0, right, expiration)

    def moneyness_between(self, low: float, high: float, right: OptionRight | None = None,
                          expiration: date | None = None, valid_only: bool = True,
                          ) -> list[OptionContract]:
        m = self.moneyness
        rows = np.flatnonzero(self._mask(right, expiration, valid_only) & (m >= low) & (m <= high))
        return [self.contract(int(i)) for i in rows]

    def to_frame(self) -> pd.DataFrame:
        """All rows and columns, flags included, for analysis and reports."""
        data: dict[str, Any] = {
            "symbol": self.symbol, "expiration": self.expiration, "strike": self.strike,
            "right": np.where(self.is_call, "C", "P"), "bid": self.bid, "ask": self.ask,
            "underlying_price": self.underlying_prices, "flags": self.flags,
        }
        data.update({k: self.columns[k] for k in OPTIONAL_COLUMNS if k in self.columns})
        return pd.DataFrame(data)

    # -- internals -------------------------------------------------------------------------------

    def _pick(self, row: int, valid_only: bool) -> OptionContract | None:
        return None if valid_only and self.flags[row] else self.contract(row)

    def _mask(self, right: OptionRight | None, expiration: date | None,
              valid_only: bool) -> npt.NDArray[np.bool_]:
        mask = self.valid.copy() if valid_only else np.ones(len(self), dtype=np.bool_)
        if right is not None:
            mask &= self.is_call == (right is OptionRight.CALL)
        if expiration is not None:
            mask &= self.expiration == np.datetime64(expiration, "D")
        return mask

    def _nearest(self, values: FloatArray, target: float, right: OptionRight,
                 expiration: date | None, valid_only: bool) -> OptionContract | None:
        """The row whose value is closest to target; with an expiration, only its slice."""
        start, stop = 0, len(self)
        mask: npt.NDArray[np.bool_] | bool
        if expiration is not None:
            rng = self._groups.get((np.datetime64(expiration, "D"), right is OptionRight.CALL))
            if rng is None:
                return None
            start, stop = rng
            mask = self.flags[start:stop] == 0 if valid_only else True
        else:
            mask = self._mask(right, None, valid_only)
        with np.errstate(invalid="ignore"):
            candidates = np.where(mask, np.abs(values[start:stop] - target), np.nan)
        if np.all(np.isnan(candidates)):
            return None
        return self.contract(start + int(np.nanargmin(candidates)))

    def _materialize(self, row: int) -> OptionContract:
        def value(name: str) -> float | int | None:
            col = self.columns.get(name)
            if col is None or np.isnan(col[row]):
                return None
            return int(col[row]) if name in _INT_COLUMNS else float(col[row])

        def price(arr: FloatArray) -> float | None:
            return None if np.isnan(arr[row]) else float(arr[row])

        qt = int(self.quote_time_ns[row])
        fields: dict[str, Any] = {name: value(name) for name in OPTIONAL_COLUMNS}
        return OptionContract.model_construct(
            symbol=str(self.symbol[row]), underlying=self.underlying,
            strike=float(self.strike[row]), expiration=self.expiration[row].astype(date),
            option_type=OptionRight.CALL if self.is_call[row] else OptionRight.PUT,
            bid=price(self.bid), ask=price(self.ask), timestamp=self.as_of,
            quote_timestamp=None if qt < 0 else _EPOCH + timedelta(microseconds=qt // 1000),
            underlying_price=price(self.underlying_prices), multiplier=CONTRACT_MULTIPLIER,
            flags=DataFlag(int(self.flags[row])), **fields)


def _same_length(n: int, **columns: npt.ArrayLike) -> None:
    wrong = {k: len(np.atleast_1d(v)) for k, v in columns.items()
             if len(np.atleast_1d(v)) != n}
    if wrong:
        raise ValueError(f"chain columns must have one value per symbol ({n}); got {wrong}")


def _repeated(order: npt.NDArray[np.intp], symbols: npt.NDArray[np.object_],
              expiration: npt.NDArray[np.datetime64], is_call: npt.NDArray[np.bool_],
              strike: FloatArray) -> npt.NDArray[np.bool_]:
    """Rows (in `order`) whose symbol appears again later with the same expiry/right/strike:
    the stable sort keeps input order, so the last row of a contract wins. The same expiry,
    right and strike under another root (SPX and SPXW on a monthly expiry) is another
    contract and stays."""
    exp, call, k = expiration[order], is_call[order], strike[order]
    same_key = (exp[1:] == exp[:-1]) & (call[1:] == call[:-1]) & (k[1:] == k[:-1])
    repeated = np.zeros(len(order), dtype=np.bool_)
    if not same_key.any():
        return repeated
    starts = np.flatnonzero(same_key & ~np.concatenate(([False], same_key[:-1])))
    for start in starts.tolist():  # rare: runs of equal keys, compared as text
        stop = start + 1
        while stop < len(same_key) and same_key[stop]:
            stop += 1
        seen: set[str] = set()
        for i in range(stop, start - 1, -1):  # from the last row back: later rows win
            name = symbols[order[i]]
            repeated[i] = name in seen
            seen.add(name)
    return repeated


def _epoch_ns(values: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int64]:
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    if isinstance(values, pd.Series | pd.DatetimeIndex) and \
            pd.api.types.is_datetime64_any_dtype(values.dtype):  # naive = UTC, aware: any zone
        ns = np.asarray(pd.DatetimeIndex(values).asi8, dtype=np.int64)
        return np.where(pd.isna(values), -1, ns)
    arr = np.asarray(values)
    if arr.dtype == object:  # aware datetimes / Timestamps
        arr = pd.to_datetime(pd.Series(arr), utc=True).dt.tz_localize(None).to_numpy()
    if np.issubdtype(arr.dtype, np.datetime64):
        ns = arr.astype("datetime64[ns]")
        return np.where(np.isnat(ns), -1, ns.astype(np.int64))
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    as_float = arr.astype(np.float64)
    return np.where(np.isfinite(as_float), as_float, -1).astype(np.int64)


def _taker(order: npt.NDArray[np.intp]) -> Any:
    def take(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.ascontiguousarray(arr[order])
    return take
