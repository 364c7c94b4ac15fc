"""The datasets of the history store: where each comes from and how its rows look.

A dataset is one kind of history (option minute aggregates, stock trades, contract reference…).
Flat-file datasets map one-to-one onto a Massive S3 prefix holding one gzip CSV per trading day
(`us_options_opra/minute_aggs_v1/2024/08/2024-08-16.csv.gz`); REST datasets come from the
`massive` client. The CSV columns are the ones Massive documents for its flat files; the stored
Parquet columns are typed and normalised once, at ingest, so no reader parses a ticker again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import pyarrow as pa


class Source(StrEnum):
    FLAT_FILE = "flat_file"
    REST = "rest"
    DERIVED = "derived"


class AssetClass(StrEnum):
    OPTIONS = "options"
    STOCKS = "stocks"


@dataclass(frozen=True, slots=True)
class Dataset:
    """One kind of history: its store name, where it comes from and its CSV column types."""

    name: str
    source: Source
    asset: AssetClass
    description: str
    s3_prefix: str = ""
    csv_types: tuple[tuple[str, pa.DataType], ...] = ()
    time_column: str = ""

    def s3_key(self, day: date) -> str:
        """The flat-file object key of `day` (Massive's documented layout)."""
        if self.source is not Source.FLAT_FILE:
            raise ValueError(f"{self.name} is not a flat-file dataset")
        return f"{self.s3_prefix}/{day:%Y}/{day:%m}/{day.isoformat()}.csv.gz"


_AGG_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ticker", pa.string()),
    # Massive made volume and size decimal on 2026-02-23; float64 reads both eras.
    ("volume", pa.float64()),
    ("open", pa.float64()),
    ("close", pa.float64()),
    ("high", pa.float64()),
    ("low", pa.float64()),
    ("window_start", pa.int64()),  # Unix nanoseconds, start of the window
    ("transactions", pa.int64()),
)
_OPTION_TRADE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ticker", pa.string()),
    ("conditions", pa.string()),
    ("correction", pa.int64()),
    ("exchange", pa.int64()),
    ("price", pa.float64()),
    ("sip_timestamp", pa.int64()),
    ("size", pa.float64()),
)
_OPTION_QUOTE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ticker", pa.string()),
    ("ask_exchange", pa.int64()),
    ("ask_price", pa.float64()),
    ("ask_size", pa.float64()),
    ("bid_exchange", pa.int64()),
    ("bid_price", pa.float64()),
    ("bid_size", pa.float64()),
    ("sequence_number", pa.int64()),
    ("sip_timestamp", pa.int64()),
)
_STOCK_TRADE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ticker", pa.string()),
    ("conditions", pa.string()),  # a quoted list such as "12,37"
    ("correction", pa.int64()),
    ("exchange", pa.int64()),
    ("id", pa.string()),
    ("participant_timestamp", pa.int64()),
    ("price", pa.float64()),
    ("sequence_number", pa.int64()),
    ("sip_timestamp", pa.int64()),
    ("size", pa.float64()),
    ("tape", pa.int64()),
    ("trf_id", pa.int64()),  # present (non-null) only for off-exchange (dark-pool) prints
    ("trf_timestamp", pa.int64()),
)


def _flat(name: str, asset: AssetClass, prefix: str, columns: tuple[tuple[str, pa.DataType], ...],
          time_column: str, description: str) -> Dataset:
    return Dataset(name, Source.FLAT_FILE, asset, description, prefix, columns, time_column)


OPTIONS_DAY = _flat("options_day", AssetClass.OPTIONS, "us_options_opra/day_aggs_v1",
                    _AGG_COLUMNS, "window_start", "option daily OHLCV per contract")
OPTIONS_MINUTE = _flat("options_minute", AssetClass.OPTIONS, "us_options_opra/minute_aggs_v1",
                       _AGG_COLUMNS, "window_start", "option 1-minute OHLCV per contract")
OPTIONS_TRADES = _flat("options_trades", AssetClass.OPTIONS, "us_options_opra/trades_v1",
                       _OPTION_TRADE_COLUMNS, "sip_timestamp", "every option print (OPRA)")
