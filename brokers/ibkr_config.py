"""Settings of the Interactive Brokers adapter (the `[ibkr]` section). Lives beside the adapter
because adapters may not import `bot`; `bot.config` re-exports it.

IB restarts TWS / IB Gateway every night. The planned-downtime window says when: inside it a
lost connection is expected (no alarm, no orders sent), and reconnecting waits until it ends.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

#: Ports IB uses for live sessions by default (Gateway, TWS). Paper mode refuses them.
LIVE_PORTS = frozenset({4001, 7496})


class IbkrConfig(BaseModel):
    """How to reach TWS or IB Gateway."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="TWS / IB Gateway host.")
    port: int = Field(4002, ge=1, le=65535,
                      description="4001/4002 Gateway live/paper, 7496/7497 TWS live/paper.")
    client_id: int = Field(17, ge=0, description="API client id; one per connected program.")
    account: str = Field("", description="Account to trade; empty = the only managed account.")
    timeout_seconds: float = Field(10.0, gt=0, description="Connect and request timeout.")
    market_data_type: int = Field(
        1, ge=1, le=4, description="IB market data type: 1 live, 2 frozen, 3 delayed, "
        "4 delayed-frozen (paper accounts without data subscriptions need 3).")
    retry_attempts: int = Field(3, ge=1, le=10, description="Attempts of a read request.")
    retry_initial_seconds: float = Field(0.5, ge=0,
                                         description="First back-off of a retried read.")
    reconnect_initial_seconds: float = Field(
        1.0, gt=0, description="First wait before reconnecting; doubles up to the maximum.")
    reconnect_max_seconds: float = Field(60.0, gt=0, description="Longest wait between "
                                         "reconnection attempts.")
    commission_wait_seconds: float = Field(
        2.0, ge=0, description="How long a fill waits for its commission report before it is "
        "recorded without one.")
    downtime_start: time = Field(time(23, 45), description="Start of IB's nightly restart "
                                 "window, in downtime_timezone.")
    downtime_end: time = Field(time(0, 45), description="End of the nightly restart window "
                               "(may be after midnight).")
    downtime_timezone: str = Field("America/New_York",
                                   description="Time zone of the downtime window.")
    downtime_poll_seconds: float = Field(
        30.0, gt=0, description="How often a wait for the end of the window re-checks the "
        "clock.")

    def in_downtime(self, now: datetime) -> bool:
        """Is `now` (aware) inside the planned nightly restart window?"""
        local = now.astimezone(ZoneInfo(self.downtime_timezone)).time()
        start, end = self.downtime_start, self.downtime_end
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end  # the window wraps past midnight
