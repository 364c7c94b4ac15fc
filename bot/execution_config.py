"""Execution policies per order kind (the `[execution]` config section)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExecutionPolicy(BaseModel):
    """How one kind of order is priced and worked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    style: Literal["smart", "natural", "market"] = Field(
        "smart", description="smart: step from the mid to the natural price; natural: a limit "
        "at the far side of the NBBO; market: a market order.")
    start_offset: float = Field(
        0.0, ge=0, le=1, description="Where the first step sits between the mid (0) and the "
        "natural price (1).")
    steps: int = Field(3, ge=1, le=20, description="Steps from the start to the natural price.")
    step_seconds: float = Field(20.0, gt=0, description="Seconds between steps.")
    give_up_seconds: float = Field(
        180.0, gt=0, description="Cancel and stop working the order after this long.")
    tick: float = Field(0.01, gt=0, description="Price increment orders are rounded to.")


class ExecutionConfig(BaseModel):
    """Execution policy per order kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry: ExecutionPolicy = ExecutionPolicy()
    take_profit: ExecutionPolicy = ExecutionPolicy(steps=2, step_seconds=5.0,
                                                   give_up_seconds=30.0)
    stop: ExecutionPolicy = ExecutionPolicy(style="market")
    flatten: ExecutionPolicy = ExecutionPolicy(style="market")
