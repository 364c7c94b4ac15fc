"""REST reference data through the real `massive` client against a local fake server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from market.history.config import HistoryConfig
from market.history.errors import NotInSubscription, TransientFetchError
from market.history.fetch import Status, fetch
from market.history.rest import ReferenceSource
from market.history.store import HistoryStore
from tests.integration.fakes.massive_rest import FakeMassiveRest

pytestmark = pytest.mark.integration

API_KEY = "rest-key-never-printed"


@pytest.fixture
def rest() -> Iterator[FakeMassiveRest]:
    fake = FakeMassiveRest().start()
    yield fake
    fake.stop()


def client(rest: FakeMassiveRest, read_timeout: float = 5.0) -> ReferenceSource:
    return ReferenceSource(API_KEY, base_url=rest.url, retries=1, connect_timeout=1.0,
                           read_timeout=read_timeout)


def test_contracts_follow_pagination_and_parse_strikes(rest):
    table = client(rest).contracts("A", date(2022, 5, 2))

    assert table.num_rows == 10 + 10  # page 1 + the cursor page
    first = table.slice(0, 1).to_pylist()[0]
    assert first["symbol"] == "A220520C00065000"
    assert first["strike"] == 65.0
    assert first["expiration"] == date(2022, 5, 20)
    assert first["right"] == "C"
    assert first["exercise_style"] == "american"
    assert any("as_of=2022-05-02" in r for r in rest.requests)


def test_open_interest_comes_from_the_chain_snapshot(rest):
    table = client(rest).open_interest("AAPL")

    rows = table.to_pylist()
    assert rows[0]["symbol"] == "AAPL230616C00150000"
    assert rows[0]["open_interest"] == 8133


def test_splits_and_dividends_in_documented_shapes(rest):
    splits = client(rest).splits("AAPL").to_pylist()
    dividends = client(rest).dividends("AAPL").to_pylist()

    assert [(s["execution_date"], s["split_from"], s["split_to"]) for s in splits] == [
        (date(2020, 8, 31), 1.0, 4.0), (date(2014, 6, 9), 1.0, 7.0)]
    assert dividends[0]["ex_dividend_date"] == date(2025, 8, 11)
    assert dividends[0]["cash_amount"] == 0.26


def test_a_403_names_the_dataset_and_hides_the_key(rest):
    rest.refuse.add("/stocks/v1/dividends")

    with pytest.raises(NotInSubscription, match="dividends") as info:
        client(rest).dividends("AAPL")
    assert API_KEY not in str(info.value)


def test_server_errors_past_the_retries_are_transient(rest):
    rest.server_errors["/stocks/v1/splits"] = 5

    with pytest.raises(TransientFetchError, match="splits"):
        client(rest).splits("AAPL")
    assert sum(r.startswith("/stocks/v1/splits") for r in rest.requests) == 2  # 1 + 1 retry


def test_a_stalled_answer_times_out_as_transient(rest):
    rest.stall["/v3/snapshot/options/"] = 5
    rest.stall_seconds = 1.5

    with pytest.raises(TransientFetchError, match="open_interest"):
        client(rest, read_timeout=0.3).open_interest("AAPL")


def test_fetch_stores_reference_data_and_reports_a_refused_dataset(rest, tmp_path):
    rest.refuse.add("/stocks/v1/dividends")
    cfg = HistoryConfig(store=tmp_path / "h", retry_backoff_seconds=0.0)

    report = fetch(cfg, date(2022, 5, 2), date(2022, 5, 3), ["A"],
                   ["contracts", "splits", "dividends", "open_interest"],
                   reference=client(rest), today=date(2022, 5, 3))

    assert set(report.not_in_plan) == {"dividends"}
    assert len(report.of(Status.STORED)) == 4  # 2 days of contracts, splits, open interest
    store = HistoryStore(cfg.store)
    assert store.read("contracts", date(2022, 5, 2), "A").num_rows == 20
    assert store.read("splits", None, "A").num_rows == 0  # stored empty: "A" never split
    assert store.read("open_interest", date(2022, 5, 3), "A").num_rows == 1
    contract_calls = sum(r.startswith("/v3/reference/options/contracts") for r in rest.requests)

    again = fetch(cfg, date(2022, 5, 2), date(2022, 5, 3), ["A"], ["contracts"],
                  reference=client(rest))
    assert again.ok
    assert sum(r.startswith("/v3/reference/options/contracts")
               for r in rest.requests) == contract_calls  # stored days are not asked again
