"""Client order ids: unique across restarts, sortable, and readable in a broker's UI.

`tf-20151224-k3x9q2-000017`: prefix, session day, a random run tag drawn at start-up, and a
counter. A restarted bot draws a new run tag, so it can never reuse an id even if its counter
restarts; a backtest passes a fixed tag so its ids are reproducible.
"""

from __future__ import annotations

import itertools
import secrets
import string

from market.clock import Clock

_ALPHABET = string.ascii_lowercase + string.digits


class ClientIdGenerator:
    def __init__(self, prefix: str, clock: Clock, run_tag: str | None = None) -> None:
        self._prefix = prefix
        self._clock = clock
        self.run_tag = run_tag or "".join(secrets.choice(_ALPHABET) for _ in range(6))
        self._counter = itertools.count(1)

    def next(self) -> str:
        day = self._clock.now().strftime("%Y%m%d")
        return f"{self._prefix}-{day}-{self.run_tag}-{next(self._counter):06d}"
