"""`OptionContract`: everything a strategy may know about one listed option at one moment.

A frozen pydantic model, because contracts cross boundaries (strategies, the store, the web UI)
and must not change under a reader. It carries its own data-quality `flags`: a contract with any
flag is not `is_valid`, its `mark` is None, and `OptionChain` lookups never hand it out unless
asked to. The hot-path events (`Quote`, `Trade`, `Bar` in `market.data`) stay slotted dataclasses;
chains build contracts lazily from their columns with `model_construct` (no re-validation).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, model_validator

from market.instruments import CONTRACT_MULTIPLIER, OptionRight, OptionSymbol
from market.validation import DataFlag, reasons, scalar_flags

NEW_YORK = ZoneInfo("America/New_York")
_OPTIONAL = ("last", "bid_size", "ask_size", "volume", "open_interest", "volume_avg_30d",
             "delta", "gamma", "theta", "vega", "rho", "implied_volatility", "iv_rank",
             "iv_percentile")


class OptionContract(BaseModel):
    """One contract's identity, quote, activity, Greeks and IV statistics, with quality flags.

    Absent values are None. Prices in dollars per share; `multiplier` shares per contract.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(description="Compact OCC symbol, e.g. AAPL240119C00190000.")
    underlying: str
    strike: float = Field(gt=0)
    expiration: date
    option_type: OptionRight
    bid: float | None = None
    ask: float | None = None
    bid_size: int | None = None
    ask_size: int | None = None
    last: float | None = None
    volume: int | None = Field(None, description="Contracts traded this session.")
    open_interest: int | None = None
    volume_avg_30d: float | None = Field(None, description="Mean daily volume, 30 sessions.")
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = Field(None, description="Per calendar day.")
    vega: float | None = Field(None, description="Per 1.00 (100 vol points) of volatility.")
    rho: float | None = None
    implied_volatility: float | None = None
    iv_rank: float | None = Field(None, description="0-100 over the IV history window.")
    iv_percentile: float | None = Field(None, description="0-100 over the IV history window.")
    timestamp: AwareDatetime = Field(description="When these values were known to us.")
    quote_timestamp: AwareDatetime | None = Field(None, description="When the quote last changed.")
    underlying_price: float | None = None
    multiplier: int = CONTRACT_MULTIPLIER
    flags: DataFlag = Field(DataFlag(0), description="Quality problems; 0 when clean.")

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        # `mark` is derived; accept a dump of ourselves back (store, web UI) by ignoring it
        if isinstance(data, dict) and "mark" in data:
            data = {k: v for k, v in data.items() if k != "mark"}
        return data

    @model_validator(mode="after")
    def _check(self) -> OptionContract:
        spec = OptionSymbol.parse(self.symbol)
        if (spec.expiration, spec.right, spec.strike_thousandths) != (
                self.expiration, self.option_type, round(self.strike * 1000)):
            raise ValueError(f"symbol {self.symbol} disagrees with strike/expiration/type")
        object.__setattr__(self, "symbol", spec.occ)  # one spelling, whatever form was given
        object.__setattr__(self, "flags", self.flags | _flags_of(self))  # frozen: set once here
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mark(self) -> float | None:
        """Mid of bid and ask, only when the contract is clean."""
        if self.flags or self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2.0

    @property
    def is_valid(self) -> bool:
        return not self.flags

    @property
    def problems(self) -> list[str]:
        """Reason labels of the flags, e.g. ['crossed', 'stale']."""
        return reasons(self.flags)

    @property
    def spread(self) -> float | None:
        return None if self.mark is None else self.ask - self.bid  # type: ignore[operator]

    @property
    def days_to_expiry(self) -> int:
        """Calendar days from `timestamp`'s New York date (0 on expiration day)."""
        return (self.expiration - self.timestamp.astimezone(NEW_YORK).date()).days

    def checked_for_staleness(self, max_quote_age: timedelta) -> OptionContract:
        """This contract, flagged STALE if its quote is older than `max_quote_age`."""
        if self.quote_timestamp is None or self.timestamp - self.quote_timestamp <= max_quote_age:
            return self
        return self.model_copy(update={"flags": self.flags | DataFlag.STALE})


def _flags_of(c: OptionContract) -> DataFlag:
    def number(value: float | None) -> float:
        # None is "absent" (NaN in the columnar form); a NaN that was sent is "not finite" (inf)
        if value is None:
            return math.nan
        return math.inf if math.isnan(value) else float(value)

    present = {name: number(getattr(c, name)) for name in _OPTIONAL
               if getattr(c, name) is not None}
    return scalar_flags(number(c.bid), number(c.ask), number(c.underlying_price), present,
                        c.option_type is OptionRight.CALL)
