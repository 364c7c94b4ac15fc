"""The on-disk history store: Hive-partitioned Parquet plus a small manifest per fetched file.

Layout (readable as is by DuckDB, Polars, Dask, Spark and pyarrow.dataset):

    <root>/dataset=options_minute/date=2024-08-16/underlying=SPY/part-0.parquet
    <root>/dataset=splits/underlying=AAPL/part-0.parquet        (undated reference data)
    <root>/_manifest/options_minute/2024-08-16.json             (what was fetched, ETag, rows)
    <root>/.tmp/                                                 (in-flight writes)

Every file is written to `.tmp` and moved into place with an atomic rename, so a reader never
sees a half-written partition and a crash leaves only `.tmp` litter, swept when the next fetch
starts. Folders starting with `_` or `.` are ignored by every Hive reader, so the manifest never
pollutes queries.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"


@dataclass(frozen=True, slots=True)
class Partition:
    """One stored file: a dataset's rows for one date (or none) and one underlying."""

    dataset: str
    day: date | None
    underlying: str
    path: Path
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """What `tradefly data ls` prints for one dataset."""

    dataset: str
    first_day: date | None
    last_day: date | None
    days: int
    underlyings: tuple[str, ...]
    rows: int
    bytes: int


@dataclass
class ManifestEntry:
    """What was ingested from one source file (one dataset, one day).

    `underlyings` maps each requested underlying to the rows stored (0 is a real answer: the
    file had none, so it is not fetched again for it). `etag` and `size` identify the source
    object, so a republished file is noticed.
    """

    dataset: str
    day: date
    etag: str
    size: int
    underlyings: dict[str, int] = field(default_factory=dict)
    dropped_rows: int = 0

    def to_json(self) -> str:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ManifestEntry:
        data = json.loads(text)
        data["day"] = date.fromisoformat(data["day"])
        return cls(**data)


class HistoryStore:
    """A folder of Parquet history; all writes are atomic, reads go through any Hive reader."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.tmp = self.root / ".tmp"
        self.manifest_dir = self.root / "_manifest"  # folders are made on first write, so
        # opening a store to read it (a backtest, `ls`) never writes to it

    # -- paths ------------------------------------------------------------------------------

    def dataset_dir(self, dataset: str) -> Path:
        return self.root / f"dataset={dataset}"

    def partition_path(self, dataset: str, day: date | None, underlying: str) -> Path:
        folder = self.dataset_dir(dataset)
        if day is not None:
            folder = folder / f"date={day.isoformat()}"
        return folder / f"underlying={underlying}" / PART_FILE

    def glob(self, dataset: str) -> str:
        """A glob of every file of `dataset`, for DuckDB's `read_parquet`."""
        pattern = "*/*/*.parquet" if self._dated(dataset) else "*/*.parquet"
        return str(self.dataset_dir(dataset) / pattern)

    def _dated(self, dataset: str) -> bool:
        folder = self.dataset_dir(dataset)
        return not folder.exists() or any(p.name.startswith("date=") for p in folder.iterdir())

    def has(self, dataset: str) -> bool:
        return self.dataset_dir(dataset).exists() and any(
            self.dataset_dir(dataset).rglob("*.parquet"))

    # -- writing ----------------------------------------------------------------------------

    def temp_path(self, suffix: str = ".parquet") -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{uuid.uuid4().hex}{suffix}"

    def open_writer(self, schema: pa.Schema) -> tuple[pq.ParquetWriter, Path]:
        """A Parquet writer on a fresh temp file; `commit` moves the file into place."""
        path = self.temp_path()
        return pq.ParquetWriter(path, schema, compression=COMPRESSION), path

    def commit(self, temp: Path, dataset: str, day: date | None, underlying: str) -> Path:
        """Move a finished temp file into its partition (atomic: same filesystem)."""
        final = self.partition_path(dataset, day, underlying)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        return final

    def write_table(self, table: pa.Table, dataset: str, day: date | None,
                    underlying: str) -> Path:
        """Write one whole partition atomically (replacing what was there)."""
        temp = self.temp_path()
        pq.write_table(table, temp, compression=COMPRESSION)
        return self.commit(temp, dataset, day, underlying)

    def remove_partition(self, dataset: str, day: date | None, underlying: str) -> None:
        path = self.partition_path(dataset, day, underlying)
        path.unlink(missing_ok=True)

    def sweep_temp(self) -> int:
        """Delete leftovers of interrupted writes; returns how many were removed."""
        removed = 0
        if not self.tmp.exists():
            return 0
        for path in self.tmp.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        return removed

    # -- manifest ---------------------------------------------------------------------------

    def _manifest_path(self, dataset: str, day: date) -> Path:
        return self.manifest_dir / dataset / f"{day.isoformat()}.json"

    def manifest(self, dataset: str, day: date) -> ManifestEntry | None:
        path = self._manifest_path(dataset, day)
        if not path.exists():
            return None
        try:
            return ManifestEntry.from_json(path.read_text())
        except (ValueError, TypeError, KeyError):
            return None  # an unreadable entry means "not fetched": the day is fetched again

    def record(self, entry: ManifestEntry) -> None:
        """Write the manifest entry last: it is the commit mark of a fetched day."""
        path = self._manifest_path(entry.dataset, entry.day)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.temp_path(".json")
        temp.write_text(entry.to_json())
        os.replace(temp, path)

    # -- reading ----------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name.removeprefix("dataset=") for p in self.root.iterdir()
                      if p.is_dir() and p.name.startswith("dataset="))

    def partitions(self, dataset: str | None = None) -> Iterator[Partition]:
        """Every stored file, with its row count (from the Parquet footer) and size."""
        for name in [dataset] if dataset else self.datasets():
            for path in sorted(self.dataset_dir(name).rglob("*.parquet")):
                keys = _hive_keys(path.relative_to(self.dataset_dir(name)))
                day = date.fromisoformat(keys["date"]) if "date" in keys else None
                rows = pq.read_metadata(path).num_rows
                yield Partition(name, day, keys.get("underlying", ""), path, rows,
                                path.stat().st_size)

    def ls(self) -> list[DatasetSummary]:
        """Per dataset: dates, underlyings, rows and bytes stored."""
        out = []
        for name in self.datasets():
            parts = list(self.partitions(name))
            days = sorted({p.day for p in parts if p.day is not None})
            out.append(DatasetSummary(
                dataset=name,
                first_day=days[0] if days else None,
                last_day=days[-1] if days else None,
                days=len(days),
                underlyings=tuple(sorted({p.underlying for p in parts})),
                rows=sum(p.rows for p in parts),
                bytes=sum(p.bytes for p in parts),
            ))
        return out

    def read(self, dataset: str, day: date | None, underlying: str,
             columns: list[str] | None = None) -> pa.Table | None:
        """One partition as an Arrow table, or None when nothing is stored there."""
        path = self.partition_path(dataset, day, underlying)
        if not path.exists():
            return None
        return pq.read_table(path, columns=columns)


def _hive_keys(relative: Path) -> Mapping[str, str]:
    keys = {}
    for part in relative.parts[:-1]:
        key, _, value = part.partition("=")
        keys[key] = value
    return keys
