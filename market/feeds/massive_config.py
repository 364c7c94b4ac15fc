"""Settings of the Massive feed, apart from the feed so that reading a config stays cheap
(the client library and pandas load only when a feed is built)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MassiveFeedConfig(BaseModel):
    """How to reach Massive and how hard to try. The API key is not here: it is a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rest_url: str = Field("https://api.massive.com", description="REST base URL (no trailing /).")
    ws_host: str = Field("socket.massive.com", description="WebSocket host[:port].")
    ws_secure: bool = Field(True, description="wss:// (TLS); false only for a local test server.")
    http_retries: int = Field(2, ge=0, description="Quick retries inside the client (urllib3) "
                              "on 429/5xx/timeouts before a call counts as failed.")
    connect_timeout_seconds: float = Field(5.0, gt=0, description="HTTP connect timeout.")
    read_timeout_seconds: float = Field(10.0, gt=0, description="HTTP read timeout.")
    call_attempts: int = Field(4, ge=1, description="Attempts of a whole REST call (each with "
                               "the quick retries) before MassiveUnavailable is raised.")
    backoff_initial_seconds: float = Field(0.5, ge=0, description="First backoff between "
                                           "attempts and between stream reconnects.")
    backoff_max_seconds: float = Field(30.0, gt=0, description="Backoff ceiling.")
    ws_max_reconnects: int = Field(5, ge=0, description="Reconnects the client itself makes "
                                   "after abnormal closes, before our supervisor takes over.")
    snapshot_page_size: int = Field(250, ge=1, le=250, description="Chain snapshot page size.")
    max_quote_age_seconds: float = Field(60.0, gt=0, description="Chain snapshot quotes older "
                                         "than this (or DELAYED) are flagged stale.")
    queue_size: int = Field(100_000, ge=1, description="Events buffered for the engine; beyond "
                            "it new events are dropped and counted as queue_full.")
