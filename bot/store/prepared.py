"""Order-path statements compiled once for the store's dialect and run on the DB-API cursor.

SQLAlchemy Core costs about 100 µs of Python per executed statement (cache key, execution
context, result set-up); the write itself costs a few. The order path runs a dozen statements
per round trip, so the store compiles those few statements once, with SQLAlchemy itself (the
dialect's SQL, paramstyle and bind casts), and keeps each column type's bind processor so a
value is stored exactly as SQLAlchemy would store it (aware datetimes as UTC, booleans as
integers on SQLite). Reads and everything off the hot path still go through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement, compiled for one dialect: `params(values)` gives what the cursor takes."""

    __slots__ = ("_defaults", "_names", "_positional", "_procs", "sql")

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, columns: list[str] | None = None
    ) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=columns))
        self.sql = compiled.string
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup or []) if self._positional else list(compiled.binds)
        self._names = tuple(names)
        # An INSERT binds the columns with a scalar default too: supply the default.
        table = getattr(statement, "table", None)
        given = set(columns or ())
        self._defaults = {
            c.key: c.default.arg
            for c in (table.c if table is not None and given else ())
            if c.key not in given
            and c.key in names
            and c.default is not None
            and c.default.is_scalar
        }
        procs = [
            compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ]
        self._procs = tuple((i, p) for i, p in enumerate(procs) if p is not None)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self._defaults:
            values = {**self._defaults, **values}
        out = [values[n] for n in self._names]
        for i, proc in self._procs:
            if out[i] is not None:
                out[i] = proc(out[i])
        return tuple(out) if self._positional else dict(zip(self._names, out, strict=True))
