"""Core statements compiled once per dialect and run on the connection's DBAPI cursor.

The intake runs a handful of statements per submission inside SQLite's write lock. For each,
SQLAlchemy's execution around an already cached compiled statement (execution context, cursor
wrapper, result object) cost about as much CPU as SQLite's own work: storing a submission took
340 µs in-process, the same writes on a bare ``sqlite3`` connection 170 µs, and 265 µs with
these statements (benchmarks/README.md, "Intake speed"). ``DriverStatement`` keeps what matters of
SQLAlchemy and drops the rest: the SQL is SQLAlchemy's compilation for the dialect (quoting,
casts, ``RETURNING``), values pass through the column types' own bind and result processors
(so dates are stored and read exactly as the ORM does), it runs in the connection's
transaction, and a driver error is raised as SQLAlchemy's exception (``IntegrityError``…),
with a lost connection invalidated as SQLAlchemy would.

Statements that need more of SQLAlchemy are refused when compiled: expanding (``IN``)
parameters, values given as literals rather than parameters, and column defaults or
``onupdate`` values computed in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """One compiled statement: its SQL, its parameters in order with their bind processors,
    and the result processors of the columns it returns."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    positional: bool

    def first(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (processed), or None."""
        cursor = run_on_driver(connection, self.sql, self.parameters(params))
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, self.results, strict=True)
        )

    def one(self, connection: Connection, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The first row (processed); ``NoResultFound`` if there is none."""
        row = self.first(connection, params)
        if row is None:
            raise NoResultFound("a driver statement returned no row")
        return row

    def rowcount(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        cursor = run_on_driver(connection, self.sql, self.parameters(params))
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """``params`` in the driver's form: processed, in order or by name."""
        values = [
            params[name] if process is None else process(params[name])
            for name, process in zip(self.names, self.binds, strict=True)
        ]
        return values if self.positional else dict(zip(self.names, values, strict=True))


@functools.lru_cache(maxsize=128)
def driver_statement(
    statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...] | None = None
) -> DriverStatement:
    """``statement`` compiled for ``dialect`` (``keys``: the columns an ``INSERT`` or
    ``UPDATE`` sets, as for ``Compiled.column_keys``)."""
    compiled: Any = statement.compile(
        dialect=dialect, column_keys=list(keys) if keys is not None else None
    )
    if any(bind.expanding or bind.literal_execute for bind in compiled.binds.values()):
        raise ValueError("a driver statement cannot expand parameters (IN lists)")
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        raise ValueError("a driver statement cannot compute Python-side column defaults")
    if not all(bind.required for bind in compiled.binds.values()):
        raise ValueError("a driver statement takes its values as parameters, not literals")
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    columns = getattr(statement, "exported_columns", ())
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    return DriverStatement(compiled.string, names, binds, results, bool(compiled.positional))


def run_on_driver(connection: Connection, sql: str, parameters: Any, *, many: bool = False) -> Any:
    """Execute ``sql`` on a new DBAPI cursor in the connection's transaction (begun here if
    none is); a driver error is raised as SQLAlchemy's ``DBAPIError`` subclass for it."""
    if not connection.in_transaction():
        connection.begin()
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise _sqlalchemy_error(connection, error, sql, parameters) from error
    return cursor


def run_many(connection: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """``executemany`` of ``sql`` (the driver's own parameter marks) over ``rows`` as given."""
    run_on_driver(connection, sql, rows, many=True).close()


def _sqlalchemy_error(
    connection: Connection, error: Exception, sql: str, parameters: Any
) -> DBAPIError:
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(error)
    wrapped: DBAPIError = DBAPIError.instance(
        sql,
        parameters,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )
    return wrapped
