"""Option chain snapshot: parse + validate + index 10,000 contracts, and lookups.

Data: the shipped real GOOG chain of 2015-12-24 (2,192 contracts, QuantConnect's IV and Greeks,
close as both sides) with the replay file's real 10:00 quotes, tiled onto 5 expiration sets (the
original dates shifted by 0-4 years) to make 10,960 distinct contracts; 10,000 are taken.

Measured, median CPU time of repeated runs (one core):
1. `OptionChain.build` from columns: OCC symbols parsed (numpy), every row validated (missing,
   NaN, negative, crossed, stale, out of range), sorted and indexed by expiry/right/strike.
2. Peers in the same run: the same parse + validation with pandas string methods and boolean
   masks (the usual DataFrame approach), and one pydantic `OptionContract` per row.
3. The Massive path: the client's `OptionContractSnapshot` objects → `OptionChain`.
4. End to end with the Greeks engine (`market.greeks.chain.with_greeks`): build + IV + Greeks.
5. Lookups on the built chain: nearest delta, exact strike, by symbol.

Run: `make bench` or `.venv/bin/python bench/bench_chain.py`. Figures only; nothing asserts.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from massive.rest.models import OptionContractSnapshot  # noqa: E402

from market.calendar import ExchangeCalendar  # noqa: E402
from market.chain import OptionChain  # noqa: E402
from market.contract import OptionContract  # noqa: E402
from market.feeds.massive_convert import chain_from_snapshots  # noqa: E402
from market.greeks.chain import with_greeks  # noqa: E402
from market.instruments import OptionRight, OptionSymbol  # noqa: E402

N = 10_000
AS_OF = datetime(2015, 12, 24, 15, 1, tzinfo=UTC)
CHAIN = ROOT / "tests" / "market" / "data" / "GOOG_2015-12-24_chain.csv.gz"
QUOTES = ROOT / "data" / "replay" / "GOOG_2015-12-24_quotes.csv.gz"


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median CPU seconds of `repeat` runs after one warm-up. CPU time, not wall time: the
    figures should not depend on what else the machine is running."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def real_rows() -> pd.DataFrame:
    chain = pd.read_csv(CHAIN)
    quotes = pd.read_csv(QUOTES)
    quotes = quotes[quotes.timestamp <= "2015-12-24T10:00:00-05:00"].groupby("occ_symbol").tail(1)
    df = chain.merge(quotes[["occ_symbol", "bid_close", "ask_close", "bid_size", "ask_size",
                             "timestamp"]], on="occ_symbol", how="left")
    tiles = []
    for years in range(5):
        tile = df.copy()
        exp = pd.to_datetime(tile.expiration) + pd.DateOffset(years=years)
        tile["expiration"] = exp.dt.date
        tile["occ_symbol"] = [OptionSymbol(r, e, OptionRight(x), k).occ for r, e, x, k in
                              zip(tile.root, tile.expiration, tile.right, tile.strike,
                                  strict=True)]
        tiles.append(tile)
    out = pd.concat(tiles, ignore_index=True).head(N)
    out["quote_time"] = pd.to_datetime(out.timestamp, utc=True) + pd.Timedelta(minutes=1)
    return out


def build_ours(df: pd.DataFrame, symbols: list[str], qt: np.ndarray) -> OptionChain:
    return OptionChain.build(
        "GOOG", AS_OF, symbols, bid=df.bid_close.to_numpy(), ask=df.ask_close.to_numpy(),
        underlying_price=750.0, quote_time=qt, max_quote_age=timedelta(minutes=5),
        bid_size=df.bid_size.to_numpy(), ask_size=df.ask_size.to_numpy(),
        delta=df.delta.to_numpy(), gamma=df.gamma.to_numpy(), vega=df.vega.to_numpy(),
        theta=df.theta.to_numpy(), implied_volatility=df.implied_volatility.to_numpy(),
        volume=df.volume.to_numpy(), open_interest=df.open_interest.to_numpy())


def build_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """The DataFrame way: string slicing for the OCC fields, boolean masks for the checks."""
    s = pd.Series(df.occ_symbol.to_numpy())
    tail = s.str[-15:]
    out = pd.DataFrame({
        "root": s.str[:-15].str.strip(),
        "expiration": pd.to_datetime(tail.str[:6], format="%y%m%d"),
        "is_call": tail.str[6] == "C",
        "strike": tail.str[7:].astype(np.int64) / 1000.0,
        "bid": df.bid_close.to_numpy(), "ask": df.ask_close.to_numpy(),
        "delta": df.delta.to_numpy(), "iv": df.implied_volatility.to_numpy(),
    })
    age = (pd.Timestamp(AS_OF) - pd.Series(df.quote_time.to_numpy())).dt.total_seconds()
    bad = (out.bid.isna() | out.ask.isna() | (out.ask <= 0) | (out.bid < 0) | (out.bid > out.ask)
           | (age > 300) | (out.delta.abs() > 1) | (out.iv < 0))
    out["valid"] = ~bad
    return out.sort_values(["expiration", "is_call", "strike"])


def build_pydantic(df: pd.DataFrame) -> list[OptionContract]:
    out = []
    r: Any
    for r in df.itertuples():
        out.append(OptionContract(
            symbol=r.occ_symbol, underlying="GOOG", strike=r.strike, expiration=r.expiration,
            option_type=r.right, bid=None if pd.isna(r.bid_close) else r.bid_close,
            ask=None if pd.isna(r.ask_close) else r.ask_close, delta=r.delta, gamma=r.gamma,
            implied_volatility=r.implied_volatility, timestamp=AS_OF, underlying_price=750.0))
    return out


def massive_snapshots(df: pd.DataFrame) -> list[Any]:
    ns = (df.quote_time.astype("int64")).to_numpy()
    items = []
    for i, r in enumerate(df.itertuples()):
        items.append(OptionContractSnapshot.from_dict({
            "details": {"ticker": f"O:{r.occ_symbol}", "strike_price": r.strike,
                        "expiration_date": str(r.expiration), "shares_per_contract": 100,
                        "contract_type": "call" if r.right == "C" else "put"},
            "last_quote": {"bid": r.bid_close, "ask": r.ask_close, "bid_size": r.bid_size,
                           "ask_size": r.ask_size, "last_updated": int(ns[i])},
            "greeks": {"delta": r.delta, "gamma": r.gamma, "theta": r.theta, "vega": r.vega},
            "implied_volatility": r.implied_volatility, "open_interest": r.open_interest,
            "day": {"volume": r.volume}, "underlying_asset": {"price": 750.0}}))
    return items


def main() -> None:
    df = real_rows()
    symbols = df.occ_symbol.tolist()
    qt = df.quote_time.to_numpy()  # an object array of aware Timestamps: the slow path
    qt_ns = df.quote_time.astype("int64").to_numpy()
    chain = build_ours(df, symbols, qt_ns)
    print(f"chain: {len(chain):,} contracts, {len(chain.expirations())} expirations; "
          f"flagged: { {k: v for k, v in chain.flag_counts().items() if v} }")

    ours = timed(lambda: build_ours(df, symbols, qt_ns), 30)
    with_datetimes = timed(lambda: build_ours(df, symbols, qt), 10)
    pandas_way = timed(lambda: build_pandas(df), 10)
    pydantic_way = timed(lambda: build_pydantic(df), 2)
    snaps = massive_snapshots(df)
    massive_way = timed(lambda: chain_from_snapshots("GOOG", snaps, AS_OF,
                                                     timedelta(minutes=5)), 5)
    print(f"\n{N:,}-contract snapshot, parse + validate + index (median, one core):")
    print(f"  OptionChain.build (numpy columns)         {ours * 1e3:8.2f} ms")
    print(f"  same, quote times as aware datetimes      {with_datetimes * 1e3:8.2f} ms")
    print(f"  peer: pandas str methods + masks          {pandas_way * 1e3:8.2f} ms  "
          f"({pandas_way / ours:.1f}x ours)")
    print(f"  peer: one pydantic OptionContract per row {pydantic_way * 1e3:8.2f} ms  "
          f"({pydantic_way / ours:.0f}x ours)")
    print(f"  Massive client objects -> OptionChain     {massive_way * 1e3:8.2f} ms  "
          "(attribute reads of the client's models dominate)")
    calendar = ExchangeCalendar()
    with_greeks(chain, 0.0025, 0.0, calendar)  # warm the calendar's per-day caches
    end_to_end = timed(lambda: with_greeks(build_ours(df, symbols, qt_ns), 0.0025, 0.0,
                                           calendar), 10)
    print(f"  + IV and five Greeks (market.greeks)      {end_to_end * 1e3:8.2f} ms  "
          "(issue target: under 20 ms)")

    exp = date(2016, 1, 15)
    lookups = {
        "nearest_delta(0.30, call, expiry)": lambda: chain.nearest_delta(0.30, OptionRight.CALL,
                                                                         exp),
        "nearest_delta(-0.25, put, any expiry)": lambda: chain.nearest_delta(-0.25,
                                                                             OptionRight.PUT),
        "find(expiry, 750, call)": lambda: chain.find(exp, 750.0, OptionRight.CALL),
        "get(symbol)": lambda: chain.get("GOOG160115C00750000"),
        "atm(call, expiry)": lambda: chain.atm(OptionRight.CALL, exp),
    }
    print("\nlookups on the built chain (median):")
    for name, fn in lookups.items():
        print(f"  {name:<40} {timed(fn, 200) * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