OPTIONS_QUOTES = _flat("options_quotes", AssetClass.OPTIONS, "us_options_opra/quotes_v1",
                       _OPTION_QUOTE_COLUMNS, "sip_timestamp",
                       "option NBBO quotes, kept only for the chosen underlyings")
STOCKS_DAY = _flat("stocks_day", AssetClass.STOCKS, "us_stocks_sip/day_aggs_v1",
                   _AGG_COLUMNS, "window_start", "stock daily OHLCV")
STOCKS_MINUTE = _flat("stocks_minute", AssetClass.STOCKS, "us_stocks_sip/minute_aggs_v1",
                      _AGG_COLUMNS, "window_start", "stock 1-minute OHLCV")
_STOCK_QUOTE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ticker", pa.string()),
    ("ask_exchange", pa.int64()),
    ("ask_price", pa.float64()),
    ("ask_size", pa.float64()),
    ("bid_exchange", pa.int64()),
    ("bid_price", pa.float64()),
    ("bid_size", pa.float64()),
    ("conditions", pa.string()),
    ("indicators", pa.string()),
    ("participant_timestamp", pa.int64()),
    ("sequence_number", pa.int64()),
    ("sip_timestamp", pa.int64()),
    ("tape", pa.int64()),
    ("trf_timestamp", pa.int64()),
)
STOCKS_QUOTES = _flat("stocks_quotes", AssetClass.STOCKS, "us_stocks_sip/quotes_v1",
                      _STOCK_QUOTE_COLUMNS, "sip_timestamp", "stock NBBO quotes")
STOCKS_TRADES = _flat("stocks_trades", AssetClass.STOCKS, "us_stocks_sip/trades_v1",
                      _STOCK_TRADE_COLUMNS, "sip_timestamp",
                      "every stock print (trf_id marks off-exchange/dark-pool prints)")

CONTRACTS = Dataset("contracts", Source.REST, AssetClass.OPTIONS,
                    "contract reference as of the day: expirations, strikes, style")
OPEN_INTEREST = Dataset("open_interest", Source.REST, AssetClass.OPTIONS,
                        "open interest per contract (REST chain snapshot)")
SPLITS = Dataset("splits", Source.REST, AssetClass.STOCKS, "stock splits")
DIVIDENDS = Dataset("dividends", Source.REST, AssetClass.STOCKS, "cash dividends")

GREEKS_DAILY = Dataset("greeks_daily", Source.DERIVED, AssetClass.OPTIONS,
                       "per-contract daily IV and Greeks from the day close")
VOLUME_30D = Dataset("volume_30d", Source.DERIVED, AssetClass.OPTIONS,
                     "30-session average volume per contract and per underlying")
PUT_CALL = Dataset("put_call", Source.DERIVED, AssetClass.OPTIONS,
                   "daily put and call volume and their ratio per underlying")

FLAT_FILE_DATASETS: tuple[Dataset, ...] = (
    OPTIONS_DAY, OPTIONS_MINUTE, OPTIONS_TRADES, OPTIONS_QUOTES,
    STOCKS_DAY, STOCKS_MINUTE, STOCKS_TRADES, STOCKS_QUOTES,
)
REST_DATASETS: tuple[Dataset, ...] = (CONTRACTS, OPEN_INTEREST, SPLITS, DIVIDENDS)
ALL_DATASETS: tuple[Dataset, ...] = (
    *FLAT_FILE_DATASETS, *REST_DATASETS, GREEKS_DAILY, VOLUME_30D, PUT_CALL,
)
BY_NAME: dict[str, Dataset] = {d.name: d for d in ALL_DATASETS}

#: Option roots that trade under another underlying (weeklies, PM-settled index series).
ROOT_ALIASES: dict[str, str] = {
    "SPXW": "SPX", "SPXPM": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX", "XSPW": "XSP",
}


def dataset(name: str) -> Dataset:
    """Look a dataset up by its store name; the error lists the valid ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(BY_NAME)}") from None


def underlying_of_root(root: str) -> str:
    return ROOT_ALIASES.get(root, root)
