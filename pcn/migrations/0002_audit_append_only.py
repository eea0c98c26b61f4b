"""Audit rows are append-only: on PostgreSQL the database itself refuses UPDATE and DELETE.

A BEFORE UPDATE OR DELETE row trigger raises, so neither the ORM, a bulk `update()`, raw SQL nor
a cascade can change history. (TRUNCATE is left to the database owner: test teardown uses it.)
SQLite, the try-it-out default, has no such guard; production runs on PostgreSQL.
"""

from django.db import migrations

TABLES = ("pcn_auditevent", "pcn_auditeventpatient")

CREATE = """
CREATE OR REPLACE FUNCTION pcn_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION pcn_refuse_audit_change();
"""
    for table in TABLES
)

DROP = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS pcn_refuse_audit_change();"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("pcn", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
