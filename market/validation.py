"""Data-quality flags for option contracts, computed column-wise.

One implementation serves a single `OptionContract` and a 10,000-row `OptionChain` alike: the
rules run on numpy arrays, so a whole chain is checked in a few vectorized passes.

Conventions of the columnar form: NaN means "no value" (the vendor sent none), ±inf means a value
that was sent but is not a finite number. Required values (bid, ask, underlying price) that are
absent flag MISSING; optional ones (last, volume, Greeks, IV...) may be absent (not computed yet,
never traded) but, when present, must be finite and in their domain. A zero bid is a real market
state (nobody bids); a zero or absent ask is a one-sided market, flagged MISSING.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import IntFlag

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
FlagArray = npt.NDArray[np.uint8]


class DataFlag(IntFlag):
    """Why a contract's data must not be traded on; 0 (`DataFlag(0)`) means clean."""

    MISSING = 1  # a required value is absent: no bid, no ask (one-sided), no underlying price
    NAN = 2  # a value was sent but is not a finite number
    NEGATIVE = 4  # a price, size, volume, open interest, IV, gamma or vega below zero
    CROSSED = 8  # bid above ask
    STALE = 16  # the quote is older than the allowed age at the snapshot's time
    OUT_OF_RANGE = 32  # |delta| > 1, a call with negative delta, an IV rank outside 0-100, ...


#: Stable metric labels, one per flag (the `reason` label of the dropped-data counters).
REASONS: dict[DataFlag, str] = {
    DataFlag.MISSING: "missing", DataFlag.NAN: "nan", DataFlag.NEGATIVE: "negative",
    DataFlag.CROSSED: "crossed", DataFlag.STALE: "stale", DataFlag.OUT_OF_RANGE: "out_of_range",
}

#: Optional columns that can never be negative when present.
NON_NEGATIVE = ("last", "bid_size", "ask_size", "volume", "open_interest", "volume_avg_30d",
                "gamma", "vega", "implied_volatility")
#: Optional columns with a bounded domain.
PERCENT = ("iv_rank", "iv_percentile")


def reasons(flags: int) -> list[str]:
    """The metric labels of the bits set in `flags`, in a fixed order."""
    return [label for flag, label in REASONS.items() if flags & flag]


def count_reasons(flags: FlagArray) -> dict[str, int]:
    """Rows per reason (a row with two problems counts under both)."""
    return {label: int(np.count_nonzero(flags & flag)) for flag, label in REASONS.items()}


def quote_flags(bid: FloatArray, ask: FloatArray, underlying_price: FloatArray,
                quote_age_seconds: FloatArray | None = None,
                max_quote_age_seconds: float | None = None) -> FlagArray:
    """Flags from the required values: the two sides of the quote and the underlying price."""
    flags = np.zeros(len(bid), dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        absent = np.isnan(bid) | np.isnan(ask) | (ask == 0) | np.isnan(underlying_price)
        flags[absent] |= np.uint8(DataFlag.MISSING)
        flags[np.isinf(bid) | np.isinf(ask) | np.isinf(underlying_price)] |= np.uint8(DataFlag.NAN)
        flags[(bid < 0) | (ask < 0) | (underlying_price < 0)] |= np.uint8(DataFlag.NEGATIVE)
        crossed = (bid > ask) & (ask > 0) & np.isfinite(bid) & np.isfinite(ask)
        flags[crossed] |= np.uint8(DataFlag.CROSSED)
        if quote_age_seconds is not None and max_quote_age_seconds is not None:
            flags[quote_age_seconds > max_quote_age_seconds] |= np.uint8(DataFlag.STALE)
    return flags


def optional_flags(columns: Mapping[str, FloatArray], is_call: npt.NDArray[np.bool_],
                   size: int) -> FlagArray:
    """Flags from the optional values that are present (NaN = absent is fine)."""
    flags = np.zeros(size, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        for name, values in columns.items():
            flags[np.isinf(values)] |= np.uint8(DataFlag.NAN)
            if name in NON_NEGATIVE:
                flags[values < 0] |= np.uint8(DataFlag.NEGATIVE)
            elif name in PERCENT:
                flags[(values < 0) | (values > 100)] |= np.uint8(DataFlag.OUT_OF_RANGE)
        delta = columns.get("delta")
        if delta is not None:
            wrong_sign = np.where(is_call, delta < 0, delta > 0)
            flags[(np.abs(delta) > 1) | wrong_sign] |= np.uint8(DataFlag.OUT_OF_RANGE)
    return flags


def scalar_flags(bid: float, ask: float, underlying_price: float,
                 optional: Mapping[str, float], is_call: bool) -> DataFlag:
    """`quote_flags | optional_flags` for one contract, in plain Python (numpy costs ~100x more
    on one element). Same conventions: NaN = absent, ±inf = sent but not finite. A property
    test holds the two implementations to the same answers."""
    flags = 0
    if math.isnan(bid) or math.isnan(ask) or ask == 0 or math.isnan(underlying_price):
        flags |= DataFlag.MISSING
    if math.isinf(bid) or math.isinf(ask) or math.isinf(underlying_price):
        flags |= DataFlag.NAN
    if bid < 0 or ask < 0 or underlying_price < 0:
        flags |= DataFlag.NEGATIVE
    if bid > ask > 0 and math.isfinite(bid) and math.isfinite(ask):
        flags |= DataFlag.CROSSED
    for name, value in optional.items():
        if math.isinf(value):
            flags |= DataFlag.NAN
        if name in NON_NEGATIVE:
            if value < 0:
                flags |= DataFlag.NEGATIVE
        elif name in PERCENT and (value < 0 or value > 100):
            flags |= DataFlag.OUT_OF_RANGE
    delta = optional.get("delta")
    if delta is not None and (abs(delta) > 1 or (delta < 0 if is_call else delta > 0)):
        flags |= DataFlag.OUT_OF_RANGE
    return DataFlag(flags)
