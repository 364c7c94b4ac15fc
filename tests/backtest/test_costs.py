"""Costs are always on in a backtest: latency, far-side fills, slippage, partial fills and
per-contract fees, on the live path, checked against a hand-worked trade."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from backtest.runner import run
from market.data import Quote
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.registry import register
from tests.conftest import make_settings

CALL = "GOOG151231C00750000"


class BuyOnceConfig(StrategyConfig):
    pass


class BuyOnce(Strategy):
    """Buys the call once, at the first quote, with a 2.05 limit and a two-minute time stop."""

    name = "buy_once_probe"

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.done = False

    def on_quote(self, quote: Quote) -> list[Signal]:
        if self.done or quote.symbol != CALL:
            return []
        self.done = True
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, CALL, quote.ts, 2.05, 0.8, "probe",
                       "GOOG", stop=1.90, time_stop=timedelta(minutes=2))]


register("buy_once_probe", BuyOnce, BuyOnceConfig)


def _quotes(tmp_path: Path) -> None:
    # (time New York, bid, ask, bid size, ask size) of the call, 2015-12-24
    # The entry policy is "natural": one limit at the ask when the signal fires (2.00; the
    # signal allows up to 2.05), never repriced. Exits (time stop) go at market.
    call = [("10:00:00", 1.90, 2.00, 10, 10),  # signal; the order waits 30 s (latency)
            ("10:00:20", 1.95, 2.05, 10, 10),  # still in flight: no fill
            ("10:00:40", 1.95, 2.00, 10, 10),  # buy 10 @ 2.00 (+0.02 slippage, capped at 2.00)
            ("10:01:00", 1.96, 1.97, 5, 8),  # buy 8 @ 1.97 + 0.02 = 1.99 (only 8 shown)
            ("10:01:30", 2.10, 2.12, 20, 20),  # 2.12 > 2.00 limit: rests
            ("10:02:00", 1.94, 1.96, 10, 10),  # buy the last 6 @ 1.98; time stop fires
            ("10:02:45", 1.98, 2.01, 15, 10),  # sell 15 @ 1.98 - 0.02 = 1.96
            ("10:03:00", 1.97, 2.00, 20, 10)]  # sell the last 9 @ 1.95
    rows = [{"ts": f"2015-12-24T{t}-05:00", "symbol": CALL, "bid": b, "ask": a, "bid_size": bs,
             "ask_size": as_, "underlying": "GOOG"} for t, b, a, bs, as_ in call]
    rows += [{"ts": f"2015-12-24T09:{m:02d}:00-05:00", "symbol": "GOOG", "bid": 748.0,
              "ask": 748.2, "bid_size": 100, "ask_size": 100, "underlying": "GOOG"}
             for m in range(31, 60)]
    pd.DataFrame(rows).to_csv(tmp_path / "quotes.csv", index=False)
    # 50 contracts traded earlier in the session (the liquidity rule wants some volume)
    pd.DataFrame([{"ts": "2015-12-24T09:59:00-05:00", "symbol": CALL, "price": 1.95,
                   "size": 50, "underlying": "GOOG"}]).to_csv(tmp_path / "trades.csv",
                                                              index=False)


def test_a_trade_pays_latency_spread_slippage_partial_fills_and_fees(tmp_path: Path) -> None:
    _quotes(tmp_path)
    settings = make_settings(
        strategies={"buy_once_probe": {}},
        paper={"commission_per_contract": 0.65, "fees_per_contract": 0.05, "slippage": 0.02,
               "latency": "PT30S"},
        # crossing the spread on purpose: this test is about what crossing costs
        execution={"entry": {"style": "natural"}})
    result = run(settings, tmp_path)
    # sizing: 5% of 100,000 over 2.05 x 100 -> 24 contracts (risk 2% to the 1.90 stop allows
    # 133, so the premium cap binds)
    fills = [(f["side"], f["quantity"], f["price"]) for f in result.fill_log]
    assert fills == [("buy", 10, 2.00), ("buy", 8, 1.99), ("buy", 6, 1.98),
                     ("sell", 15, 1.96), ("sell", 9, 1.95)]
    (t,) = result.trades
    # paid (10 x 2.00 + 8 x 1.99 + 6 x 1.98) x 100 = 4,780.00
    # got  (15 x 1.96 + 9 x 1.95) x 100          = 4,695.00
    assert t.gross_pnl == pytest.approx(-85.0)
    assert t.fees == pytest.approx(33.6)  # 48 contracts x (0.65 + 0.05)
    assert t.net_pnl == pytest.approx(-118.6)
    assert t.quantity == 24
    assert t.exit_reason == "time stop"
    assert result.net_pnl == pytest.approx(-118.6)  # the equity curve agrees with the books
