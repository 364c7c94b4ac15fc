"""The scalar (one contract) and columnar (whole chain) validators give the same flags."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from market.validation import (
    DataFlag,
    count_reasons,
    optional_flags,
    quote_flags,
    reasons,
    scalar_flags,
)

# values around every boundary the rules have: absent, non-finite, negative, zero, 1, 100
edgy = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 99.0,
                        100.0, 101.0]) | st.floats(-200, 200)
NAMES = ("last", "volume", "delta", "gamma", "implied_volatility", "iv_rank", "theta")


@settings(max_examples=250, deadline=None)
@given(bid=edgy, ask=edgy, und=edgy, is_call=st.booleans(),
       optional=st.dictionaries(st.sampled_from(NAMES), edgy))
def test_scalar_and_vector_rules_agree(bid: float, ask: float, und: float, is_call: bool,
                                       optional: dict[str, float]) -> None:
    present = {k: v for k, v in optional.items() if not math.isnan(v)}
    vector = quote_flags(np.array([bid]), np.array([ask]), np.array([und]))
    vector |= optional_flags({k: np.array([v]) for k, v in present.items()},
                             np.array([is_call]), 1)
    assert scalar_flags(bid, ask, und, present, is_call) == DataFlag(int(vector[0]))


def test_reason_labels_and_counts() -> None:
    flags = np.array([0, DataFlag.CROSSED | DataFlag.STALE, DataFlag.MISSING], dtype=np.uint8)
    assert count_reasons(flags) == {"missing": 1, "nan": 0, "negative": 0, "crossed": 1,
                                    "stale": 1, "out_of_range": 0}
    assert reasons(DataFlag.CROSSED | DataFlag.STALE) == ["crossed", "stale"]


def test_stale_only_with_an_age_limit() -> None:
    one = np.array([1.0])
    assert quote_flags(one, one * 2, one * 100, np.array([120.0]), None)[0] == 0
    assert quote_flags(one, one * 2, one * 100, np.array([120.0]), 60.0)[0] == DataFlag.STALE
