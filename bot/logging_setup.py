"""Structured logging: structlog, JSON lines in a service, pretty on a terminal, secrets redacted.

Standard-library loggers (ours and the libraries') go through the same processors, so a secret
that slips into any message (a token in a URL, a key in an exception) is replaced before it is
written anywhere.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_SECRET_PATTERNS = [
    re.compile(r"(bot)(\d{5,}:[A-Za-z0-9_-]{20,})"),  # Telegram token inside a Bot API URL
    re.compile(r"((?:api[_-]?key|secret[_-]?key|token|password|apikey)[\"']?\s*[:=]\s*[\"']?)"
               r"([^\s\"'&,;]+)", re.IGNORECASE),
    re.compile(r"(Bearer\s+)([A-Za-z0-9._~+/-]+=*)"),
    re.compile(r"(APCA-API-(?:KEY-ID|SECRET-KEY)[\"']?\s*[:=]\s*[\"']?)([^\s\"',]+)"),
]


class Redactor:
    """Replaces known secret values and secret-looking patterns with '***'."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        return text

    def __call__(self, _logger: Any, _name: str,
                 event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = self.redact(value)
            elif isinstance(value, BaseException):
                event[key] = self.redact(repr(value))
        return event


REDACTOR = Redactor()


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: keep the raw text
            message = str(record.msg)
        record.msg, record.args = REDACTOR.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = REDACTOR.redact(
                logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg} [{type(exc).__name__}]"
        return True


def configure_logging(level: str = "INFO", json_logs: bool | None = None,
                      secrets: Iterable[str] = ()) -> None:
    """Route stdlib and structlog output through one redacting renderer on stderr."""
    for secret in secrets:
        REDACTOR.add(secret)
    as_json = (not sys.stderr.isatty()) if json_logs is None else json_logs
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        REDACTOR,
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if as_json
                     else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, REDACTOR,
                    renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "websockets", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
