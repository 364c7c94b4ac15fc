"""History store benchmark: ingest speed and memory, query latency, size on disk.

Run: `.venv/bin/python bench/bench_history.py` (part of `make bench`; about 1–2 minutes).

SYNTHETIC DATA, FOR THIS BENCHMARK ONLY: the flat files and the one-year store below are
generated here (random prices in Massive's documented minute-aggregate layout) because the
project ships no year of data. The size comparison at the end also uses the real shipped GOOG
day. Every figure is printed; nothing is asserted.

Peers measured in the same run: pandas `read_csv` + `to_parquet` (ingest) and Polars
`scan_parquet` (query).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from market.calendar import ExchangeCalendar  # noqa: E402
from market.history.datasets import OPTIONS_MINUTE  # noqa: E402
from market.history.importer import import_shipped  # noqa: E402
from market.history.ingest import commit_ingest, ingest_stream, store_schema  # noqa: E402
from market.history.query import HistoryQuery  # noqa: E402
from market.history.rest import SPLIT_SCHEMA  # noqa: E402
from market.history.store import HistoryStore  # noqa: E402

UNDERLYINGS = ["SPY", "QQQ", "IWM", "AAPL", "TSLA", "NVDA", "AMZN", "META", "MSFT", "AMD"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- synthetic flat file ----------------------------------------------------------------------

def write_flat_file(path: Path, rows: int, seed: int = 7) -> None:
    """A gzip CSV in Massive's options minute-aggregate layout, sorted by ticker like theirs."""
    rng = np.random.default_rng(seed)
    chunk = 500_000
    start = int(datetime(2024, 8, 16, 13, 30, tzinfo=UTC).timestamp()) * 10**9
    with pa.CompressedOutputStream(str(path), "gzip") as out:
        writer = None
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            idx = np.arange(first, first + n)
            contract = idx // 390
            und = np.array(UNDERLYINGS)[contract % len(UNDERLYINGS)]
            strike = 100_000 + (contract // len(UNDERLYINGS)) % 400 * 1000
            right = np.where(contract % 2 == 0, "C", "P")
            ticker = np.char.add(np.char.add(np.char.add("O:", und), "241220"),
                                 np.char.add(right, np.char.zfill(strike.astype(str), 8)))
            price = np.round(rng.uniform(0.05, 50, n), 2)
            table = pa.table({
                "ticker": ticker, "volume": rng.integers(1, 500, n),
                "open": price, "close": np.round(price * 1.01, 2),
                "high": np.round(price * 1.02, 2), "low": np.round(price * 0.99, 2),
                "window_start": start + (idx % 390) * 60 * 10**9,
                "transactions": rng.integers(1, 50, n)})
            if writer is None:
                writer = pcsv.CSVWriter(out, table.schema,
                                        write_options=pcsv.WriteOptions(quoting_style="none"))
            writer.write_table(table)
        assert writer is not None
        writer.close()


# -- child processes (one per measurement, so peak RSS is that measurement's alone) -----------

def child_ingest(path: str, underlyings: str) -> dict[str, float]:
    store = HistoryStore(tempfile.mkdtemp(prefix="bench-ingest-"))
    t0, c0 = time.perf_counter(), cpu_seconds()
    with open(path, "rb") as stream:
        result = ingest_stream(stream, OPTIONS_MINUTE, underlyings.split(","), store)
    commit_ingest(store, OPTIONS_MINUTE, date(2024, 8, 16), result)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    size = sum(p.stat().st_size for p in store.root.rglob("*.parquet"))
    shutil.rmtree(store.root)
    return {"seconds": seconds, "cpu": cpu, "rows": result.source_rows,
            "kept": sum(result.rows.values()),
            "rss_mb": peak_rss_mb(), "parquet_bytes": size}


def child_pandas(path: str) -> dict[str, float]:
    import pandas as pd

    out = Path(tempfile.mkdtemp(prefix="bench-pandas-")) / "day.parquet"
    t0, c0 = time.perf_counter(), cpu_seconds()
    df = pd.read_csv(path)
    df.to_parquet(out, compression="zstd")
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    size = out.stat().st_size
    shutil.rmtree(out.parent)
    return {"seconds": seconds, "cpu": cpu, "rows": len(df), "rss_mb": peak_rss_mb(),
            "parquet_bytes": size}


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- one-year store -----------------------------------------------------------------------------

def build_year(store: HistoryStore, contracts: int) -> tuple[int, str]:
    """A year of SPY and QQQ option minute bars: `contracts` SPY contracts (half as many for
    QQQ), each with all 390 minutes of every 2024 session, written through the store."""
    rng = np.random.default_rng(11)
    schema = store_schema(OPTIONS_MINUTE)
    sessions = ExchangeCalendar().sessions_between(date(2024, 1, 2), date(2024, 12, 31))
    total = 0
    first_symbol = ""
    for und, n_contracts in (("SPY", contracts), ("QQQ", contracts // 2)):
        strikes = 300.0 + np.arange(n_contracts // 2)
        symbols = [f"{und}251219{r}{int(k * 1000):08d}" for k in strikes for r in "CP"]
        first_symbol = first_symbol or symbols[0]
        n = len(symbols) * 390
        fixed = {
            "symbol": pa.array(np.repeat(symbols, 390)),
            "expiration": pa.array(np.full(n, np.datetime64("2025-12-19")), pa.date32()),
            "right": pa.array(np.tile(np.repeat(["C", "P"], 390), len(symbols) // 2)),
            "strike": pa.array(np.repeat(np.repeat(strikes, 2), 390)),
        }
        minute = np.tile(np.arange(390, dtype=np.int64), len(symbols)) * 60 * 10**9
        base = np.round(rng.uniform(0.05, 50, n), 2)
        volume = rng.integers(1, 200, n).astype(float)
        trades = rng.integers(1, 20, n)
        for k, day in enumerate(sessions):
            start = int(datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC).timestamp())
            price = np.roll(base, k)
            table = pa.table({
                **fixed, "volume": np.roll(volume, k), "open": price, "close": price,
                "high": price, "low": price,
                "window_start": pa.array(start * 10**9 + minute).cast(
                    pa.timestamp("ns", tz="UTC")),
                "transactions": np.roll(trades, k)}, schema=schema)
            store.write_table(table, "options_minute", day, und)
            total += n
    return total, first_symbol


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        print("== Ingest: options minute-aggregate flat file → Parquet (SYNTHETIC file)")
        print(f"  (machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
              "wall times scale with it; CPU seconds do not)")
        for rows in (500_000, 3_000_000):
            path = work / f"flat-{rows}.csv.gz"
            write_flat_file(path, rows)
            gz = path.stat().st_size
            ours_all = run_child("ingest", str(path), ",".join(UNDERLYINGS))
            ours_two = run_child("ingest", str(path), "SPY,QQQ")
            peer = run_child("pandas", str(path))
            print(f"  {rows:>9,} rows, {gz / 1e6:6.1f} MB gzip CSV")
            for name, r in (("ours, all underlyings", ours_all), ("ours, SPY+QQQ only", ours_two),
                            ("pandas read_csv+to_parquet", peer)):
                print(f"    {name:<28} {r['rows'] / r['seconds']:>10,.0f} rows/s  "
                      f"{r['seconds']:6.2f} s wall {r['cpu']:6.2f} s CPU  "
                      f"peak RSS {r['rss_mb']:5.0f} MB  "
                      f"parquet {r['parquet_bytes'] / 1e6:6.1f} MB")
            print(f"    store size / gzip CSV: {ours_all['parquet_bytes'] / gz:.2f}")

        print("== Query: a year of option minute bars (SYNTHETIC store, SPY + QQQ, 2024)")
        store = HistoryStore(work / "year")
        t0 = time.perf_counter()
        total, contract = build_year(store, contracts=100)
        print(f"  built {total:,} rows in {time.perf_counter() - t0:.1f} s, "
              f"{sum(p.stat().st_size for p in store.root.rglob('*.parquet')) / 1e6:.0f} MB")
        query = HistoryQuery(store)
        day = date(2024, 8, 16)
        n_day = query.option_minute_bars("SPY", day).num_rows
        t_day = timed(lambda: query.option_minute_bars("SPY", day))
        n_year = query.contract_minute_bars(contract).num_rows
        t_year = timed(lambda: query.contract_minute_bars(contract))
        glob = store.glob("options_minute")
        t_duck_day = timed(lambda: query.sql(
            "SELECT * FROM options_minute WHERE underlying = 'SPY' AND date = ?", [day]))
        t_duck_year = timed(lambda: query.sql(
            "SELECT * FROM options_minute WHERE underlying = 'SPY' AND symbol = ? "
            "ORDER BY window_start", [contract]))
        import polars as pl

        lazy = pl.scan_parquet(glob, hive_partitioning=True)
        t_pl_year = timed(lambda: lazy.filter((pl.col("underlying") == "SPY")
                                              & (pl.col("symbol") == contract)).collect())
        print(f"  one underlying-day ({n_day:,} rows):   ours (file read) {t_day * 1000:7.1f} ms"
              f"   DuckDB SQL over the store {t_duck_day * 1000:7.1f} ms")
        print(f"  one contract, a year ({n_year:,} rows): ours (Polars, pruned files) "
              f"{t_year * 1000:7.1f} ms   DuckDB SQL {t_duck_year * 1000:7.1f} ms   "
              f"Polars on the whole glob {t_pl_year * 1000:7.1f} ms")
        # split-adjusted: a SYNTHETIC 2:1 SPY split on 2024-07-01; the contract at 155 after it
        # was the 310 strike before it (decision 0207)
        store.write_table(pa.table({
            "execution_date": [date(2024, 7, 1)], "split_from": [1.0], "split_to": [2.0],
            "adjustment_type": ["forward_split"], "historical_adjustment_factor": [0.5]},
            schema=SPLIT_SCHEMA), "splits", None, "SPY")
        adjusted = contract[:-8] + "00155000"
        n_adj = query.contract_minute_bars(adjusted, adjusted=True).num_rows
        t_adj = timed(lambda: query.contract_minute_bars(adjusted, adjusted=True))
        print(f"  one contract, a year, split-adjusted ({n_adj:,} rows): ours "
              f"{t_adj * 1000:7.1f} ms   (raw read of one contract above: "
              f"{t_year * 1000:.1f} ms)")
        query.close()

        print("== Size per day: real shipped GOOG 2015-12-24 (gzip CSV vs store)")
        real = HistoryStore(work / "real")
        import_shipped(ROOT / "data" / "replay", real)
        csv_bytes = sum(p.stat().st_size for p in (ROOT / "data" / "replay").glob("*.csv.gz"))
        pq_bytes = sum(p.bytes for p in real.partitions())
        print(f"  gzip CSV {csv_bytes / 1e6:.2f} MB → Parquet (zstd) {pq_bytes / 1e6:.2f} MB "
              f"({pq_bytes / csv_bytes:.2f}×)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, args = sys.argv[2], sys.argv[3:]
        result = child_ingest(*args) if kind == "ingest" else child_pandas(*args)
        print(json.dumps(result))
    else:
        main()
