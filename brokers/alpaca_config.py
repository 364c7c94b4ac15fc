"""Settings of the Alpaca adapter (the `[alpaca]` section). Lives beside the adapter, like
`PaperConfig`, because adapters may not import `bot`; `bot.config` re-exports it.

Every endpoint can be overridden so the bot can be pointed at a proxy or a local fake. With no
override the adapter picks Alpaca's paper endpoints, and the live ones only when the daemon has
already checked `mode = "live"` and the confirmation variable (invariant 2).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

PAPER_TRADING_URL = "https://paper-api.alpaca.markets"
LIVE_TRADING_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
PAPER_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
LIVE_STREAM_URL = "wss://api.alpaca.markets/stream"
OPTION_STREAM_URL = "wss://stream.data.alpaca.markets/v1beta1/{feed}"


class AlpacaConfig(BaseModel):
    """How to reach Alpaca. Secrets come from the environment only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = Field(None, description="API key id (environment only).")
    secret_key: SecretStr | None = Field(None, description="API secret (environment only).")
    trading_url: str | None = Field(
        None, description="Trading REST base URL override, without /v2 (default: the paper or "
        "live endpoint chosen by mode).")
    data_url: str | None = Field(
        None, description="Market-data REST base URL override (default data.alpaca.markets).")
    stream_url: str | None = Field(
        None, description="Trade-updates WebSocket URL override, full URL (default: paper or "
        "live stream chosen by mode).")
    option_stream_url: str | None = Field(
        None, description="Option data WebSocket URL override, full URL (default: "
        "stream.data.alpaca.markets/v1beta1/<options_feed>).")
    options_feed: Literal["indicative", "opra"] = Field(
        "indicative", description="Option data feed: indicative (free) or opra (subscription).")
    timeout_seconds: float = Field(
        10.0, gt=0, description="HTTP timeout of every call (alpaca-py sets none).")
    retry_attempts: int = Field(
        4, ge=1, le=10, description="Attempts of a read (or a rate-limited submit) before "
        "giving up.")
    retry_initial_seconds: float = Field(
        0.5, ge=0, description="First back-off after a transient error; doubles each time.")
    retry_max_seconds: float = Field(
        10.0, ge=0, description="Longest single wait between attempts (also caps retry-after).")
    stream_reconnect_seconds: float = Field(
        1.0, gt=0, description="First wait before reconnecting a dropped trade-updates stream.")
    rest_probe_seconds: float = Field(
        15.0, gt=0, description="While REST calls fail after their retries, how often the "
        "adapter asks for the clock to learn that Alpaca is reachable again.")
    fills_lookback_days: int = Field(
        3, ge=1, description="How far back reconciliation reads fills when not told a start.")
    unknown_lookups: int = Field(
        3, ge=0, description="Lookups by client order id after a submit whose answer was lost, "
        "before leaving it to periodic reconciliation.")
