"""Thresholds of the flow analytics (one frozen section; the lead maps it into bot config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FlowConfig(BaseModel):
    """Every field has a default suited to US equity options; all are per contract print."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    block_min_contracts: int = Field(
        100, gt=0, description="A single print of at least this many contracts is a block "
        "(default 100).")
    block_min_premium: float = Field(
        100_000.0, gt=0, description="...or of at least this premium in dollars, price x size "
        "x multiplier (default $100,000).")
    sweep_window_ms: int = Field(
        1_000, gt=0, description="Prints of one contract this close together (milliseconds) "
        "belong to one sweep candidate (default 1000).")
    sweep_min_exchanges: int = Field(
        3, ge=2, description="A sweep hits at least this many distinct exchanges (default 3).")
    sweep_min_contracts: int = Field(
        50, gt=0, description="...and totals at least this many contracts (default 50).")
    mid_band: float = Field(
        0.1, ge=0, lt=0.5, description="A price within this fraction of the spread around "
        "the mid is neither buyer- nor seller-initiated (default 0.1).")
    quote_max_age_ms: int = Field(
        5_000, gt=0, description="An NBBO older than this at the print cannot sign it: the "
        "side is UNKNOWN (default 5000).")
    max_events: int = Field(
        1_000, gt=0, description="Recent block and sweep events kept for readers "
        "(default 1000).")
