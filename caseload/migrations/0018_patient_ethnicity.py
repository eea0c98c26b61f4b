"""Patient.ethnicity, which imports can fill (reporting's data quality check counts patients without it).

On SQLite (the try-it-out default) adding a NOT NULL column makes Django rebuild the table with its
indexes, and SQLite cannot create the DESC NULLS LAST sort indexes (see 0004): there the column is added
with ALTER TABLE, which keeps the table as it is. PostgreSQL takes the ordinary AddField.
"""

from django.db import migrations, models

FIELD = models.CharField(blank=True, db_default="", default="", max_length=100)


def add_column(apps, schema_editor):
    patient = apps.get_model("caseload", "Patient")
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "ALTER TABLE caseload_patient ADD COLUMN ethnicity varchar(100) DEFAULT '' NOT NULL"
        )
        return
    field = FIELD.clone()
    field.set_attributes_from_name("ethnicity")
    field.model = patient
    schema_editor.add_field(patient, field)


def drop_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE caseload_patient DROP COLUMN ethnicity")


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0017_import_profile_column_map_help"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(model_name="patient", name="ethnicity", field=FIELD)],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
    ]
