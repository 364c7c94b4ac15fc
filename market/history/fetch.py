"""`fetch`: fill the store from Massive for a date range and a list of underlyings.

One job per (flat-file dataset, trading day); jobs run on a bounded thread pool (pyarrow parses
off the GIL, so threads really overlap). Each job is incremental and restartable:

- a day whose manifest already covers the requested underlyings is skipped (after a cheap HEAD
  when `check_republished`: a changed ETag or size means Massive republished it, and it is
  fetched again for every underlying stored before);
- the manifest entry is written only after every partition of the file has been committed, so
  an interrupted run resumes at the first unfinished day and never stores half a file;
- weekends and holidays are never requested (exchange calendar); a session with no file yet is
  reported as missing, not as an error;
- a truncated/corrupt file or a failure mid-stream is retried from the start of the file;
- a 403 names the dataset outside the subscription and stops that dataset's other jobs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from market.calendar import ExchangeCalendar
from market.history.config import HistoryConfig
from market.history.datasets import (
    CONTRACTS,
    DIVIDENDS,
    FLAT_FILE_DATASETS,
    OPEN_INTEREST,
    SPLITS,
    Dataset,
    Source,
    dataset,
)
from market.history.errors import HistoryError, NotInSubscription, TransientFetchError
from market.history.ingest import (
    CorruptFile,
    UnparseableValue,
    commit_ingest,
    ingest_stream,
)
from market.history.rest import ReferenceSource
from market.history.s3 import FlatFileSource
from market.history.store import HistoryStore, ManifestEntry

log = logging.getLogger(__name__)

DEFAULT_DATASETS = ("options_minute", "options_day", "stocks_minute", "stocks_day")


class Status(StrEnum):
    STORED = "stored"
    SKIPPED = "skipped"  # already stored, unchanged
    MISSING = "missing"  # a session with no file (not published yet, or no data)
    FAILED = "failed"
    NOT_IN_PLAN = "not_in_plan"


@dataclass(frozen=True, slots=True)
class FetchEvent:
    """One finished job, for progress bars and logs."""

    dataset: str
    day: date | None
    status: Status
    rows: int
    done: int
    total: int
    message: str = ""


@dataclass
class FetchReport:
    """What a fetch did; `ok` is False if any job failed or a dataset is outside the plan."""

    events: list[FetchEvent] = field(default_factory=list)
    holidays: list[date] = field(default_factory=list)
    not_in_plan: dict[str, str] = field(default_factory=dict)

    def of(self, status: Status) -> list[FetchEvent]:
        return [e for e in self.events if e.status is status]

    @property
    def ok(self) -> bool:
        return not self.not_in_plan and not self.of(Status.FAILED)

    def raise_for_errors(self) -> None:
        if self.not_in_plan:
            raise HistoryError("; ".join(self.not_in_plan.values()))
        failed = self.of(Status.FAILED)
        if failed:
            listed = ", ".join(f"{e.dataset} {e.day}: {e.message}" for e in failed[:5])
            raise HistoryError(f"{len(failed)} file(s) failed: {listed}")


Progress = Callable[[FetchEvent], None]


@dataclass(frozen=True, slots=True)
class _Job:
    dataset: Dataset
    day: date | None
    underlyings: tuple[str, ...]


class _Fetcher:
    def __init__(self, config: HistoryConfig, store: HistoryStore,
                 flat_files: FlatFileSource | None, reference: ReferenceSource | None) -> None:
        self.config = config
        self.store = store
        self.flat_files = flat_files
        self.reference = reference
        self.refused: set[str] = set()
        self._lock = threading.Lock()

    # -- flat files -------------------------------------------------------------------------

    def run_flat(self, job: _Job) -> tuple[Status, int, str]:
        assert job.day is not None
        assert self.flat_files is not None
        ds, day = job.dataset, job.day
        key = ds.s3_key(day)
        previous = self.store.manifest(ds.name, day)
        wanted = set(job.underlyings)
        if previous is not None:
            missing = wanted - set(previous.underlyings)
            if self.config.check_republished:
                info = self.flat_files.head(key, ds.name)
                if info is None:
                    return Status.SKIPPED, 0, "stored; file no longer listed"
                if (info.etag, info.size) != (previous.etag, previous.size):
                    log.info("%s %s was republished: fetching it again", ds.name, day)
                    return self._ingest(ds, day, wanted | set(previous.underlyings), None)
            if not missing:
                return Status.SKIPPED, 0, ""
            return self._ingest(ds, day, missing, previous)
        return self._ingest(ds, day, wanted, None)

    def _ingest(self, ds: Dataset, day: date, underlyings: set[str],
                merge_into: ManifestEntry | None) -> tuple[Status, int, str]:
        assert self.flat_files is not None
        attempts = self.config.file_retries + 1
        last = ""
        lenient = False
        for attempt in range(1, attempts + 1):
            if ds.name in self.refused:
                return Status.NOT_IN_PLAN, 0, ""
            try:
                opened = self.flat_files.open(ds.s3_key(day), ds.name)
                if opened is None:
                    return Status.MISSING, 0, "no file for this session"
                stream, info = opened
                try:
                    result = ingest_stream(stream, ds, underlyings, self.store,
                                           lenient=lenient)
                finally:
                    stream.close()
                if merge_into is not None and (merge_into.etag, merge_into.size) != (
                        info.etag, info.size):
                    merge_into = None  # changed between HEAD and GET: start the entry afresh
                commit_ingest(self.store, ds, day, result)
                rows = dict(merge_into.underlyings) if merge_into else {}
                rows.update(result.rows)
                self.store.record(ManifestEntry(ds.name, day, info.etag, info.size, rows,
                                                result.dropped))
                return Status.STORED, sum(result.rows.values()), ""
            except NotInSubscription:
                raise
            except UnparseableValue as exc:  # garbage in a numeric cell: drop such rows
                log.warning("%s %s: %s; reading it again, dropping unparseable rows",
                            ds.name, day, exc)
                lenient, last = True, _describe(exc)
                continue
            except (TransientFetchError, CorruptFile, OSError, HistoryError) as exc:
                last = _describe(exc)
            except Exception as exc:  # botocore/urllib3 errors raised inside the stream
                last = _describe(exc)
            log.warning("%s %s: attempt %d/%d failed: %s", ds.name, day, attempt, attempts,
                        last)
            if attempt < attempts:
                time.sleep(self.config.retry_backoff_seconds * attempt)
        return Status.FAILED, 0, last

    # -- REST -------------------------------------------------------------------------------

    def run_rest(self, job: _Job) -> tuple[Status, int, str]:
        assert self.reference is not None
        ds, day = job.dataset, job.day
        rows = 0
        for und in job.underlyings:
            if ds is CONTRACTS:
                assert day is not None
                if self._rest_done(ds, day, und):
                    continue
                table = self.reference.contracts(und, day)
            elif ds is OPEN_INTEREST:
                table = self.reference.open_interest(und)
            elif ds is SPLITS:
                table = self.reference.splits(und)
            elif ds is DIVIDENDS:
                table = self.reference.dividends(und)
            else:
                raise ValueError(f"{ds.name} is not a REST dataset")
            self.store.write_table(table, ds.name, day, und)
            rows += table.num_rows
            if ds is CONTRACTS and day is not None:
                with self._lock:
                    entry = self.store.manifest(ds.name, day) or ManifestEntry(
                        ds.name, day, "", 0)
                    entry.underlyings[und] = table.num_rows
                    self.store.record(entry)
        return Status.STORED if rows or job.underlyings else Status.SKIPPED, rows, ""

    def _rest_done(self, ds: Dataset, day: date, und: str) -> bool:
        entry = self.store.manifest(ds.name, day)
        return entry is not None and und in entry.underlyings


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def plan(start: date, end: date, underlyings: Sequence[str], datasets: Iterable[str],
         calendar: ExchangeCalendar, today: date | None = None) -> tuple[list[_Job], list[date]]:
    """The jobs of a fetch, in day order, and the non-session days of the range."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    chosen = tuple(sorted({u.strip().upper() for u in underlyings if u.strip()}))
    if not chosen:
        raise ValueError("name at least one underlying")
    sessions = calendar.sessions_between(start, end)
    holidays = [d for d in _days(start, end) if d not in set(sessions)]
    wanted = [dataset(name) for name in datasets]
    jobs: list[_Job] = []
    for day in sessions:
        for ds in wanted:
            if ds.source is Source.FLAT_FILE or ds is CONTRACTS:
                jobs.append(_Job(ds, day, chosen))
    for ds in wanted:
        if ds in (SPLITS, DIVIDENDS):
            jobs.append(_Job(ds, None, chosen))
        elif ds is OPEN_INTEREST:
            if today is None or not calendar.is_session(today):
                log.warning("open_interest comes from today's chain snapshot: skipped "
                            "(no trading session today)")
            else:
                jobs.append(_Job(ds, today, chosen))
        elif ds.source not in (Source.FLAT_FILE, Source.REST):
            raise ValueError(f"{ds.name} cannot be fetched (it is {ds.source.value})")
    return jobs, holidays


