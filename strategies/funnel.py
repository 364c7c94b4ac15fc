"""Why a strategy did or did not fire: how many candidates got past each of its conditions.

A strategy checks its conditions in order and stops at the first that fails; counting the
candidates that pass each one turns "no signals today" into "12,400 quotes, 310 tight enough,
4 moved 3%, 0 traded enough". Read by the calibration script and by anyone tuning thresholds.
"""

from __future__ import annotations


class Funnel:
    """Counts per condition, in the order the strategy checks them."""

    __slots__ = ("counts", "stages")

    def __init__(self, *stages: str) -> None:
        self.stages = stages
        self.counts = dict.fromkeys(stages, 0)

    def passed(self, stage: str) -> None:
        self.counts[stage] += 1

    def summary(self) -> str:
        """'quotes 1200 > spread 300 > momentum 4 > ...' in checking order."""
        return " > ".join(f"{stage} {self.counts[stage]:,}" for stage in self.stages)
