"""`[daily_history]`: the windows behind IV rank/percentile and the 30-day volumes.

Apart from `market.daily_history` so that loading the settings stays light.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from market.daily_stats import IV_WINDOW, VOLUME_WINDOW


class DailyHistoryConfig(BaseModel):
    """`[daily_history]`: the windows behind IV rank/percentile and the 30-day volumes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(
        True,
        description="Record each session's IV and volumes in the "
        "store and load them at start-up (default true).",
    )
    iv_sessions: int = Field(IV_WINDOW, ge=2, description="IV window, sessions (default 252).")
    volume_sessions: int = Field(
        VOLUME_WINDOW, ge=1, description="Volume window, sessions (default 30)."
    )
    min_iv_sessions: int = Field(
        20,
        ge=1,
        description="Sessions needed before IV rank and "
        "percentile are given (default 20; NaN before).",
    )
    min_volume_sessions: int = Field(
        VOLUME_WINDOW,
        ge=1,
        description="Sessions needed before "
        "a volume average is given (default 30: a true 30-day "
        "average; `tradefly data seed-store` fills the window).",
    )
    max_quote_age: timedelta = Field(
        timedelta(minutes=15),
        description="Quotes older than "
        "this at the close are left out of the closing IV "
        "(default 15 min).",
    )

    @model_validator(mode="after")
    def _minimums_fit(self) -> DailyHistoryConfig:
        if self.min_iv_sessions > self.iv_sessions:
            raise ValueError("min_iv_sessions must not exceed iv_sessions")
        if self.min_volume_sessions > self.volume_sessions:
            raise ValueError("min_volume_sessions must not exceed volume_sessions")
        return self
