"""Insert many rows through the database driver, with the values SQLAlchemy would store.

``connection.execute(sa.insert(table), rows)`` builds the parameters of every
row through SQLAlchemy's compiled-statement machinery (about 80 µs a row on
the meters table), which for a city's registry or a detection run's flags is
most of the insert's time. :func:`insert_rows` compiles the statement once,
turns each value into what the driver receives by the column type's own bind
processor (the same conversion: UTC text for timestamps on SQLite, JSON text,
EWKT for geometry, wrapped in the dialect's ``GeomFromEWKT`` by the compiled
SQL), fills the columns' Python-side defaults, and hands the rows to the
driver's ``executemany`` in the connection's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

__all__ = ["insert_rows"]


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` into ``table`` with one driver ``executemany``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        The connection (a session's ``session.connection()`` keeps its transaction).
    table : sqlalchemy.Table
    rows : sequence of dict
        Every row has the same keys (column names). Columns left out take their
        Python-side default (scalar or callable), else their server default.

    Raises
    ------
    ValueError
        A row's keys differ from the first row's, or name no column of ``table``.
    """
    if not rows:
        return
    keys = list(rows[0])
    unknown = [k for k in keys if k not in table.c]
    if unknown:
        raise ValueError(f"insert into {table.name}: no column(s) {unknown}.")
    dialect = conn.dialect
    # inline: no RETURNING of the generated keys, which executemany would not use
    compiled = sa.insert(table).inline().compile(dialect=dialect, column_keys=keys)
    defaults = {}
    for col in compiled.insert_prefetch:
        if col.key in rows[0]:
            continue
        d = col.default
        defaults[col.key] = d.arg if d.is_scalar else d.arg(None)
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    procs = {}
    for name in names:
        bind = compiled.binds[name]
        procs[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)

    def value(row, name):
        v = row[name] if name in row else defaults[name]
        p = procs[name]
        # None too goes through the type, as SQLAlchemy does (JSON stores it as 'null')
        return v if p is None else p(v)

    params = []
    key_set = set(keys)
    for i, row in enumerate(rows):
        if len(row) != len(keys) or set(row) != key_set:
            raise ValueError(
                f"insert into {table.name}: row {i} has columns {sorted(row)}, "
                f"the first row {sorted(keys)}; give every row the same columns."
            )
        if compiled.positional:
            params.append(tuple(value(row, n) for n in names))
        else:
            params.append({n: value(row, n) for n in names})
    conn.exec_driver_sql(str(compiled), params)
