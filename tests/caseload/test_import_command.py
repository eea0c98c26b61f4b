"""`manage.py import_population FILE --profile SLUG [--dry-run] [--skip-invalid] [--user EMAIL]`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from caseload.models import ImportBatch, Patient
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import CANONICAL_HEADER, EMIS_SAMPLE, canonical_row, state, write_csv

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

N1, N2 = list(synthetic_sequence(start=5000))[:2]


def command(*args: str) -> str:
    out = StringIO()
    call_command("import_population", *args, stdout=out)
    return out.getvalue()


def test_imports_a_file(profiles, sample_practices):
    output = command(str(EMIS_SAMPLE), "--profile", "emis-search")

    batch = ImportBatch.objects.get()
    assert output.splitlines() == [
        f"Batch {batch.pk} (EMIS Web search export): 104 rows read; 60 new, 0 updated, 0 unchanged patients; 0 invalid rows.",
        "Ignored columns (not in the profile): Date",
        "Imported.",
    ]
    assert (batch.status, batch.created_by, batch.filename) == (
        ImportBatch.Status.DONE,
        None,
        "emis_search_export.csv",
    )
    assert Patient.objects.count() == 60


def test_dry_run_writes_nothing(profiles, sample_practices):
    before = state()

    output = command(str(EMIS_SAMPLE), "--profile", "EMIS Web search export", "--dry-run")

    assert "60 new" in output
    assert output.splitlines()[-1] == "Dry run: nothing was written."
    assert state() == before
    assert ImportBatch.objects.get().dry_run is True


def test_invalid_rows_stop_the_import_unless_skipped(profiles, practice_a, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2, practice="P99009")
    )
    before = state()

    with pytest.raises(CommandError) as refusal:
        command(str(path), "--profile", "canonical")

    assert str(refusal.value) == (
        "1 row has a problem, so nothing was imported. "
        "Correct the file and import it again, or choose to skip the invalid rows."
    )
    assert state() == before

    output = command(str(path), "--profile", "canonical", "--skip-invalid")
    assert (
        "  row 3, practice_code: practice P99009 is not one of the PCN's practices (value: 'P99009')"
        in output
    )
    assert list(Patient.objects.values_list("nhs_number", flat=True)) == [N1]


def test_user_limits_the_practices(profiles, sample_practices, manager, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2, practice="P99002")
    )

    command(str(path), "--profile", "canonical", "--user", manager.user.email.upper(), "--skip-invalid")

    batch = ImportBatch.objects.get()
    assert batch.created_by == manager.user
    assert batch.report["errors"] == [
        [3, "practice_code", "P99002", "practice P99002 is not one of your practices"]
    ]


def test_warnings_are_listed_and_the_file_imported(profiles, sample_practices, tmp_path):
    path = write_csv(
        tmp_path / "emis.csv",
        "NHS Number,Full Name,Date of Birth,Gender,Practice,Date,Code Term",
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Asthma',
        f'{N2},"JONES, Bob (Mr)",01-Mar-1940,Male,P99002,,Asthma',
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,COPD',
    )

    output = command(str(path), "--profile", "emis-search")

    batch = ImportBatch.objects.get()
    assert output.splitlines() == [
        f"Batch {batch.pk} (EMIS Web search export): 3 rows read; 2 new, 0 updated, 0 unchanged patients; 0 invalid rows.",
        "Ignored columns (not in the profile): Date",
        "  row 4, NHS Number: warning, still imported: the same NHS number is on row 2, with other patients' "
        f"rows in between: both blocks of rows are imported as this one patient (value: '{N1}')",
        f"Report (errors and warnings): {batch.report_file.path}",
        "Imported.",
    ]
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "There is no import profile “nope”. Profiles: canonical, emis-search, icb-risk, systmone."),
        (["--profile", "canonical", "--user", "nobody@example.test"], "There is no active user with the email address nobody@example.test."),
    ],
)  # fmt: skip
def test_unknown_profile_or_user(profiles, args, message):
    with pytest.raises(CommandError) as refusal:
        command(str(EMIS_SAMPLE), *args)
    assert str(refusal.value) == message
    assert ImportBatch.objects.count() == 0


def test_missing_file(profiles, tmp_path):
    with pytest.raises(CommandError) as refusal:
        command(str(tmp_path / "none.csv"), "--profile", "canonical")
    assert str(refusal.value) == f"There is no file {tmp_path / 'none.csv'}."
