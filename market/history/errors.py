"""Errors of the history layer; each message says what to do next and never holds a secret."""

from __future__ import annotations


class HistoryError(Exception):
    """Base of every history-layer error."""


class NotInSubscription(HistoryError):
    """The vendor refused a dataset (HTTP 403): the plan does not include it."""

    def __init__(self, dataset: str, detail: str = "") -> None:
        self.dataset = dataset
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"dataset {dataset!r} is not included in your Massive subscription (HTTP 403){extra}; "
            f"drop it from --datasets or upgrade the plan")


class TransientFetchError(HistoryError):
    """A failure worth retrying: 5xx, 429, timeout, dropped connection, truncated file."""
