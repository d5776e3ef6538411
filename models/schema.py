"""Compare the live schema with the models, and create what is missing.

Indexes are matched by their column list, not their name, because MySQL and
MariaDB create an index of their own for a foreign key when none exists and
an operator may have created an equivalent index under another name.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import peewee

logger = logging.getLogger(__name__)

MISSING_TABLE = "missing table"
MISSING_COLUMN = "missing column"
MISSING_INDEX = "missing index"
WRONG_TYPE = "wrong type"


@dataclass(frozen=True)
class SchemaProblem:
    """One difference between a model and the live database."""

    kind: str
    table: str
    name: str | None = None
    detail: str | None = None

    def describe(self) -> str:
        text = f"{self.kind}: {self.table}"
        if self.name:
            text += f".{self.name}"
        if self.detail:
            text += f" ({self.detail})"
        return text

    def to_dict(self) -> dict:
        return asdict(self)


def _index_columns(index: peewee.Index) -> tuple[str, ...]:
    return tuple(expression.column_name.lower() for expression in index._expressions)


def _index_present(index: peewee.Index, live_indexes: list) -> bool:
    """Return True if a live index covers exactly the same columns, and is unique when `index` is."""
    columns = _index_columns(index)
    for live in live_indexes:
        if tuple(column.lower() for column in live.columns) != columns:
            continue
        if live.unique or not index._unique:
            return True
    return False


def missing_indexes(database: peewee.Database, model: type[peewee.Model]) -> list[peewee.Index]:
    """Return the model's indexes (unique constraints included) that the existing table lacks."""
    live = database.get_indexes(model._meta.table_name)
    return [index for index in model._meta.fields_to_index() if not _index_present(index, live)]


def _is_64_bit_integer(database: peewee.Database, data_type: str) -> bool:
    data_type = data_type.lower()
    if isinstance(database, peewee.SqliteDatabase):
        # A declared type containing INT has INTEGER affinity, and SQLite 3 stores such values in up
        # to 8 bytes (sqlite.org/datatype3.html). peewee 4.5.3 declares BigIntegerField as INTEGER there.
        return "int" in data_type
    return "bigint" in data_type


def _column_problems(database: peewee.Database, model: type[peewee.Model]) -> list[SchemaProblem]:
    table = model._meta.table_name
    live = {column.name.lower(): column for column in database.get_columns(table)}
    problems = []
    for field in model._meta.sorted_fields:
        column = live.get(field.column_name.lower())
        if column is None:
            problems.append(SchemaProblem(MISSING_COLUMN, table, field.column_name, field.field_type))
        elif isinstance(field, peewee.BigIntegerField) and not _is_64_bit_integer(database, column.data_type):
            # Byte counters pass 2**31 (2 GiB) quickly, so a 32-bit column would overflow.
            problems.append(SchemaProblem(WRONG_TYPE, table, field.column_name,
                                          f"expected BIGINT, found {column.data_type}"))
    return problems


def find_schema_problems(database: peewee.Database, models) -> list[SchemaProblem]:
    """List every missing table, column and index, and every byte column that is not a 64-bit integer."""
    tables = {name.lower() for name in database.get_tables()}
    problems = []
    for model in models:
        table = model._meta.table_name
        if table.lower() not in tables:
            problems.append(SchemaProblem(MISSING_TABLE, table))
            continue
        problems.extend(_column_problems(database, model))
        for index in missing_indexes(database, model):
            kind = "unique on" if index._unique else "on"
            detail = f"{kind} {', '.join(_index_columns(index))}"
            problems.append(SchemaProblem(MISSING_INDEX, table, index._name, detail))
    return problems


def create_missing_schema(database: peewee.Database, models) -> list[str]:
    """Create missing tables, and missing indexes on existing tables; return what was created.

    peewee 4.5.3's create_tables(safe=True) skips a MySQL table that exists
    without looking at its indexes, because MySQL has no CREATE INDEX IF NOT
    EXISTS, so indexes are compared here on every backend. Missing columns
    are only reported by find_schema_problems: adding one needs a migration.
    """
    tables = {name.lower() for name in database.get_tables()}
    created = []
    for model in peewee.sort_models(models):
        table = model._meta.table_name
        if table.lower() not in tables:
            model.create_table(safe=True)
            created.append(f"table {table}")
            continue
        for index in missing_indexes(database, model):
            # peewee has no public call that creates one ModelIndex; this is what create_indexes runs per index.
            database.execute(model._schema._create_index(index.safe(False)))
            created.append(f"index {index._name} on {table}")
    for item in created:
        logger.info("Created %s", item)
    return created
