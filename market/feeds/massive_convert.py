"""Massive payloads → our market types: chain snapshots → `OptionChain`, aggregates → `Bar`,
WebSocket quotes/trades/aggregates → `Quote`/`Trade`/`Bar`.

Pure functions over the `massive` client's model objects, so they are tested without a network.
Massive names option contracts `O:` + the OCC symbol; we use the compact OCC symbol everywhere.
Timestamps: the REST snapshot stamps in epoch nanoseconds, the WebSocket and aggregates in epoch
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from market.chain import OptionChain
from market.data import Bar, Quote, Trade
from market.instruments import OptionRight, OptionSymbol

#: Bar spans per Massive timespan word (a daily bar is known at the end of its calendar day).
TIMESPANS = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1),
             "hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_LABEL = {"second": "s", "minute": "m", "hour": "h", "day": "d", "week": "w"}


def plain_symbol(ticker: str) -> str:
    """`O:AAPL240119C00190000` → `AAPL240119C00190000`, `I:SPX` → `SPX`; stocks pass through."""
    return ticker[2:] if ticker.startswith(("O:", "I:")) else ticker


def from_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


def _num(value: Any) -> float:
    """None (absent) → NaN; a sent non-finite number → inf (flagged "nan" by validation)."""
    if value is None:
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.inf


def chain_from_snapshots(underlying: str, snapshots: Iterable[Any], as_of: datetime,
                         max_quote_age: timedelta | None = None) -> OptionChain:
    """Build a chain from `list_snapshot_options_chain` items (`OptionContractSnapshot`).

    Contracts with a non-standard deliverable (shares_per_contract != 100, e.g. after a split
    or a merger) are left out and counted as `nonstandard_deliverable`: their premium is not
    what the symbol suggests. A quote whose `timeframe` is DELAYED is flagged stale whenever a
    `max_quote_age` is given: it is minutes old by construction.
    """
    symbols: list[str] = []
    quote_times: list[int] = []  # epoch ns, exact (a float64 would round them); -1 unknown
    cols: dict[str, list[float]] = {k: [] for k in (
        "bid", "ask", "bid_size", "ask_size", "und", "last", "volume",
        "open_interest", "delta", "gamma", "theta", "vega", "implied_volatility")}
    nonstandard = 0
    for snap in snapshots:
        details = snap.details
        if details is None or not details.ticker:
            nonstandard += 1
            continue
        if details.shares_per_contract not in (None, 100):
            nonstandard += 1
            continue
        quote, trade, day, greeks, und = (snap.last_quote, snap.last_trade, snap.day,
                                          snap.greeks, snap.underlying_asset)
        symbols.append(plain_symbol(details.ticker))
        cols["bid"].append(_num(quote and quote.bid))
        cols["ask"].append(_num(quote and quote.ask))
        cols["bid_size"].append(_num(quote and quote.bid_size))
        cols["ask_size"].append(_num(quote and quote.ask_size))
        delayed = quote is not None and (quote.timeframe or "").upper() == "DELAYED"
        stamp = quote.last_updated if quote is not None else None
        quote_times.append(0 if delayed else -1 if stamp is None else int(stamp))
        cols["und"].append(_num(und and (und.price if und.price is not None else und.value)))
        cols["last"].append(_num(trade and trade.price))
        cols["volume"].append(_num(day and day.volume))
        cols["open_interest"].append(_num(snap.open_interest))
        for name in ("delta", "gamma", "theta", "vega"):
            cols[name].append(_num(greeks and getattr(greeks, name)))
        cols["implied_volatility"].append(_num(snap.implied_volatility))
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    finite_und = arrays["und"][np.isfinite(arrays["und"])]
    chain_price = float(np.median(finite_und)) if len(finite_und) else math.nan
    quote_time = np.asarray(quote_times, dtype=np.int64)
    return OptionChain.build(
        underlying, as_of, symbols, bid=arrays.pop("bid"), ask=arrays.pop("ask"),
        underlying_price=chain_price, row_underlying_price=arrays.pop("und"),
        quote_time=quote_time, max_quote_age=max_quote_age,
        dropped={"nonstandard_deliverable": nonstandard} if nonstandard else None, **arrays)


def contract_symbols(contracts: Iterable[Any]) -> tuple[list[OptionSymbol], int]:
    """`list_options_contracts` items → symbols, and how many were skipped (non-standard
    deliverable, or fields that disagree with the ticker)."""
    found: list[OptionSymbol] = []
    skipped = 0
    for item in contracts:
        try:
            sym = OptionSymbol.parse(item.ticker)
            fields_agree = (
                sym.expiration.isoformat() == item.expiration_date
                and sym.right is OptionRight.parse(item.contract_type)
                and sym.strike_thousandths == round(float(item.strike_price) * 1000))
        except (TypeError, ValueError):
            fields_agree = False
        if not fields_agree or item.shares_per_contract not in (None, 100):
            skipped += 1
            continue
        found.append(sym)
    return found, skipped


def bars_from_aggs(ticker: str, aggs: Iterable[Any], multiplier: int, timespan: str) -> list[Bar]:
    """REST aggregates → bars stamped at their END (when they became known)."""
    span = TIMESPANS[timespan] * multiplier
    label = f"{multiplier}{_LABEL[timespan]}"
    symbol = plain_symbol(ticker)
    bars = []
    for agg in aggs:
        if agg.timestamp is None or agg.close is None:
            continue
        bars.append(Bar(symbol, from_ms(agg.timestamp) + span, float(agg.open), float(agg.high),
                        float(agg.low), float(agg.close), float(agg.volume or 0.0), label))
    return bars


def quote_from_ws(msg: Any, underlying: str) -> Quote:
    return Quote(plain_symbol(msg.symbol), from_ms(msg.timestamp), _num(msg.bid_price),
                 _num(msg.ask_price), int(msg.bid_size or 0), int(msg.ask_size or 0), underlying)


def trade_from_ws(msg: Any, underlying: str) -> Trade:
    return Trade(plain_symbol(msg.symbol), from_ms(msg.timestamp), _num(msg.price),
                 int(msg.size or 0), underlying, str(msg.exchange or ""))


def bar_from_ws(msg: Any) -> Bar:
    """`AM` (minute) or `A` (second) aggregate, stamped at its end."""
    label = "1s" if msg.event_type == "A" else "1m"
    return Bar(plain_symbol(msg.symbol), from_ms(msg.end_timestamp), _num(msg.open),
               _num(msg.high), _num(msg.low), _num(msg.close), float(msg.volume or 0.0), label)


def index_value_from_ws(msg: Any) -> Trade:
    """An index level (`V`) as a print of size 0: the underlying's price, with no volume."""
    symbol = plain_symbol(msg.ticker or "")
    return Trade(symbol, from_ms(int(msg.timestamp)), _num(msg.value), 0, symbol)


def trade_problem(trade: Trade) -> str | None:
    """Why a print must not be used (stable metric labels, like `quote_problem`)."""
    if not math.isfinite(trade.price):
        return "nan"
    if trade.price <= 0 or trade.size < 0:
        return "negative"
    return None


def bar_problem(bar: Bar) -> str | None:
    values = (bar.open, bar.high, bar.low, bar.close)
    if not all(math.isfinite(v) for v in values):
        return "nan"
    if min(values) <= 0 or bar.volume < 0:
        return "negative"
    if bar.high < max(bar.open, bar.close, bar.low) or bar.low > min(bar.open, bar.close):
        return "crossed"  # an impossible bar: high below the body or low above it
    return None
