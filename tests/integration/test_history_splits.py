"""Split adjustment on the real AAPL rows around the 7:1 split of 2014-06-09.

The splits come through the real `massive` client from the local fake REST server (Massive's
documented `/stocks/v1/splits` shape); the bars are the shipped AlgoSeek files imported into
the store. Expected values are computed by hand from the raw CSV rows quoted in each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest

from market.history.config import HistoryConfig
from market.history.fetch import Status, fetch
from market.history.importer import import_shipped
from market.history.query import HistoryQuery
from market.history.rest import ReferenceSource
from market.history.splits import MissingSplits, SplitAdjuster
from market.history.store import HistoryStore
from tests.conftest import SHARED
from tests.integration.fakes.massive_rest import FakeMassiveRest

pytestmark = pytest.mark.integration

DATA = SHARED / "data"
BEFORE, SPLIT_DAY = date(2014, 6, 6), date(2014, 6, 9)
FILES = [
    DATA / "equity_minute" / "AAPL_2014-06-06_1min.csv.gz",
    DATA / "equity_minute" / "AAPL_2014-06-09_1min.csv.gz",
    DATA / "options_minute" / "AAPL_2014-06-06_trades.csv.gz",
    DATA / "options_minute" / "AAPL_2014-06-09_trades.csv.gz",
    DATA / "options_minute" / "AAPL_2014-06-06_open_interest.csv.gz",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryStore]:
    root = tmp_path_factory.mktemp("splits")
    rest = FakeMassiveRest().start()
    try:
        reference = ReferenceSource("k", base_url=rest.url, retries=0, read_timeout=5.0)
        report = fetch(
            HistoryConfig(store=root), BEFORE, SPLIT_DAY, ["AAPL"], ["splits"], reference=reference
        )
        assert [e.status for e in report.events] == [Status.STORED]
    finally:
        rest.stop()
    store = HistoryStore(root)
    import_shipped(FILES, store)
    yield store


@pytest.fixture
def query(store: HistoryStore) -> Iterator[HistoryQuery]:
    q = HistoryQuery(store)
    yield q
    q.close()


def _regular(table: pd.DataFrame, day: date) -> pd.DataFrame:
    local = table.window_start.dt.tz_convert("America/New_York")
    return table[(local.dt.date == day) & (local.dt.strftime("%H:%M") == "15:59")]


def test_stock_minute_bars_across_the_split_are_adjusted_to_the_last_day(query):
    bars = query.stock_bars("AAPL", BEFORE, SPLIT_DAY).to_pandas()
    last_before = _regular(bars, BEFORE).iloc[0]
    last_after = _regular(bars, SPLIT_DAY).iloc[0]

    # AAPL_2014-06-06_1min: 15:59 close 645.57, volume 641,461 (pre-split shares)
    assert last_before.close == pytest.approx(645.57 / 7)  # 92.2243
    assert last_before.volume == pytest.approx(641_461 * 7)
    assert last_before.split_factor == pytest.approx(1 / 7)
    # AAPL_2014-06-09_1min: 15:59 close 93.70, volume 2,414,761: already post-split
    assert last_after.close == pytest.approx(93.70)
    assert last_after.volume == 2_414_761
    assert last_after.split_factor == 1.0


def test_the_raw_rows_stay_raw(query, store):
    raw = query.stock_bars("AAPL", BEFORE, SPLIT_DAY, adjusted=False).to_pandas()
    stored = store.read("stocks_minute", BEFORE, "AAPL").to_pandas()

    assert _regular(raw, BEFORE).iloc[0].close == 645.57
    assert _regular(stored, BEFORE).iloc[0].close == 645.57


def test_a_later_basis_compounds_the_2020_split_like_leans_factor_file(store):
    adjuster = SplitAdjuster.from_store(store, "AAPL")  # every known split (2014 7:1, 2020 4:1)

    # equity_daily/AAPL_daily.csv.gz gives split_factor 0.0357143 for 2014-06-06 and 0.25
    # for 2014-06-09 (LEAN's factor file, back-adjusted to 2021)
    assert adjuster.factor(BEFORE) == pytest.approx(0.0357143, rel=1e-6)
    assert adjuster.factor(SPLIT_DAY) == pytest.approx(0.25)
    assert SplitAdjuster.from_store(store, "AAPL", basis=SPLIT_DAY).factor(BEFORE) == (
        pytest.approx(1 / 7)
    )


def test_a_contract_across_the_split_joins_its_pre_split_series(query):
    bars = query.contract_minute_bars(
        "AAPL140621C00092860", BEFORE, SPLIT_DAY, adjusted=True
    ).to_pandas()
    before = bars[bars.date == BEFORE]
    after = bars[bars.date == SPLIT_DAY]

    # 06-06: AAPL140621C00650000, 233 minute bars, 4,200 contracts, first bar open 12.50 vol 46
    assert len(before) == 233
    assert set(before.raw_symbol) == {"AAPL140621C00650000"}
    assert before.iloc[0].open == pytest.approx(12.50 / 7)
    assert before.iloc[0].volume == 46 * 7
    assert before.volume.sum() == 4_200 * 7
    assert set(before.strike) == {92.86}  # 650 / 7 = 92.857… → 92.86, OCC's adjusted strike
    assert set(bars.deliverable) == {100.0}
    # 06-09: AAPL140621C00092860 as traded, 292 bars, first open 1.67 vol 62
    assert len(after) == 292
    assert after.iloc[0].open == 1.67
    assert after.iloc[0].volume == 62
    assert bars.window_start.is_monotonic_increasing


def test_without_adjustment_the_contract_starts_at_the_split(query):
    bars = query.contract_minute_bars("AAPL140621C00092860", BEFORE, SPLIT_DAY)

    assert bars.num_rows == 292


def test_adjusted_pre_split_series_are_the_post_split_series(query, store):
    """OCC's cent rounding, checked on the whole chain: of the 1,185 series traded on 06-06,
    906 were also traded on 06-09 under their adjusted strike (computed independently in
    pandas from the two trade files: (expiration, right, round(strike / 7, 2)))."""
    adjuster = SplitAdjuster.from_store(store, "AAPL", basis=SPLIT_DAY)
    before = adjuster.options(query.option_minute_bars("AAPL", BEFORE))
    after = query.option_minute_bars("AAPL", SPLIT_DAY)

    pre = set(before.column("symbol").to_pylist())
    post = set(after.column("symbol").to_pylist())
    assert len(pre) == 1_185
    assert len(pre & post) == 906


def test_open_interest_is_counted_in_adjusted_contracts(query):
    days = query.contract_days("AAPL140621C00092860", BEFORE, SPLIT_DAY, adjusted=True).to_pylist()

    # AAPL_2014-06-06_open_interest: AAPL140621C00650000 19,029 contracts → 7 new each
    assert days == [{"date": BEFORE, "open_interest": 19_029 * 7}]


def test_an_adjusted_read_without_stored_splits_says_what_to_fetch(tmp_path):
    store = HistoryStore(tmp_path)
    import_shipped([DATA / "equity_minute" / "AAPL_2014-06-09_1min.csv.gz"], store)
    query = HistoryQuery(store)

    with pytest.raises(MissingSplits, match="--datasets splits"):
        query.stock_bars("AAPL")
    stored = store.read("stocks_minute", SPLIT_DAY, "AAPL")
    assert stored is not None
    assert query.stock_bars("AAPL", adjusted=False).num_rows == stored.num_rows
    query.close()
