"""Configuration of the history layer (the `[history]` section of the daemon's config)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class HistoryConfig(BaseModel):
    """Where the history store lives and how `tradefly data fetch` behaves.

    Vendor endpoints and keys live in `[massive]` (keys from the environment only).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    store: Path = Field(Path("var/history"), description="Root folder of the Parquet store "
                        "(default var/history).")
    max_parallel_downloads: int = Field(
        2, ge=1, le=16, description="Files downloaded at once (default 2). Massive throttles "
        "parallel flat-file downloads with 429s; 2–4 is the useful range.")
    file_retries: int = Field(
        3, ge=0, le=10, description="Extra attempts per file after a 5xx, timeout, dropped "
        "connection or truncated gzip (default 3).")
    retry_backoff_seconds: float = Field(
        1.0, ge=0, description="Wait before retry n is n times this (default 1.0 s).")
    check_republished: bool = Field(
        True, description="HEAD every already-stored file and fetch it again when its ETag or "
        "size changed (default true).")
    risk_free_rate: float = Field(
        0.04, ge=-0.05, le=0.25, description="Annual risk-free rate (continuous) used to "
        "derive IV and Greeks (default 0.04).")
    dividend_yield: float = Field(
        0.0, ge=0, le=0.25, description="Annual continuous dividend yield of the underlying "
        "for derived IV and Greeks (default 0.0).")