def _days(start: date, end: date) -> list[date]:
    return [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]


def fetch(config: HistoryConfig, start: date, end: date, underlyings: Sequence[str],
          datasets: Iterable[str] = DEFAULT_DATASETS, *,
          flat_files: FlatFileSource | None = None, reference: ReferenceSource | None = None,
          calendar: ExchangeCalendar | None = None, today: date | None = None,
          progress: Progress | None = None) -> FetchReport:
    """Fetch `datasets` for `underlyings` over [start, end] into `config.store`.

    `today` is the session an open-interest snapshot is filed under (the caller's clock).
    Raises ValueError for a bad request before any download; download problems are in the
    returned report (`report.raise_for_errors()` turns them into one exception).
    """
    calendar = calendar or ExchangeCalendar()
    jobs, holidays = plan(start, end, underlyings, datasets, calendar, today)
    if any(j.dataset.source is Source.FLAT_FILE for j in jobs) and flat_files is None:
        raise ValueError("flat-file datasets need S3 keys (TRADEFLY__MASSIVE__S3_ACCESS_KEY "
                         "and TRADEFLY__MASSIVE__S3_SECRET_KEY)")
    if any(j.dataset.source is Source.REST for j in jobs) and reference is None:
        raise ValueError("REST datasets need an API key (TRADEFLY__MASSIVE__API_KEY)")
    store = HistoryStore(config.store)
    store.sweep_temp()
    fetcher = _Fetcher(config, store, flat_files, reference)
    report = FetchReport(holidays=holidays)
    total = len(jobs)

    def run(job: _Job) -> tuple[Status, int, str]:
        if job.dataset.name in fetcher.refused:
            return Status.NOT_IN_PLAN, 0, ""
        try:
            if job.dataset.source is Source.FLAT_FILE:
                return fetcher.run_flat(job)
            return fetcher.run_rest(job)
        except NotInSubscription as exc:
            fetcher.refused.add(job.dataset.name)
            return Status.NOT_IN_PLAN, 0, str(exc)
        except TransientFetchError as exc:
            return Status.FAILED, 0, _describe(exc)

    pool = ThreadPoolExecutor(max_workers=config.max_parallel_downloads,
                              thread_name_prefix="history-fetch")
    try:
        futures: dict[Future[tuple[Status, int, str]], _Job] = {
            pool.submit(run, job): job for job in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            job = futures[future]
            status, rows, message = future.result()
            if status is Status.NOT_IN_PLAN and message:
                report.not_in_plan[job.dataset.name] = message
            event = FetchEvent(job.dataset.name, job.day, status, rows, done, total, message)
            report.events.append(event)
            if progress is not None:
                progress(event)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return report


__all__ = ["DEFAULT_DATASETS", "FLAT_FILE_DATASETS", "FetchEvent", "FetchReport", "Status",
           "fetch", "plan"]
