"""Secrets never reach the logs, whichever logger or exception carries them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, structlog
from bot.logging_setup import configure_logging
configure_logging("INFO", json_logs=True, secrets=["PKLIVEKEY9876", "s3cr3t-value-xyz"])
log = logging.getLogger("t")
log.info("connecting with key PKLIVEKEY9876 to alpaca")
log.info("GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe")
log.info("headers: Authorization: Bearer abc.def.ghi")
try:
    raise ValueError("bad secret s3cr3t-value-xyz in payload")
except ValueError:
    log.exception("failed")
structlog.get_logger("s").info("structured", api_key="PKLIVEKEY9876")
"""


def test_secrets_are_redacted_from_every_log_line() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    logs = out.stderr
    assert out.returncode == 0, logs
    for secret in ("PKLIVEKEY9876", "s3cr3t-value-xyz", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                   "abc.def.ghi"):
        assert secret not in logs
    assert logs.count("***") >= 4
    assert "connecting with key" in logs and "failed" in logs
