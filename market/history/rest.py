"""What the flat files lack, from Massive's REST API through the official `massive` client.

Contract reference (expirations, strikes, exercise style) as of a day, open interest (from the
chain snapshot, so only for the day it is taken), splits and dividends. Each call returns an
Arrow table ready for the store. Vendor failures are mapped to our errors: a 403
("NOT_AUTHORIZED") names the dataset, retries exhausted on 5xx/timeouts become transient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

import pyarrow as pa
from massive import RESTClient
from massive.exceptions import BadResponse
from urllib3.exceptions import HTTPError as Urllib3Error

from market.history.errors import NotInSubscription, TransientFetchError
from market.instruments import OptionSymbol

T = TypeVar("T")

CONTRACT_SCHEMA = pa.schema([
    ("symbol", pa.string()), ("expiration", pa.date32()), ("right", pa.string()),
    ("strike", pa.float64()), ("exercise_style", pa.string()),
    ("shares_per_contract", pa.float64()), ("primary_exchange", pa.string()),
])
OPEN_INTEREST_SCHEMA = pa.schema([
    ("symbol", pa.string()), ("expiration", pa.date32()), ("right", pa.string()),
    ("strike", pa.float64()), ("open_interest", pa.int64()),
])
SPLIT_SCHEMA = pa.schema([
    ("execution_date", pa.date32()), ("split_from", pa.float64()), ("split_to", pa.float64()),
    ("adjustment_type", pa.string()), ("historical_adjustment_factor", pa.float64()),
])
DIVIDEND_SCHEMA = pa.schema([
    ("ex_dividend_date", pa.date32()), ("pay_date", pa.date32()), ("record_date", pa.date32()),
    ("declaration_date", pa.date32()), ("cash_amount", pa.float64()),
    ("split_adjusted_cash_amount", pa.float64()), ("currency", pa.string()),
    ("frequency", pa.int64()), ("distribution_type", pa.string()),
])


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class ReferenceSource:
    """Massive REST reference data. The API key goes to the client only, never to a message."""

    def __init__(self, api_key: str, *, base_url: str = "https://api.massive.com",
                 retries: int = 3, connect_timeout: float = 10.0,
                 read_timeout: float = 30.0) -> None:
        self._client = RESTClient(api_key=api_key, base=base_url.rstrip("/"), retries=retries,
                                  connect_timeout=connect_timeout, read_timeout=read_timeout)

    def _collect(self, dataset: str, call: Callable[[], Iterable[T]]) -> list[T]:
        try:
            return list(call())
        except BadResponse as exc:
            text = str(exc)
            if "NOT_AUTHORIZED" in text or "not entitled" in text.lower():
                raise NotInSubscription(dataset) from exc
            if "NOT_FOUND" in text:
                return []
            raise TransientFetchError(f"{dataset}: unexpected answer from Massive") from exc
        except Urllib3Error as exc:
            raise TransientFetchError(f"{dataset}: {type(exc).__name__} after retries") from exc

    def contracts(self, underlying: str, as_of: date) -> pa.Table:
        """Every contract listed on `underlying` as of `as_of` (expired ones included)."""
        rows = self._collect("contracts", lambda: self._client.list_options_contracts(
            underlying_ticker=underlying, as_of=as_of.isoformat(), limit=1000))
        out: dict[str, list[Any]] = {name: [] for name in CONTRACT_SCHEMA.names}
        for c in rows:
            if not c.ticker:
                continue
            sym = OptionSymbol.parse(c.ticker)
            out["symbol"].append(sym.occ)
            out["expiration"].append(_day(c.expiration_date) or sym.expiration)
            out["right"].append(sym.right.value)
            out["strike"].append(float(c.strike_price) if c.strike_price else sym.strike)
            out["exercise_style"].append(c.exercise_style)
            out["shares_per_contract"].append(c.shares_per_contract)
            out["primary_exchange"].append(c.primary_exchange)
        return pa.table(out, schema=CONTRACT_SCHEMA)

    def open_interest(self, underlying: str) -> pa.Table:
        """Open interest of every contract now (the chain snapshot; no history exists)."""
        rows = self._collect("open_interest", lambda: self._client.list_snapshot_options_chain(
            underlying, params={"limit": 250}))
        out: dict[str, list[Any]] = {name: [] for name in OPEN_INTEREST_SCHEMA.names}
        for snap in rows:
            ticker = snap.details.ticker if snap.details else None
            if not ticker or snap.open_interest is None:
                continue
            sym = OptionSymbol.parse(ticker)
            out["symbol"].append(sym.occ)
            out["expiration"].append(sym.expiration)
            out["right"].append(sym.right.value)
            out["strike"].append(sym.strike)
            out["open_interest"].append(int(snap.open_interest))
        return pa.table(out, schema=OPEN_INTEREST_SCHEMA)

    def splits(self, ticker: str) -> pa.Table:
        rows = self._collect("splits", lambda: self._client.list_stocks_splits(
            ticker=ticker, limit=1000))
        return pa.table({
            "execution_date": [_day(s.execution_date) for s in rows],
            "split_from": [s.split_from for s in rows],
            "split_to": [s.split_to for s in rows],
            "adjustment_type": [s.adjustment_type for s in rows],
            "historical_adjustment_factor": [s.historical_adjustment_factor for s in rows],
        }, schema=SPLIT_SCHEMA)

    def dividends(self, ticker: str) -> pa.Table:
        rows = self._collect("dividends", lambda: self._client.list_stocks_dividends(
            ticker=ticker, limit=1000))
        return pa.table({
            "ex_dividend_date": [_day(d.ex_dividend_date) for d in rows],
            "pay_date": [_day(d.pay_date) for d in rows],
            "record_date": [_day(d.record_date) for d in rows],
            "declaration_date": [_day(d.declaration_date) for d in rows],
            "cash_amount": [d.cash_amount for d in rows],
            "split_adjusted_cash_amount": [d.split_adjusted_cash_amount for d in rows],
            "currency": [d.currency for d in rows],
            "frequency": [d.frequency for d in rows],
            "distribution_type": [d.distribution_type for d in rows],
        }, schema=DIVIDEND_SCHEMA)

