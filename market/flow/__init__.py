"""Options flow analytics: trade side vs NBBO, block trades, sweeps, premium and put/call flow,
volume vs open interest. Fed one trade at a time (with the NBBO at that moment) so strategies
read it live; the same code runs in a replay."""

from market.flow.classify import TradeSide, classify_side, classify_sides
from market.flow.config import FlowConfig
from market.flow.events import BlockTrade, FlowEvent, Sweep
from market.flow.sweeps import SweepDetector
from market.flow.tracker import FlowTracker, UnderlyingFlow

__all__ = [
    "BlockTrade",
    "FlowConfig",
    "FlowEvent",
    "FlowTracker",
    "Sweep",
    "SweepDetector",
    "TradeSide",
    "UnderlyingFlow",
    "classify_side",
    "classify_sides",
]
