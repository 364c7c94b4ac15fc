# mypy: disallow-untyped-defs=False
"""Peer engines on the benchmark's bars: run by bench_backtest.py in a throwaway venv
(/tmp/peers), never imported by TradeFly. backtesting.py is AGPL, backtrader GPL and
NautilusTrader LGPL: they stay out of our lock file, so they only ever run here, as a separate
process.

Usage: python peer_sma.py BARS.csv FAST SLOW  ->  one JSON line per engine on stdout.
"""

import json
import sys
import time

import pandas as pd


def run_backtesting(df, fast, slow):
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):
        def init(self):
            close = pd.Series(self.data.Close)
            self.f = self.I(lambda: close.rolling(fast).mean().to_numpy())
            self.s = self.I(lambda: close.rolling(slow).mean().to_numpy())

        def next(self):
            if crossover(self.f, self.s):
                if not self.position:
                    self.buy(size=1)
            elif crossover(self.s, self.f) and self.position:
                self.position.close()

    bt = Backtest(df, SmaCross, cash=1e9, commission=0.0, trade_on_close=True)
    start = time.perf_counter()
    stats = bt.run()
    elapsed = time.perf_counter() - start
    return {"engine": "backtesting.py", "seconds": elapsed, "trades": int(stats["# Trades"])}


def run_backtrader(df, fast, slow):
    import backtrader as bt

    class SmaCross(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=fast), bt.ind.SMA(period=slow))
            self.entries = 0

        def next(self):
            if self.cross > 0 and not self.position:
                self.buy(size=1)
                self.entries += 1
            elif self.cross < 0 and self.position:
                self.close()

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(1e9)
    cerebro.broker.set_coc(True)
    cerebro.adddata(bt.feeds.PandasData(dataname=df))
    cerebro.addstrategy(SmaCross)
    start = time.perf_counter()
    (strategy,) = cerebro.run()
    elapsed = time.perf_counter() - start
    return {"engine": "backtrader", "seconds": elapsed, "trades": strategy.entries}


def run_nautilus(df, fast, slow):
    """NautilusTrader's backtest engine: a Python strategy on its Cython core, market orders
    through its risk engine, matching engine and a cash account, one venue, bars only."""
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.indicators import SimpleMovingAverage
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    instrument = TestInstrumentProvider.equity(symbol="SIM", venue="XNAS")
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    frame = df.rename(columns=str.lower)
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    bars = BarDataWrangler(bar_type, instrument).process(frame)

    class SmaCross(Strategy):
        def __init__(self):
            super().__init__()
            self.fast = SimpleMovingAverage(fast)
            self.slow = SimpleMovingAverage(slow)
            self.above = None
            self.held = False
            self.entries = 0

        def on_start(self):
            self.register_indicator_for_bars(bar_type, self.fast)
            self.register_indicator_for_bars(bar_type, self.slow)
            self.subscribe_bars(bar_type)

        def on_bar(self, bar):
            if not self.slow.initialized:
                return
            above = self.fast.value > self.slow.value
            if self.above is not None and above != self.above:
                if above and not self.held:
                    self.submit_order(self.order_factory.market(
                        instrument.id, OrderSide.BUY, Quantity.from_int(1)))
                    self.held = True
                    self.entries += 1
                elif not above and self.held:
                    self.submit_order(self.order_factory.market(
                        instrument.id, OrderSide.SELL, Quantity.from_int(1)))
                    self.held = False
            self.above = above

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    venue = Venue("XNAS")
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                     base_currency=USD, starting_balances=[Money(1_000_000_000, USD)])
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = SmaCross()
    engine.add_strategy(strategy)
    start = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - start
    filled = sum(1 for o in engine.cache.orders() if o.is_closed and o.filled_qty > 0
                 and o.side == OrderSide.BUY)
    engine.dispose()
    return {"engine": "NautilusTrader", "seconds": elapsed, "trades": strategy.entries,
            "filled_entries": filled}


def main():
    path, fast, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    for runner in (run_backtesting, run_backtrader, run_nautilus):
        try:
            print(json.dumps(runner(df, fast, slow)), flush=True)
        except ImportError as exc:
            print(json.dumps({"engine": runner.__name__, "error": str(exc)}), flush=True)
        except Exception as exc:  # a peer's API drift must not hide the others' figures
            print(json.dumps({"engine": runner.__name__, "error": repr(exc)[:300]}), flush=True)


if __name__ == "__main__":
    main()
