"""Recorded CSV files, parsed once: the parsed columns are kept as Parquet beside the data.

Parsing a full-chain day's quotes (275,000 gzipped CSV rows) takes ~0.4 s, a fifth of
replaying the whole day through the live path; reading the same columns back from Parquet
takes ~0.1 s. Sweeps, walk-forward windows and repeated backtests replay the same days many
times, so the first read of a file keeps its parsed columns in a `.tradefly-cache` folder next
to it. The key is the file's size, modification time and the columns asked for, so an edited or
replaced file is parsed again; a folder that cannot be written, or a cache file that cannot be
read, only costs the parse (decision 0363).
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import suppress
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

CACHE_DIR = ".tradefly-cache"
#: Bumped when what is cached changes shape, so old cache files are never read.
FORMAT = 1


def read_csv_cached(path: Path, usecols: list[str] | None = None) -> pd.DataFrame:
    """`pd.read_csv(path, usecols=usecols)`, from the parsed copy when it is current."""
    cached = _cache_file(path, usecols)
    if cached is not None and cached.exists():
        try:
            return pd.read_parquet(cached)
        except Exception as exc:  # a torn or foreign file: parse again and replace it
            log.warning("replay cache %s unreadable (%s); parsing %s again", cached, exc, path.name)
    frame = pd.read_csv(path, usecols=usecols)
    if cached is not None:
        _write(frame, cached, path.name)
    return frame


def _cache_file(path: Path, usecols: list[str] | None) -> Path | None:
    try:
        stat = path.stat()
    except OSError:
        return None  # let read_csv raise its own clear error
    key = f"{FORMAT}|{stat.st_size}|{stat.st_mtime_ns}|{','.join(usecols or ['*'])}"
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
    return path.parent / CACHE_DIR / f"{path.name}.{digest}.parquet"


def _write(frame: pd.DataFrame, target: Path, source: str) -> None:
    """Write atomically (several processes of a sweep may parse the same file at once) and
    drop the copies of earlier versions of the same file."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(exist_ok=True)
        frame.to_parquet(partial, index=False)
        os.replace(partial, target)
        for stale in target.parent.glob(f"{source}.*.parquet"):
            if stale != target:
                stale.unlink(missing_ok=True)
    except OSError as exc:  # read-only data, a full disk: replay still works, uncached
        log.debug("replay cache not written for %s: %s", target.name, exc)
        with suppress(OSError):
            partial.unlink(missing_ok=True)
