"""Indexes for searching patients by the start of a name, case-insensitively (PostgreSQL).

`istartswith` compiles to UPPER(col::text) LIKE 'SMI%'; a plain btree cannot serve that, so
Find patients scanned every row (p95 ~300 ms over 100,000 patients). An expression index with
text_pattern_ops can (p95 ~90 ms; bench/caseload_pages.py). SQLite, the try-it-out default,
does without.
"""

from django.db import migrations

INDEXES = {
    "patient_family_upper_prefix": "family_name",
    "patient_given_upper_prefix": "given_name",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON caseload_patient (UPPER({column}::text) text_pattern_ops)",
                params=None,
            )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("caseload", "0006_shipped_import_profiles")]

    operations = [migrations.RunPython(forwards, backwards)]
