# mypy: disallow-untyped-defs=False
"""Peer engines on the benchmark's bars: run by bench_backtest.py in a throwaway venv
(/tmp/peers), never imported by TradeFly. backtesting.py is AGPL and backtrader GPL: they
must stay out of our lock file, so they only ever run here, as a separate process.

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


def main():
    path, fast, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    for runner in (run_backtesting, run_backtrader):
        try:
            print(json.dumps(runner(df, fast, slow)), flush=True)
        except ImportError as exc:
            print(json.dumps({"engine": runner.__name__, "error": str(exc)}), flush=True)


if __name__ == "__main__":
    main()
