"""Making alpaca-py's blocking REST clients safe to use from the bot's event loop.

alpaca-py sends every request with no timeout and retries 429/504 itself with `time.sleep`,
including order submissions. We mount a transport adapter that puts a timeout on every request,
switch the client's own retries off (ours, in `brokers.retry`, know a submit from a read), and
run each call in a worker thread under a backstop deadline so the loop never blocks.
The caller also reports each call's final outcome, which is how the adapter judges whether
Alpaca's REST API is reachable (decision 0250).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from alpaca.common.rest import RESTClient
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from brokers.alpaca_config import AlpacaConfig
from brokers.alpaca_map import is_not_found, translate_error
from brokers.base import RateLimited, TransientBrokerError
from brokers.retry import with_retries

C = TypeVar("C", bound=RESTClient)
#: Told after every call: None when Alpaca answered (even "no"), else why it is unreachable.
ReachabilityObserver = Callable[[str | None], None]


class NotFound(Exception):
    """A 404 on a lookup: a normal answer ("no such order"), not an error."""


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)


def harden(client: C, timeout: float) -> C:
    """Give `client` a per-request timeout and no internal retries."""
    adapter = _TimeoutAdapter(timeout)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    client._retry = 0
    return client


class Caller:
    """Runs blocking client calls in a thread, with a deadline, translation and retries."""

    def __init__(self, config: AlpacaConfig,
                 observer: ReachabilityObserver | None = None) -> None:
        self._config = config
        self._observer = observer

    async def __call__(self, fn: Callable[..., Any], *args: Any, submit: bool = False,
                       not_found_ok: bool = False) -> Any:
        # Any: alpaca-py annotates every answer as `Model | RawData`; we never ask for raw data.
        config = self._config
        deadline = config.timeout_seconds * 2 + 1  # backstop: the transport timeout fires first

        attempts = 0

        async def once() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return await asyncio.wait_for(asyncio.to_thread(fn, *args), deadline)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not_found_ok and is_not_found(exc):
                    raise NotFound from exc
                raise translate_error(exc, submit=submit) from exc

        try:
            result = await with_retries(once, attempts=config.retry_attempts,
                                        initial_wait=config.retry_initial_seconds,
                                        max_wait=config.retry_max_seconds, submit=submit)
        except (TransientBrokerError, TimeoutError) as exc:
            # Unreachable only once every attempt failed in transit (or with a 5xx): one lost
            # answer to a submit is not an outage, and a 429 is an answer.
            if attempts >= config.retry_attempts and not isinstance(exc, RateLimited):
                self._tell(f"REST unreachable: {exc}")
            elif isinstance(exc, RateLimited):
                self._tell(None)
            raise
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self._tell(None)  # refused, not found, bad key: Alpaca answered
            raise
        self._tell(None)
        return result

    def _tell(self, problem: str | None) -> None:
        if self._observer is not None:
            self._observer(problem)
