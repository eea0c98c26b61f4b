"""`manage.py import_recall_dates FILE --user EMAIL`: reconcile the recall year with a recall dates file."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caseload.services.import_files import FileRejected
from pcn.models import User
from recall.services.reconcile import recall_dates_import

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Reconcile the current QOF year with a recall dates file (CSV or XLSX: an NHS number column and "
        "last_review_<register>, last_invited_<register>, pca_<register> columns), as the given user: "
        "only their practices' patients are matched. No row limit (the web page has one)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV or XLSX file.")
        parser.add_argument("--user", metavar="EMAIL", required=True, help="Reconcile as this user.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        user = User.objects.filter(email__iexact=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user {options['user']}.")
        try:
            result = recall_dates_import(path=path, by=user)
        except FileRejected as rejected:
            raise CommandError(f"The file was not imported: {rejected.message}") from None
        self.stdout.write(
            f"QOF year {result.year_label}: {result.rows:,} rows, {result.matched:,} patients matched, "
            f"{result.entries_updated:,} reviews updated, {result.reviews_closed:,} closed as seen, "
            f"{result.not_on_register:,} dates for registers the patient is not on, "
            f"{result.invalid_rows:,} rows with errors."
        )
        for error in result.errors[:SHOWN_ERRORS]:
            self.stdout.write(f"  row {error.row}, {error.column}: {error.reason} ({error.value})")
        if len(result.errors) > SHOWN_ERRORS:
            self.stdout.write(f"  … and {len(result.errors) - SHOWN_ERRORS:,} more.")
