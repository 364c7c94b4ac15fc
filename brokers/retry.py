"""Retry policy shared by the real adapters (tenacity), applied only around transient errors.

Reads are retried on any `TransientBrokerError`. A submit is retried only when the request
provably never reached the broker (`RequestNotSent`) or the broker said "slow down"
(`RateLimited`): anything else may have created the order, so it becomes
`SubmitOutcomeUnknown` and is reconciled by client order id, never resent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from brokers.base import RateLimited, SubmitOutcomeUnknown, TransientBrokerError

T = TypeVar("T")


class RequestNotSent(TransientBrokerError):
    """The connection failed before the request left us: the broker cannot have acted on it."""


class _Wait:
    """Honour a rate limit's retry-after; otherwise back off exponentially with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum,
                                                jitter=initial)
        self._maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self._maximum)
        return float(self._backoff(state))


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int, initial_wait: float,
                       max_wait: float, submit: bool = False) -> T:
    """Run `call`, retrying transient failures; the last error is re-raised unchanged."""
    retryable: tuple[type[BaseException], ...] = (
        (RequestNotSent, RateLimited) if submit else (TransientBrokerError,))
    retry = retry_if_exception(
        lambda e: isinstance(e, retryable) and not isinstance(e, SubmitOutcomeUnknown))
    async for attempt in AsyncRetrying(retry=retry, stop=stop_after_attempt(max(attempts, 1)),
                                       wait=_Wait(initial_wait, max_wait), reraise=True):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
