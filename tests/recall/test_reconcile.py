"""Reconciliation with the GP record: a recall dates file sets what the GP record shows on the current
year's entries; a review coded there this year closes the entry; hostile files give row errors or a
file-level rejection, never a crash; the importer's practices only; bulk; audited."""

import io
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from caseload.models import LongTermCondition
from caseload.services.import_files import FileRejected
from pcn.models import AuditEvent, User
from recall.models import RecallEntry
from recall.services.reconcile import NOT_YOURS, recall_dates_import
from tests.factories import PatientFactory
from tests.recall.conftest import TODAY, YEAR, entry_of, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

State = RecallEntry.State


@pytest.fixture
def frozen():
    with time_machine.travel(date(2026, 12, 3), tick=False):
        yield


def diabetic_entry(practice, **fields) -> RecallEntry:
    patient = PatientFactory(practice=practice, ltc_flags=LongTermCondition.DIABETES | LongTermCondition.COPD)
    return RecallEntry.objects.create(
        patient=patient, register=register("diabetes"), year=YEAR, due_month=date(2026, 6, 1), **fields
    )


def write(tmp_path: Path, text: str | bytes, name: str = "dates.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_review_coded_this_year_closes_the_entry_as_seen(tmp_path, coordinator, practice_a):
    entry = diabetic_entry(practice_a, state=State.INVITED, invitations=1, last_invited_on=date(2026, 9, 1))
    nhs = entry.patient.nhs_number
    path = write(
        tmp_path,
        f"NHS Number,last_review_diabetes,last_invited_diabetes,pca_diabetes\n{nhs},05/10/2026,2026-09-01,\n",
    )

    result = recall_dates_import(path=path, by=coordinator.user)

    assert (result.rows, result.matched, result.entries_updated, result.reviews_closed, result.invalid_rows) == (
        1, 1, 1, 1, 0,
    )  # fmt: skip
    entry.refresh_from_db()
    assert (entry.state, entry.seen_on, entry.seen_source) == (State.SEEN, date(2026, 10, 5), "gp_record")
    assert (entry.gp_last_review_on, entry.gp_last_invited_on, entry.gp_pca_on, entry.gp_checked_on) == (
        date(2026, 10, 5), date(2026, 9, 1), None, TODAY,
    )  # fmt: skip
    assert entry.invitations == 1  # the ledger is not touched
    event = AuditEvent.objects.get(action="recall.reconcile.import")
    assert list(event.patients.values_list("pk", flat=True)) == [entry.patient_id]
    assert event.user == coordinator.user
    assert event.detail == {
        "year": YEAR,
        "rows": 1,
        "matched": 1,
        "entries": 1,
        "reviews_closed": 1,
        "errors": 0,
    }


def test_a_review_before_the_year_is_recorded_and_leaves_the_entry_due(tmp_path, coordinator, practice_a):
    entry = diabetic_entry(practice_a)
    path = write(tmp_path, f"nhs_number,LAST_REVIEW_DIABETES\n{entry.patient.nhs_number},10-Mar-2026\n")

    result = recall_dates_import(path=path, by=coordinator.user)

    entry.refresh_from_db()
    assert (entry.state, entry.gp_last_review_on, entry.gp_checked_on) == (
        State.DUE,
        date(2026, 3, 10),
        TODAY,
    )
    assert result.reviews_closed == 0


def test_seen_here_stays_seen_here_and_pca_and_closed_entries_stay(tmp_path, coordinator, practice_a):
    seen = diabetic_entry(practice_a, state=State.SEEN, seen_on=date(2026, 9, 1), seen_source="here")
    pca = diabetic_entry(practice_a, state=State.PCA, pca_reason="unsuitable", pca_on=date(2026, 8, 1))
    lines = "".join(f"{e.patient.nhs_number},01/09/2026,01/08/2026\n" for e in (seen, pca))
    path = write(tmp_path, "NHS number,last_review_diabetes,pca_diabetes\n" + lines)

    result = recall_dates_import(path=path, by=coordinator.user)

    seen.refresh_from_db()
    pca.refresh_from_db()
    assert (seen.state, seen.seen_source, seen.gp_last_review_on) == (State.SEEN, "here", date(2026, 9, 1))
    assert (pca.state, pca.gp_pca_on) == (State.PCA, date(2026, 8, 1))
    assert result.reviews_closed == 0


def test_a_hostile_file_gives_row_errors_and_applies_the_good_rows(
    tmp_path, coordinator, practice_a, practice_b
):
    good = diabetic_entry(practice_a)
    theirs = diabetic_entry(practice_b)
    text = (
        b"NHS number,Name,last_review_diabetes\n"
        + f"{good.patient.nhs_number},Good,01/10/2026\n".encode()
        + f"{good.patient.nhs_number[:9]}\x00,Nul,01/10/2026\n".encode()
        + b"1234567890,Bad number,01/10/2026\n"
        + f"{diabetic_entry(practice_a).patient.nhs_number},Bad date,31/02/2026\n".encode()
        + f"{theirs.patient.nhs_number},Other practice,01/10/2026\n".encode()
        + b"9990000018,Unknown,01/10/2026\n"
        + f"{diabetic_entry(practice_a).patient.nhs_number},Future,01/01/2027\n".encode()
    )
    path = write(tmp_path, text)

    result = recall_dates_import(path=path, by=coordinator.user)

    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (3, "NHS number", good.patient.nhs_number[:9] + "\\x00", "contains a control character"),
        (4, "NHS number", "1234567890",
         "This is not a valid NHS number: the check digit does not match. Check it for typing errors."),
        (5, "last_review_diabetes", "31/02/2026", "not a date in the form dd/mm/yyyy, yyyy-mm-dd or dd-Mon-yyyy"),
        (6, "NHS number", theirs.patient.nhs_number[:3] + " " + theirs.patient.nhs_number[3:6] + " "
         + theirs.patient.nhs_number[6:], NOT_YOURS),
        (7, "NHS number", "999 000 0018", NOT_YOURS),
        (8, "last_review_diabetes", "01/01/2027", "the date is in the future"),
    ]  # fmt: skip
    assert (result.rows, result.matched, result.invalid_rows, result.reviews_closed) == (7, 1, 6, 1)
    assert result.ignored_columns == ["Name"]
    good.refresh_from_db()
    theirs.refresh_from_db()
    assert good.state == State.SEEN
    assert (theirs.state, theirs.gp_checked_on, theirs.gp_last_review_on) == (State.DUE, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "NHS number,last_review_diabetis,pca_copd,last_invited_gout\n",
            "These columns name no register: “last_review_diabetis”, “last_invited_gout”.",
        ),
        ("Patient,last_review_diabetes\n", "The file has no NHS number column"),
        ("NHS number,Name\n9990000018,X\n", "The file has no recall columns"),
        ("NHS number,last_review_\x1bdiabetes\n", "contains a control character"),
        ("", "The file is empty."),
    ],
    ids=["unknown-register", "no-nhs-column", "no-recall-column", "control-in-heading", "empty"],
)
def test_a_file_level_problem_rejects_the_whole_file(tmp_path, coordinator, practice_a, text, message):
    entry = diabetic_entry(practice_a)
    path = write(tmp_path, text + f"{entry.patient.nhs_number},01/10/2026\n" if text else "")

    with pytest.raises(FileRejected) as rejected:
        recall_dates_import(path=path, by=coordinator.user)

    assert message in rejected.value.message
    entry.refresh_from_db()
    assert (entry.state, entry.gp_checked_on) == (State.DUE, None)
    assert not AuditEvent.objects.filter(action="recall.reconcile.import").exists()


