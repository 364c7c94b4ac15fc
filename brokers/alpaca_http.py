"""Making alpaca-py's blocking REST clients safe to use from the bot's event loop.

alpaca-py sends every request with no timeout and retries 429/504 itself with `time.sleep`,
including order submissions. We mount a transport adapter that puts a timeout on every request,
switch the client's own retries off (ours, in `brokers.retry`, know a submit from a read), and
run each call in a worker thread under a backstop deadline so the loop never blocks.
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
from brokers.retry import with_retries

C = TypeVar("C", bound=RESTClient)


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

    def __init__(self, config: AlpacaConfig) -> None:
        self._config = config

    async def __call__(self, fn: Callable[..., Any], *args: Any, submit: bool = False,
                       not_found_ok: bool = False) -> Any:
        # Any: alpaca-py annotates every answer as `Model | RawData`; we never ask for raw data.
        config = self._config
        deadline = config.timeout_seconds * 2 + 1  # backstop: the transport timeout fires first

        async def once() -> Any:
            try:
                return await asyncio.wait_for(asyncio.to_thread(fn, *args), deadline)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not_found_ok and is_not_found(exc):
                    raise NotFound from exc
                raise translate_error(exc, submit=submit) from exc

        return await with_retries(once, attempts=config.retry_attempts,
                                  initial_wait=config.retry_initial_seconds,
                                  max_wait=config.retry_max_seconds, submit=submit)
