"""Options held into the close expire on the live path: in the money settle at intrinsic value
(cash exercise), out of the money expire worthless, and the trade list says so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtest.runner import run
from market.data import Quote
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.registry import register
from tests.conftest import make_settings

ITM_CALL, OTM_PUT = "GOOG151224C00740000", "GOOG151224P00700000"


class HoldConfig(StrategyConfig):
    pass


class BuyAndHold(Strategy):
    """Buys one of each contract at its first quote and never sells."""

    name = "buy_and_hold_probe"

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.bought: set[str] = set()

    def on_quote(self, quote: Quote) -> list[Signal]:
        if quote.symbol not in (ITM_CALL, OTM_PUT) or quote.symbol in self.bought:
            return []
        self.bought.add(quote.symbol)
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, quote.symbol, quote.ts, quote.ask,
                       0.7, "hold to expiry", "GOOG")]


register("buy_and_hold_probe", BuyAndHold, HoldConfig)


def test_held_options_settle_at_intrinsic_or_expire_worthless(tmp_path: Path) -> None:
    rows = [{"ts": f"2015-12-24T10:{m:02d}:00-05:00", "symbol": "GOOG", "bid": 747.9,
             "ask": 748.1, "bid_size": 100, "ask_size": 100, "underlying": "GOOG"}
            for m in range(0, 30)]
    rows += [{"ts": "2015-12-24T10:05:00-05:00", "symbol": ITM_CALL, "bid": 8.0, "ask": 8.2,
              "bid_size": 50, "ask_size": 50, "underlying": "GOOG"},
             {"ts": "2015-12-24T10:06:00-05:00", "symbol": OTM_PUT, "bid": 0.05, "ask": 0.10,
              "bid_size": 50, "ask_size": 50, "underlying": "GOOG"}]
    pd.DataFrame(rows).to_csv(tmp_path / "quotes.csv", index=False)
    pd.DataFrame([{"ts": "2015-12-24T09:59:00-05:00", "symbol": s, "price": 1.0, "size": 100,
                   "underlying": "GOOG"} for s in (ITM_CALL, OTM_PUT)]).to_csv(
        tmp_path / "trades.csv", index=False)
    settings = make_settings(
        strategies={"buy_and_hold_probe": {}},
        orders={"flatten_before_close_minutes": 0}, execution={"entry": {"style": "natural"}},
        risk={"disabled_rules": ["spread", "max_position_size", "premium_per_trade"]},
        paper={"commission_per_contract": 0.0})
    result = run(settings, tmp_path)
    by_symbol = {t.symbol: t for t in result.trades}
    assert set(by_symbol) == {ITM_CALL, OTM_PUT}
    call, put = by_symbol[ITM_CALL], by_symbol[OTM_PUT]
    # the call settles at the underlying's last mid 748.00 minus the 740 strike = 8.00
    assert call.exit_price == pytest.approx(8.0)
    assert call.gross_pnl == pytest.approx((8.0 - 8.2) * 100 * call.quantity)
    assert put.exit_price == 0.0  # 700 put with GOOG at 748: worthless
    assert put.gross_pnl == pytest.approx(-0.10 * 100 * put.quantity)
    assert {call.exit_reason, put.exit_reason} == {"expired (settled at intrinsic value)"}
    assert result.open_at_end == 0
