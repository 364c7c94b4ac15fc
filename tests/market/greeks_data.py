"""Real option quotes as model inputs: GOOG 2015-12-24 (shipped replay) and chain snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from market.calendar import ExchangeCalendar
from market.greeks.expiry import years_to_expiries

ROOT = Path(__file__).resolve().parents[2]
REPLAY = ROOT / "data" / "replay"
CHAINS = ROOT.parent / "shared" / "data" / "option_chains"
RATE = 0.005  # about the 1-month T-bill yield in late December 2015


@dataclass(frozen=True)
class QuoteArrays:
    symbol: np.ndarray
    price: np.ndarray  # NBBO mid
    is_call: np.ndarray
    spot: np.ndarray  # underlying NBBO mid in the same minute
    strike: np.ndarray
    t: np.ndarray  # years, calendar basis, to the expiry close


def goog_quotes(minutes: tuple[str, ...] | None = None) -> QuoteArrays:
    """Two-sided GOOG option quotes of 2015-12-24 (optionally only some minute stamps)."""
    quotes = pd.read_csv(REPLAY / "GOOG_2015-12-24_quotes.csv.gz")
    under = pd.read_csv(REPLAY / "GOOG_2015-12-24_1min.csv.gz")
    under["spot"] = (under.bid_close + under.ask_close) / 2.0
    if minutes is not None:
        quotes = quotes[quotes.timestamp.isin(minutes)]
    quotes = quotes[(quotes.bid_close > 0) & (quotes.ask_close > 0)]
    quotes = quotes.merge(under[["timestamp", "spot"]], on="timestamp").dropna(subset=["spot"])
    calendar = ExchangeCalendar()
    t = np.empty(len(quotes))
    released = pd.to_datetime(quotes.timestamp, utc=True) + pd.Timedelta(minutes=1)
    for stamp, rows in quotes.groupby(released.to_numpy()).indices.items():
        expiries = [date.fromisoformat(e) for e in quotes.expiration.to_numpy()[rows]]
        now = pd.Timestamp(stamp).tz_convert("UTC").to_pydatetime()  # type: ignore[arg-type]
        t[rows] = years_to_expiries(now, expiries, calendar)
    keep = t > 0
    q = quotes[keep]
    return QuoteArrays(
        q.occ_symbol.to_numpy(), ((q.bid_close + q.ask_close) / 2.0).to_numpy(),
        (q.right == "C").to_numpy(), q.spot.to_numpy(), q.strike.to_numpy(dtype=float), t[keep])


def chain_snapshot(name: str) -> pd.DataFrame:
    """One shared chain snapshot with the whole days to expiry it was taken at."""
    chain = pd.read_csv(CHAINS / name)
    chain = chain[(chain.close > 0) & (chain.underlying_close > 0)].copy()
    chain["days"] = (pd.to_datetime(chain.expiration) - pd.to_datetime(chain.date)).dt.days
    return chain[chain.days > 0].reset_index(drop=True)
