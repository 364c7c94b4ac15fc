"""Scale-out: run independent backtests in local processes (joblib) or on a Dask cluster.

Sweeps, walk-forward windows and Monte Carlo chunks are independent, so each is one task: a
top-level function and a picklable argument. `[backtest] scheduler` names a Dask scheduler
(`tcp://host:8786`); unset, joblib's loky processes run them here (`n_jobs`, -1 = every core).
One task runs in-line, without a pool, so small jobs do not pay for workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import joblib

T = TypeVar("T")
R = TypeVar("R")


class ClusterUnavailable(RuntimeError):
    """A scheduler is configured but Dask is not installed or the scheduler cannot be reached."""


def parallel_map(fn: Callable[[T], R], items: Sequence[T], *, scheduler: str | None = None,
                 n_jobs: int = -1) -> list[R]:
    """`[fn(x) for x in items]`, in order, spread over processes or a cluster."""
    if not items:
        return []
    if scheduler:
        return _on_dask(fn, items, scheduler)
    if n_jobs == 1 or len(items) == 1:
        return [fn(item) for item in items]
    runner = joblib.Parallel(n_jobs=n_jobs, backend="loky")
    return list(runner(joblib.delayed(fn)(item) for item in items))


def _on_dask(fn: Callable[[T], R], items: Sequence[T], scheduler: str) -> list[R]:
    try:
        from distributed import Client
    except ImportError as exc:  # the optional "cluster" extra
        raise ClusterUnavailable("backtest.scheduler is set but Dask is not installed: "
                                 "install tradefly[cluster]") from exc
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)
    except OSError as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    with client:
        futures: list[Any] = client.map(fn, list(items), pure=False)
        return list(client.gather(futures))
