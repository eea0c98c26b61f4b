"""Updating many demo rows at once, each with its own values."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def rows_update(objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """UPDATE … SET the fields … WHERE id = … for each object, as one executemany.

    What QuerySet.bulk_update does, without its CASE WHEN per field and row, which Django builds and
    compiles in Python: for the 3,500 recall entries of a 3,000-patient demo, bulk_update took 24 s
    (on SQLite; the cost is Django's, so on PostgreSQL too) and this takes well under one.
    """
    if not objects:
        return
    model = type(objects[0])
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    pk = model._meta.pk
    statement = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"  # noqa: S608 — names from _meta
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)