def test_an_xlsx_file_with_date_cells_and_repeated_patients(tmp_path, coordinator, practice_a):
    entry = diabetic_entry(practice_a)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["NHS Number", "last_invited_diabetes", "last_review_copd"])
    sheet.append([entry.patient.nhs_number, date(2026, 5, 1), None])
    sheet.append([entry.patient.nhs_number, date(2026, 9, 1), "01/11/2026"])  # the later date wins
    workbook.save(tmp_path / "dates.xlsx")

    result = recall_dates_import(path=tmp_path / "dates.xlsx", by=coordinator.user)

    entry.refresh_from_db()
    assert (entry.gp_last_invited_on, entry.gp_checked_on) == (date(2026, 9, 1), TODAY)
    assert (result.rows, result.matched, result.entries_updated) == (2, 1, 1)
    assert result.not_on_register == 1  # a COPD review date; the patient has no COPD entry this year
    assert result.registers == ["COPD", "Diabetes"]


def test_the_import_is_bulk_whatever_the_rows(tmp_path, coordinator, practice_a):
    def queries(entries: list[RecallEntry]) -> int:
        lines = "".join(f"{e.patient.nhs_number},01/10/2026,01/09/2026\n" for e in entries)
        path = write(tmp_path, "NHS number,last_review_diabetes,last_invited_diabetes\n" + lines)
        user = User.objects.get(pk=coordinator.user.pk)  # its memberships not yet read
        with CaptureQueriesContext(connection) as context:
            result = recall_dates_import(path=path, by=user)
        assert result.matched == len(entries)
        return len(context)

    # registers, memberships, patients, (savepoint) entries, one UPDATE, the audit ×2 (release)
    assert queries([diabetic_entry(practice_a)]) == 9
    assert queries([diabetic_entry(practice_a) for _ in range(40)]) == 9


