"""Real OHLCV series for the indicator tests (shipped replay day and the shared data folder)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Series:
    name: str
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    session: np.ndarray  # New York date of each row

    def __len__(self) -> int:
        return len(self.close)


def _minute(paths: list[Path], name: str) -> Series:
    frames = [pd.read_csv(p) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    df = df[df.regular_hours.astype(str) == "True"].dropna(subset=["close"])
    day = df.timestamp.str.slice(0, 10).to_numpy()
    h, lo, c, v = (df[col].to_numpy(float) for col in ("high", "low", "close", "volume"))
    return Series(name, h, lo, c, v, day)


@cache
def goog_replay() -> Series:
    """The shipped GOOG half day (2015-12-24), regular hours."""
    return _minute([ROOT / "data" / "replay" / "GOOG_2015-12-24_1min.csv.gz"], "GOOG-1m")


@cache
def ibm_week() -> Series:
    """IBM minute bars 2013-10-04 .. 10-11: six sessions back to back (overnight gaps)."""
    return _minute(sorted((SHARED / "equity_minute").glob("IBM_2013-10-*_1min.csv.gz")), "IBM-1m")


@cache
def bac_week() -> Series:
    """BAC minute bars: a $14 stock moving in cents, so it has flat windows."""
    return _minute(sorted((SHARED / "equity_minute").glob("BAC_2013-10-*_1min.csv.gz")), "BAC-1m")


@cache
def spy_daily() -> Series:
    """SPY daily bars 1998..2021 (5,849 sessions)."""
    df = pd.read_csv(SHARED / "equity_daily" / "SPY_daily.csv.gz")
    h, lo, c, v = (df[col].to_numpy(float) for col in ("high", "low", "close", "volume"))
    return Series("SPY-1d", h, lo, c, v, df.date.to_numpy())


ALL = (goog_replay, ibm_week, bac_week, spy_daily)
