"""`manage.py import_population FILE --profile SLUG [--dry-run] [--skip-invalid] [--user EMAIL]`."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caseload.models import ImportBatch, ImportProfile
from caseload.services.import_runs import population_import_file
from pcn.models import User

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import a population file (CSV or XLSX) through an import profile: the same checks and the same "
        "all-or-nothing rule as the web upload. Without --user the import is unattended: rows for every "
        "practice in the PCN may be imported and the batch is recorded with no user."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV or XLSX file.")
        parser.add_argument(
            "--profile",
            required=True,
            help="The import profile's slug (or name), e.g. icb-risk or canonical.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and count what would change; write nothing.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and report the invalid ones (by default any invalid row stops the import).",
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="Import as this user: the batch is theirs and only their practices' rows may be imported.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        name = options["profile"]
        profile = (
            ImportProfile.objects.filter(slug=name).first()
            or ImportProfile.objects.filter(name__iexact=name).first()
        )
        if profile is None:
            slugs = ", ".join(ImportProfile.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(f"There is no import profile “{name}”. Profiles: {slugs}.")
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"There is no active user with the email address {options['user']}.")

        batch = population_import_file(
            path=path,
            profile=profile,
            by=user,
            dry_run=options["dry_run"],
            skip_invalid=options["skip_invalid"],
        )
        counts = batch.counts
        self.stdout.write(
            f"Batch {batch.pk} ({profile.name}): {counts.get('rows', 0):,} rows read; "
            f"{counts.get('new', 0):,} new, {counts.get('updated', 0):,} updated, "
            f"{counts.get('unchanged', 0):,} unchanged patients; {counts.get('invalid', 0):,} invalid rows."
        )
        for note in batch.report.get("notes", []):
            self.stdout.write(f"Note: {note}")
        if batch.unmapped_columns:
            self.stdout.write("Ignored columns (not in the profile): " + ", ".join(batch.unmapped_columns))
        errors = batch.report.get("errors", [])
        for row, column, value, reason in errors[:SHOWN_ERRORS]:
            self.stdout.write(f"  row {row}, {column or 'the row'}: {reason} (value: {value!r})")
        if batch.error_count > SHOWN_ERRORS:
            self.stdout.write(
                f"  … and {batch.error_count - SHOWN_ERRORS:,} more: see {batch.report_file.path}"
            )
        warnings = batch.report.get("warnings", [])
        for row, column, value, reason in warnings[:SHOWN_ERRORS]:
            self.stdout.write(
                f"  row {row}, {column or 'the row'}: warning, still imported: {reason} (value: {value!r})"
            )
        if batch.warning_count > SHOWN_ERRORS:
            self.stdout.write(
                f"  … and {batch.warning_count - SHOWN_ERRORS:,} more warnings: see {batch.report_file.path}"
            )
        listed = batch.error_count + batch.warning_count
        if listed and batch.report_file and max(batch.error_count, batch.warning_count) <= SHOWN_ERRORS:
            self.stdout.write(f"Report (errors and warnings): {batch.report_file.path}")
        if batch.status == ImportBatch.Status.FAILED:
            raise CommandError(batch.error_message)
        if batch.dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))