def test_the_page_reconciles_an_upload_and_shows_the_result(sign_in_as, coordinator, practice_a):
    entry = diabetic_entry(practice_a)
    client = sign_in_as(coordinator)
    assert client.get(reverse("recall:reconcile")).status_code == 200
    upload = SimpleUploadedFile(
        "dates.csv", f"NHS number,last_review_diabetes\n{entry.patient.nhs_number},01/10/2026\n1,x\n".encode()
    )

    response = client.post(reverse("recall:reconcile"), {"file": upload})

    assert response.status_code == 200
    content = response.content.decode()
    assert '<dd class="nhsuk-summary-list__value" data-testid="closed">1</dd>' in content
    assert '<dd class="nhsuk-summary-list__value" data-testid="invalid">1</dd>' in content
    assert content.count('data-testid="row-error"') == 2  # row 3: its NHS number and its date
    assert entry_of(entry.patient).state == State.SEEN


def test_the_page_says_why_a_file_was_rejected(sign_in_as, coordinator, practice_a):
    entry = diabetic_entry(practice_a)
    client = sign_in_as(coordinator)
    upload = SimpleUploadedFile(
        "dates.csv", f"NHS number,last_review_gout\n{entry.patient.nhs_number},01/10/2026\n".encode()
    )

    response = client.post(reverse("recall:reconcile"), {"file": upload})

    assert response.context["result"] is None
    assert "These columns name no register: “last_review_gout”" in response.content.decode()
    entry.refresh_from_db()
    assert entry.gp_checked_on is None


def test_the_page_refuses_a_file_over_its_row_limit(sign_in_as, coordinator, practice_a, settings):
    settings.RECALL_DATES_MAX_ROWS = 2
    entry = diabetic_entry(practice_a)
    client = sign_in_as(coordinator)
    rows = "".join(f"{entry.patient.nhs_number},01/10/2026\n" for _ in range(3))
    upload = SimpleUploadedFile("dates.csv", ("NHS number,last_review_diabetes\n" + rows).encode())

    response = client.post(reverse("recall:reconcile"), {"file": upload})

    assert "more than 2 rows" in response.context["rejected"]
    assert entry_of(entry.patient).state == State.DUE


def test_the_command_reconciles_as_the_user(tmp_path, coordinator, practice_a):
    entry = diabetic_entry(practice_a)
    path = write(tmp_path, f"NHS number,last_review_diabetes\n{entry.patient.nhs_number},01/10/2026\nx,y\n")
    out = io.StringIO()

    call_command("import_recall_dates", str(path), "--user", coordinator.user.email, stdout=out)

    assert out.getvalue().splitlines() == [
        "QOF year 2026/27: 2 rows, 1 patients matched, 1 reviews updated, 1 closed as seen, 0 dates for "
        "registers the patient is not on, 1 rows with errors.",
        "  row 3, NHS number: Enter an NHS number using digits only, like 999 000 0018. (x)",
        "  row 3, last_review_diabetes: not a date in the form dd/mm/yyyy, yyyy-mm-dd or dd-Mon-yyyy (y)",
    ]
    assert entry_of(entry.patient).state == State.SEEN
