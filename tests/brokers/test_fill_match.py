"""One execution, two ids (stream vs activity): recognised once, and never two merged into one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brokers.connection import ConnectionChange, ConnectionState
from brokers.fill_match import FillIdentity, same_execution, twin_of
from brokers.orders import Fill, Side

T0 = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)


def fill(
    fill_id: str,
    qty: int = 1,
    price: float = 1.0,
    seconds: float = 0.0,
    cid: str = "tf-1",
    side: Side = Side.BUY,
) -> Fill:
    return Fill(
        fill_id, cid, "AAPL250620C00100000", side, qty, price, T0 + timedelta(seconds=seconds)
    )


def test_same_execution_needs_order_side_size_price_and_nearby_time() -> None:
    a = fill("exec-1")
    assert same_execution(a, fill("act-1", seconds=4.9))
    assert not same_execution(a, fill("act-1", seconds=5.1))
    assert not same_execution(a, fill("act-1", qty=2))
    assert not same_execution(a, fill("act-1", price=1.01))
    assert not same_execution(a, fill("act-1", cid="tf-2"))
    assert not same_execution(a, fill("act-1", side=Side.SELL))


def test_twin_is_the_closest_in_time() -> None:
    assert twin_of(fill("a", seconds=2), [fill("x", seconds=0), fill("y", seconds=3)]) == fill(
        "y", seconds=3
    )
    assert twin_of(fill("a"), [fill("x", qty=2)]) is None


def test_an_activity_takes_the_id_the_stream_gave_its_execution() -> None:
    ids = FillIdentity()
    assert ids.canonical(fill("exec-1"), "stream").fill_id == "exec-1"
    assert ids.canonical(fill("act-1", seconds=0.2), "activity").fill_id == "exec-1"
    assert ids.canonical(fill("act-1", seconds=0.2), "activity").fill_id == "exec-1"  # re-read


def test_whichever_path_comes_first_names_the_execution() -> None:
    ids = FillIdentity()
    assert ids.canonical(fill("act-1"), "activity").fill_id == "act-1"  # reconciliation first
    assert ids.canonical(fill("exec-1"), "stream").fill_id == "act-1"  # then the late event


def test_two_identical_partial_fills_stay_two() -> None:
    ids = FillIdentity()
    live = [
        ids.canonical(fill("exec-1"), "stream"),
        ids.canonical(fill("exec-2", seconds=0.5), "stream"),
    ]
    replayed = [
        ids.canonical(fill("act-1"), "activity"),
        ids.canonical(fill("act-2", seconds=0.5), "activity"),
        ids.canonical(fill("act-3", seconds=1.0), "activity"),
    ]  # the stream missed it
    assert {f.fill_id for f in live} == {"exec-1", "exec-2"}
    assert [f.fill_id for f in replayed] == ["exec-1", "exec-2", "act-3"]


def test_matching_ids_pair_by_id_and_leave_no_stale_twin_behind() -> None:
    ids = FillIdentity()
    ids.canonical(fill("e1"), "stream")
    assert ids.canonical(fill("e1"), "activity").fill_id == "e1"  # ids agree (the usual case)
    # A second, identical execution seen first by reconciliation must not be folded into e1.
    assert ids.canonical(fill("a2", seconds=0.3), "activity").fill_id == "a2"


def test_connection_state_tells_each_change_once() -> None:
    state = ConnectionState("alpaca")
    heard: list[ConnectionChange] = []
    state.add_listener(heard.append)
    assert state.set(True, T0, "listening")
    assert not state.set(True, T0, "listening")
    assert state.set(False, T0 + timedelta(seconds=1), "closed")
    assert not state.set(False, T0 + timedelta(seconds=2), "refused")  # a failed retry
    assert [(c.connected, c.reason) for c in heard] == [(True, "listening"), (False, "closed")]
    assert (state.reason, state.since) == ("closed", T0 + timedelta(seconds=1))
