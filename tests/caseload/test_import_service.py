"""The population import service: every kind of good and bad file, all or nothing, idempotency.

The write runs on PostgreSQL's COPY + one upsert statement; the tests marked with `write_path`
run twice, the second time through the ORM's bulk path (SQLite's), which must agree.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from caseload.models import CareHome, ImportBatch, ImportProfile, LongTermCondition, Patient, RiskSnapshot
from caseload.services import import_runs
from caseload.services.import_runs import population_import_file
from pcn.models import AuditEvent
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import (
    CANONICAL_HEADER,
    CANONICAL_SAMPLE,
    EMIS_HEADER,
    EMIS_SAMPLE,
    ICB_HEADER,
    ICB_SAMPLE,
    canonical_row,
    report_rows,
    state,
    write_csv,
)
from tests.factories import PatientFactory

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

NUMBERS = list(synthetic_sequence(start=3000))[:50]  # 999 003 …: clear of the samples and factories
N1, N2, N3, N4 = NUMBERS[:4]


def wrong_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


@pytest.fixture(params=["copy", "orm"])
def write_path(request, monkeypatch) -> str:
    """Run the test through PostgreSQL's COPY path and through the ORM's bulk path."""
    if request.param == "orm":
        monkeypatch.setattr(import_runs, "_use_copy", lambda: False)
    return request.param


def run(path: Path, profile: ImportProfile, **kwargs) -> ImportBatch:
    return population_import_file(path=path, profile=profile, **kwargs)


# --- Good files ---------------------------------------------------------------------------------------


def test_canonical_sample_imports_every_column(profiles, sample_care_homes, write_path):
    batch = run(CANONICAL_SAMPLE, profiles["canonical"])

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 20, "new": 20, "updated": 0, "unchanged": 0, "invalid": 0}
    assert batch.unmapped_columns == []
    assert batch.report == {"errors": [], "error_count": 0, "warnings": [], "warning_count": 0, "notes": []}
    assert Patient.objects.count() == 20
    assert RiskSnapshot.objects.filter(batch=batch).count() == 20
    joan = Patient.objects.get(nhs_number="9990020000")
    assert (joan.given_name, joan.family_name, joan.date_of_birth, joan.sex) == (
        "Joan", "Whitfield", date(1938, 2, 3), "F",
    )  # fmt: skip
    assert (joan.practice.ods_code, joan.address, joan.postcode, joan.phone, joan.mobile) == (
        "P99001", "4 Mill Lane, Riverside", "ZZ99 1AB", "01632 960001", "07700 900001",
    )  # fmt: skip
    assert (joan.preferred_language, joan.interpreter_needed, joan.is_carer, joan.has_carer) == (
        "English", False, False, True,
    )  # fmt: skip
    assert joan.care_home.name == "Willow Court Care Home"
    assert (joan.risk_score, joan.efi_score, joan.efi_category) == (
        Decimal("82.4"),
        Decimal("0.41"),
        "severe",
    )
    assert (joan.ae_attendances_12m, joan.emergency_admissions_12m) == (3, 2)
    assert (
        joan.ltc_flags
        == LongTermCondition.DEMENTIA | LongTermCondition.HYPERTENSION | LongTermCondition.HEART_FAILURE
    )
    assert joan.first_batch == batch
    assert joan.previous_risk_score is None
    snapshot = joan.risk_snapshots.get()
    assert (snapshot.risk_score, snapshot.efi_score, snapshot.efi_category, snapshot.source) == (
        Decimal("82.4"), Decimal("0.41"), "severe", "Canonical CSV",
    )  # fmt: skip
    george = Patient.objects.get(family_name="Ellison")
    assert (george.is_deceased, george.risk_score, george.efi_category, george.ltc_flags) == (
        True,
        None,
        "",
        0,
    )


def test_icb_extract_adds_patients_without_names_and_ignores_ltc_count(
    profiles, sample_practices, write_path
):
    batch = run(ICB_SAMPLE, profiles["icb-risk"])

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 60, "new": 60, "updated": 0, "unchanged": 0, "invalid": 0}
    assert batch.unmapped_columns == ["ltc_count"]
    assert batch.report["notes"] == [
        "4 rows say “care home resident” without naming the home: a patient already linked to a care home "
        "keeps it; others are not linked to one. Add the home's name to link them."
    ]
    patient = Patient.objects.get(nhs_number="9990010005")
    assert (patient.given_name, patient.family_name, patient.full_name, patient.display_name) == (
        "", "", "Name not known", "Name not known",
    )  # fmt: skip
    assert (patient.risk_score, patient.efi_score, patient.efi_category) == (
        Decimal("58.3"),
        Decimal("0.24"),
        "mild",
    )
    assert patient.ltc_flags == 0


def test_bom_header_is_read(profiles, sample_practices, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ICB_SAMPLE.read_bytes())

    batch = run(path, profiles["icb-risk"])

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts["new"] == 60


def test_emis_export_is_filled_down_and_conditions_combined(profiles, sample_practices, write_path):
    batch = run(EMIS_SAMPLE, profiles["emis-search"])

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 104, "new": 60, "updated": 0, "unchanged": 0, "invalid": 0}
    assert batch.unmapped_columns == ["Date"]
    assert batch.report["notes"] == []
    # Atrial fibrillation has a register of its own (call/recall), no longer ignored.
    assert Patient.objects.get(nhs_number="9990010498").conditions == ["Atrial fibrillation"]
    # Rows 5-7: 999 001 0218's first row and two filled-down rows.
    taylor = Patient.objects.get(nhs_number="9990010218")
    assert (taylor.family_name, taylor.given_name, taylor.practice.ods_code) == ("TAYLOR", "Fatima", "P99001")
    assert taylor.ltc_flags == LongTermCondition.SMI | LongTermCondition.COPD | LongTermCondition.STROKE_TIA
    assert Patient.objects.get(nhs_number="9990010005").ltc_flags == 0  # no coded condition
    assert Patient.objects.get(nhs_number="9990011125").conditions == [
        "Hypertension", "Coronary heart disease", "Chronic kidney disease",
    ]  # fmt: skip


def test_a_later_icb_import_keeps_the_names_an_emis_import_set(profiles, sample_practices, write_path):
    run(EMIS_SAMPLE, profiles["emis-search"])

    batch = run(ICB_SAMPLE, profiles["icb-risk"])

    assert batch.counts == {"rows": 60, "new": 0, "updated": 60, "unchanged": 0, "invalid": 0}
    taylor = Patient.objects.get(nhs_number="9990010218")
    assert (taylor.family_name, taylor.given_name, taylor.risk_score) == ("TAYLOR", "Fatima", Decimal("58.2"))
    assert taylor.ltc_flags == LongTermCondition.SMI | LongTermCondition.COPD | LongTermCondition.STROKE_TIA
    # The ICB snapshot holds the ICB's figures and the patient's flags.
    snapshot = taylor.risk_snapshots.get(batch=batch)
    assert (snapshot.risk_score, snapshot.efi_score, snapshot.ltc_flags) == (
        Decimal("58.2"), Decimal("0.13"), taylor.ltc_flags,
    )  # fmt: skip


def test_xlsx_with_typed_cells_imports_like_the_csv(profiles, sample_practices, tmp_path, write_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ICB_HEADER.split(","))
    sheet.append([9990010005, "P99002", date(1959, 1, 20), "M", 58.3, 0.24, 4, 0, 0, "N"])
    sheet.append(["999 001 0072", "P99001", "1968-11-26", "M", "55.1", "0.12", 0, 0, 1, "N"])
    sheet.append([None] * 10)  # a blank row is skipped
    path = tmp_path / "extract.xlsx"
    workbook.save(path)

    batch = run(path, profiles["icb-risk"])

    assert batch.status == ImportBatch.Status.DONE, batch.error_message
    assert batch.counts == {"rows": 2, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    first = Patient.objects.get(nhs_number="9990010005")
    assert (first.date_of_birth, first.risk_score, first.efi_score, first.ae_attendances_12m) == (
        date(1959, 1, 20), Decimal("58.3"), Decimal("0.24"), 4,
    )  # fmt: skip
    assert Patient.objects.get(nhs_number="9990010072").date_of_birth == date(1968, 11, 26)


def canonical_reading(profiles, encoding: str) -> ImportProfile:
    """The canonical profile, set to read files in `encoding`."""
    profile = profiles["canonical"]
    profile.encoding = encoding
    profile.save()
    return profile


def saved_by_excel_in_windows_1252(tmp_path: Path, *, given: str) -> Path:
    """A canonical file of one row, N1's (`given` O’Brien), as Excel saves it in Windows-1252."""
    row = canonical_row(N1, given=given, family="O’Brien")
    return write_csv(tmp_path / "excel.csv", CANONICAL_HEADER, row, encoding="cp1252")


def test_cp1252_file_reads_with_a_cp1252_profile(profiles, practice_a, tmp_path):
    profile = canonical_reading(profiles, ImportProfile.Encoding.CP1252)
    path = saved_by_excel_in_windows_1252(tmp_path, given="Renée")

    batch = run(path, profile)

    assert batch.status == ImportBatch.Status.DONE
    assert Patient.objects.values_list("given_name", "family_name").get() == ("Renée", "O’Brien")


# --- Bad files: nothing is written ----------------------------------------------------------------------


def assert_refused(batch: ImportBatch, before: tuple, message: str) -> None:
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == message
    assert state() == before
    assert batch.finished_at is not None


@pytest.mark.parametrize(
    ("cells", "column", "value", "reason"),
    [
        (
            {"nhs_number": wrong_check_digit(N2)},
            "nhs_number",
            wrong_check_digit(N2),
            "This is not a valid NHS number: the check digit does not match. Check it for typing errors.",
        ),
        ({"nhs_number": "12345"}, "nhs_number", "12345", "An NHS number has 10 digits."),
        ({"nhs_number": ""}, "nhs_number", "", "the NHS number is missing"),
        ({"born": "31/02/1950"}, "date_of_birth", "31/02/1950", "the date of birth is not a date in the form dd/mm/yyyy or yyyy-mm-dd"),
        ({"born": "1950-13-01"}, "date_of_birth", "1950-13-01", "the date of birth is not a date in the form dd/mm/yyyy or yyyy-mm-dd"),
        ({"born": "01/01/2999"}, "date_of_birth", "01/01/2999", "the date of birth is in the future"),
        ({"born": "01/01/1890"}, "date_of_birth", "01/01/1890", "the date of birth is before 1900"),
        ({"born": ""}, "date_of_birth", "", "the date of birth is missing"),
        ({"practice": "P99009"}, "practice_code", "P99009", "practice P99009 is not one of the PCN's practices"),
        ({"practice": ""}, "practice_code", "", "the practice code is missing"),
        ({"risk": "100.1"}, "risk_score", "100.1", "the risk score must be a number from 0 to 100"),
        ({"risk": "high"}, "risk_score", "high", "the risk score must be a number from 0 to 100"),
        ({"efi": "1.5"}, "efi_score", "1.5", "the eFI score must be a number from 0 to 1"),
        ({"ae": "366"}, "ae_attendances_12m", "366", "A&E attendances must be a whole number from 0 to 365"),
        ({"admissions": "1.5"}, "emergency_admissions_12m", "1.5", "emergency admissions must be a whole number from 0 to 365"),
        ({"sex": "X"}, "sex", "X", "use M, F, I (indeterminate) or U (not known)"),
        ({"family": ""}, "family_name", "", "the family name is missing"),
        ({"conditions": "diabetes;gout"}, "conditions", "diabetes;gout", "“gout” is not a condition key: use diabetes, hypertension, chd, stroke_tia, heart_failure, copd, asthma, ckd, dementia, smi, learning_disability, cancer, atrial_fibrillation, non_diabetic_hyperglycaemia"),
        ({"resident": "maybe"}, "care_home_resident", "maybe", "use Y or N"),
        ({"resident": "Y", "home": "Nowhere House"}, "care_home_name", "Nowhere House", "care home “Nowhere House” is not known at practice P99001: ask an administrator to add it"),
    ],
)  # fmt: skip
def test_one_bad_row_refuses_the_whole_file(profiles, practice_a, tmp_path, cells, column, value, reason):
    PatientFactory(nhs_number=N4, practice=practice_a)
    path = write_csv(tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2, **cells) if "nhs_number" not in cells else canonical_row(cells["nhs_number"]), canonical_row(N3))  # fmt: skip
    before = state()

    batch = run(path, profiles["canonical"])

    assert_refused(
        batch,
        before,
        "1 row has a problem, so nothing was imported. "
        "Correct the file and import it again, or choose to skip the invalid rows.",
    )
    assert batch.counts == {"rows": 3, "new": 0, "updated": 0, "unchanged": 0, "invalid": 1}
    assert batch.report["errors"] == [[3, column, value, reason]]
    assert report_rows(batch) == [["3", column, value, reason]]


def test_skip_invalid_imports_the_other_rows_and_keeps_the_report(profiles, practice_a, tmp_path, write_path):
    path = write_csv(
        tmp_path / "f.csv",
        CANONICAL_HEADER,
        canonical_row(N1),
        canonical_row(wrong_check_digit(N2)),
        canonical_row(N3, born="32/01/1950"),
        canonical_row(N4),
    )

    batch = run(path, profiles["canonical"], skip_invalid=True)

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 4, "new": 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert sorted(Patient.objects.values_list("nhs_number", flat=True)) == [N1, N4]
    assert [row[:2] for row in report_rows(batch)] == [["3", "nhs_number"], ["4", "date_of_birth"]]
    assert batch.error_count == 2


def test_a_practice_outside_the_users_practices_is_an_invalid_row(
    profiles, sample_practices, manager, tmp_path
):
    path = write_csv(
        tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2, practice="P99003")
    )
    before = state()

    batch = run(path, profiles["canonical"], by=manager.user)

    assert batch.created_by == manager.user
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.report["errors"] == [
        [3, "practice_code", "P99003", "practice P99003 is not one of your practices"]
    ]
    assert state() == before


def test_an_unattended_import_may_write_every_practice(profiles, sample_practices, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2, practice="P99003")
    )

    batch = run(path, profiles["canonical"])

    assert batch.created_by is None
    assert batch.counts["new"] == 2


def test_inactive_practice_is_an_invalid_row(profiles, practice_a, tmp_path):
    practice_a.is_active = False
    practice_a.save()
    path = write_csv(tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1))

    batch = run(path, profiles["canonical"])

    assert batch.report["errors"] == [[2, "practice_code", "P99001", "practice P99001 is marked inactive"]]


def test_duplicate_nhs_numbers_in_a_one_row_per_patient_file(profiles, practice_a, tmp_path):
    path = write_csv(
        tmp_path / "f.csv",
        CANONICAL_HEADER,
        canonical_row(N1),
        canonical_row(N2),
        canonical_row(N1[:3] + " " + N1[3:6] + " " + N1[6:], risk="70"),
    )
    before = state()

    batch = run(path, profiles["canonical"])

    spaced = f"{N1[:3]} {N1[3:6]} {N1[6:]}"
    assert batch.report["errors"] == [[4, "nhs_number", spaced, f"NHS number {spaced} is also on row 2"]]
    assert batch.counts["invalid"] == 1
    assert_refused(batch, before, batch.error_message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (
            (CANONICAL_HEADER + "\r\n").encode(),
            "The file has column headings but no rows of data.",
        ),
        (
            b"nhs_number,practice_code\r\n9990030001,P99001\r\n",
            "The file is missing columns that the “Canonical CSV” profile needs: “given_name”, “family_name”, "
            "“date_of_birth”, “sex”, “address”, “postcode”, “phone”, “mobile”, “preferred_language”, "
            "“interpreter_needed”, “is_carer”, “has_carer”, “care_home_resident”, “care_home_name”, "
            "“is_deceased”, “has_left”, “risk_score”, “efi_score”, “ae_attendances_12m”, "
            "“emergency_admissions_12m”, “conditions”. Check that you chose the right profile; an "
            "administrator can change the profile if the source's columns have changed.",
        ),
        (
            b"\xef\xbb\xbf"
            + (CANONICAL_HEADER + "\r\n" + canonical_row("9990030001", given="Renée")).encode("cp1252"),
            "The file starts with UTF-8's byte order mark but is not in UTF-8: the first character that cannot "
            "be read is in row 2. Save it again as “CSV UTF-8” in Excel and import that.",
        ),
        (
            b"\xff\xfen\x00h\x00s\x00",
            "The file is in UTF-16 (Excel's “Unicode text”). Save it as “CSV UTF-8” and import that.",
        ),
        (
            b"\xd0\xcf\x11\xe0rest",
            "This is an old-style Excel file (.xls). Save it as .xlsx or as CSV and import that.",
        ),
        (
            b"PK\x03\x04not really a zip",
            "The XLSX file could not be opened. Save it again from Excel, or as CSV.",
        ),
        (
            (CANONICAL_HEADER + ",nhs_number\r\n").encode(),
            "The column “nhs_number” appears twice (columns 1 and 24). Remove or rename one of them.",
        ),
    ],
    ids=[
        "empty",
        "headings-only",
        "missing-columns",
        "bom-but-cp1252",
        "utf16",
        "xls",
        "broken-xlsx",
        "twice",
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(profiles, practice_a, tmp_path, content, message):
    PatientFactory(practice=practice_a)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = state()

    batch = run(path, profiles["canonical"])

    assert_refused(batch, before, message)
    assert report_rows(batch) == [["", "", "", message]]


def test_file_over_the_size_limit_is_refused(profiles, practice_a, tmp_path, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    path = write_csv(tmp_path / "big.csv", CANONICAL_HEADER, *[canonical_row(N1)] * 12_000)
    before = state()

    batch = run(path, profiles["canonical"])

    size = path.stat().st_size / 1_048_576
    assert_refused(
        batch,
        before,
        f"The file is {size:.1f} MB: the largest file that can be imported is 1 MB. Split it into smaller files.",
    )


def test_the_shipped_emis_profile_reads_an_export_saved_by_excel_in_windows_1252(
    profiles, sample_practices, tmp_path, write_path
):
    assert profiles["emis-search"].encoding == ImportProfile.Encoding.AUTO
    path = write_csv(
        tmp_path / "emis.csv",
        EMIS_HEADER,
        f'{N1},"O’BRIEN, Zoë (Ms)",01-Feb-1950,Female,P99001,,Asthma',
        ",,,,,£,COPD",
        encoding="cp1252",
    )

    batch = run(path, profiles["emis-search"])

    assert batch.status == ImportBatch.Status.DONE, batch.error_message
    assert batch.counts == {"rows": 2, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}
    patient = Patient.objects.get()
    assert (patient.family_name, patient.given_name) == ("O’BRIEN", "Zoë")
    assert patient.ltc_flags == LongTermCondition.ASTHMA | LongTermCondition.COPD


def test_a_profile_pinned_to_utf8_still_refuses_a_windows_1252_file(profiles, practice_a, tmp_path):
    profile = canonical_reading(profiles, ImportProfile.Encoding.UTF8)
    path = saved_by_excel_in_windows_1252(tmp_path, given="Zoë")
    before = state()

    batch = run(path, profile)

    assert_refused(
        batch,
        before,
        "The file is not in UTF-8: the first character that cannot be read is in row 2. Save it as "
        "“CSV UTF-8” in Excel, or ask an administrator to set this profile's encoding to “Detect”.",
    )


def test_cp1252_profile_refuses_a_utf8_file_with_a_bom(profiles, practice_a, tmp_path):
    profile = canonical_reading(profiles, ImportProfile.Encoding.CP1252)
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (CANONICAL_HEADER + "\r\n" + canonical_row(N1)).encode())

    batch = run(path, profile)

    assert batch.error_message == (
        "The file is in UTF-8 (it starts with a byte order mark), but this profile reads Windows-1252. "
        "Ask an administrator to set the profile's encoding to “Detect” or UTF-8."
    )


def test_row_with_more_cells_than_headings_is_invalid(profiles, practice_a, tmp_path):
    path = write_csv(tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1) + ",extra")

    batch = run(path, profiles["canonical"])

    assert batch.report["errors"] == [
        [2, "", "", "the row has 24 cells but there are 23 column headings: check the delimiter and quoting"]
    ]


# --- Control characters: a row error, never a crash ------------------------------------------------------

CONTROL = "contains a control character"


def test_control_characters_in_cells_refuse_the_file_with_row_errors(profiles, practice_a, tmp_path):
    path = write_csv(
        tmp_path / "f.csv",
        CANONICAL_HEADER,
        canonical_row(N1),
        canonical_row(N2, family="O\x00Brien"),
        canonical_row(N3, sex="F\x00"),
    )
    before = state()

    batch = run(path, profiles["canonical"])

    assert_refused(
        batch,
        before,
        "2 rows have a problem, so nothing was imported. "
        "Correct the file and import it again, or choose to skip the invalid rows.",
    )
    assert batch.counts == {"rows": 3, "new": 0, "updated": 0, "unchanged": 0, "invalid": 2}
    assert batch.report["errors"] == [
        [3, "family_name", "O\\x00Brien", CONTROL],
        [4, "sex", "F\\x00", CONTROL],
    ]
    assert report_rows(batch) == [
        ["3", "family_name", "O\\x00Brien", CONTROL],
        ["4", "sex", "F\\x00", CONTROL],
    ]


def test_skipping_rows_with_control_characters_imports_the_others(profiles, practice_a, tmp_path, write_path):
    path = write_csv(
        tmp_path / "f.csv",
        CANONICAL_HEADER,
        canonical_row(N1, given="Zo\x00e"),
        canonical_row(N2),
        canonical_row(N3).replace("1 High Street", "1 High\x1bStreet"),
    )

    batch = run(path, profiles["canonical"], skip_invalid=True)

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 3, "new": 1, "updated": 0, "unchanged": 0, "invalid": 2}
    assert batch.report["errors"] == [
        [2, "given_name", "Zo\\x00e", CONTROL],
        [4, "address", "1 High\\x1bStreet", CONTROL],
    ]
    assert list(Patient.objects.values_list("nhs_number", flat=True)) == [N2]


def test_a_control_character_in_the_headings_refuses_the_file(profiles, practice_a, tmp_path):
    path = write_csv(
        tmp_path / "f.csv", CANONICAL_HEADER.replace("postcode", "post\x00code"), canonical_row(N1)
    )
    before = state()

    batch = run(path, profiles["canonical"])

    message = (
        "The heading of column 8 (“post\\x00code”) contains a control character: the file is damaged, or is "
        "not a CSV or XLSX file. Export it again and import the new file."
    )
    assert_refused(batch, before, message)
    assert report_rows(batch) == [["", "", "", message]]


def test_an_xlsx_cell_with_excels_escape_for_a_control_character_is_a_row_error(
    profiles, sample_practices, tmp_path
):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ICB_HEADER.split(","))
    sheet.append(["9990010005", "P99002", date(1959, 1, 20), "M", 58.3, 0.24, 4, 0, 0, "N_x0000_"])
    sheet.append(["9990010072", "P99001", date(1968, 11, 26), "M", 55.1, 0.12, 0, 0, 1, "N"])
    path = tmp_path / "extract.xlsx"
    workbook.save(path)

    batch = run(path, profiles["icb-risk"], skip_invalid=True)

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 2, "new": 1, "updated": 0, "unchanged": 0, "invalid": 1}
    assert batch.report["errors"] == [[2, "care_home_resident", "N\\x00", CONTROL]]
    assert list(Patient.objects.values_list("nhs_number", flat=True)) == ["9990010072"]


# --- Re-imports -------------------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(profiles, sample_care_homes, write_path):
    first = run(CANONICAL_SAMPLE, profiles["canonical"])
    before = state()

    again = run(CANONICAL_SAMPLE, profiles["canonical"])

    assert again.status == ImportBatch.Status.DONE
    assert again.counts == {"rows": 20, "new": 0, "updated": 0, "unchanged": 20, "invalid": 0}
    assert state() == before  # updated_at included: no row was touched
    assert RiskSnapshot.objects.filter(batch=again).count() == 0
    assert again.file_sha256 == first.file_sha256
    when = first.finished_at.astimezone()
    assert again.report["notes"][-1].startswith("This file was imported before, on ")
    assert str(when.year) in again.report["notes"][-1]


def test_a_changed_score_updates_one_patient_and_adds_one_snapshot(
    profiles, practice_a, tmp_path, write_path
):
    rows = [canonical_row(N1, risk="40.0"), canonical_row(N2, risk="60.0"), canonical_row(N3)]
    run(write_csv(tmp_path / "v1.csv", CANONICAL_HEADER, *rows), profiles["canonical"])
    untouched = Patient.objects.get(nhs_number=N2).updated_at
    rows[0] = canonical_row(N1, risk="45.5")

    batch = run(write_csv(tmp_path / "v2.csv", CANONICAL_HEADER, *rows), profiles["canonical"])

    assert batch.counts == {"rows": 3, "new": 0, "updated": 1, "unchanged": 2, "invalid": 0}
    changed = Patient.objects.get(nhs_number=N1)
    assert (changed.risk_score, changed.previous_risk_score) == (Decimal("45.5"), Decimal("40.0"))
    assert list(changed.risk_snapshots.order_by("id").values_list("risk_score", flat=True)) == [
        Decimal("40.0"), Decimal("45.5"),
    ]  # fmt: skip
    assert Patient.objects.get(nhs_number=N2).updated_at == untouched
    assert RiskSnapshot.objects.filter(batch=batch).count() == 1


def test_a_changed_address_updates_the_patient_without_a_snapshot(profiles, practice_a, tmp_path, write_path):
    run(write_csv(tmp_path / "v1.csv", CANONICAL_HEADER, canonical_row(N1)), profiles["canonical"])
    changed = canonical_row(N1).replace("1 High Street", "2 Low Street")

    batch = run(write_csv(tmp_path / "v2.csv", CANONICAL_HEADER, changed), profiles["canonical"])

    assert batch.counts["updated"] == 1
    assert Patient.objects.get().address == "2 Low Street"
    assert RiskSnapshot.objects.filter(batch=batch).count() == 0


def test_dry_run_counts_and_writes_nothing(profiles, practice_a, tmp_path, write_path):
    run(
        write_csv(tmp_path / "v1.csv", CANONICAL_HEADER, canonical_row(N1), canonical_row(N2)),
        profiles["canonical"],
    )
    path = write_csv(
        tmp_path / "v2.csv",
        CANONICAL_HEADER,
        canonical_row(N1, risk="1"),
        canonical_row(N2),
        canonical_row(N3),
    )
    before = state()

    batch = run(path, profiles["canonical"], dry_run=True)

    assert (batch.status, batch.dry_run) == (ImportBatch.Status.DONE, True)
    assert batch.counts == {"rows": 3, "new": 1, "updated": 1, "unchanged": 1, "invalid": 0}
    assert state() == before
    assert AuditEvent.objects.filter(action="population.preview", detail__batch_id=batch.pk).count() == 1


# --- Care homes, conditions, profiles without some columns ---------------------------------------------


def test_care_home_resident_without_a_name_keeps_the_current_home_and_n_clears_it(
    profiles, practice_a, tmp_path, write_path
):
    home = CareHome.objects.create(name="Willow Court Care Home", practice=practice_a)
    run(
        write_csv(tmp_path / "v1.csv", CANONICAL_HEADER, canonical_row(N1, resident="Y", home="willow court care home"), canonical_row(N2, resident="Y", home="Willow Court Care Home")),
        profiles["canonical"],
    )  # fmt: skip
    assert set(Patient.objects.values_list("care_home", flat=True)) == {home.pk}

    batch = run(
        write_csv(tmp_path / "v2.csv", CANONICAL_HEADER, canonical_row(N1, resident="Y"), canonical_row(N2, resident="N"), canonical_row(N3, resident="Y")),
        profiles["canonical"],
    )  # fmt: skip

    assert batch.counts == {"rows": 3, "new": 1, "updated": 1, "unchanged": 1, "invalid": 0}
    assert dict(Patient.objects.values_list("nhs_number", "care_home")) == {N1: home.pk, N2: None, N3: None}


def test_y_n_condition_columns_change_only_their_own_flags(profiles, practice_a, tmp_path, write_path):
    run(write_csv(tmp_path / "v1.csv", CANONICAL_HEADER, canonical_row(N1, conditions="diabetes;copd;asthma")), profiles["canonical"])  # fmt: skip
    profile = ImportProfile.objects.create(
        name="Respiratory register",
        slug="respiratory",
        column_map={
            "NHS": "nhs_number",
            "Practice": "practice_code",
            "COPD": "ltc_copd",
            "Asthma": "ltc_asthma",
        },
        date_formats=["%d/%m/%Y"],
    )
    path = write_csv(tmp_path / "resp.csv", "NHS,Practice,COPD,Asthma", f"{N1},P99001,Y,N")

    batch = run(path, profile)

    assert batch.counts["updated"] == 1
    assert Patient.objects.get().ltc_flags == LongTermCondition.DIABETES | LongTermCondition.COPD


def test_a_profile_without_dates_of_birth_updates_but_cannot_add(profiles, practice_a, tmp_path, write_path):
    PatientFactory(nhs_number=N1, practice=practice_a, date_of_birth=date(1950, 5, 5))
    profile = ImportProfile.objects.create(
        name="Scores only",
        slug="scores",
        column_map={"nhs": "nhs_number", "practice": "practice_code", "score": "risk_score"},
        date_formats=["%d/%m/%Y"],
    )
    path = write_csv(tmp_path / "s.csv", "nhs,practice,score", f"{N1},P99001,12.3", f"{N2},P99001,45.6")

    batch = run(path, profile, skip_invalid=True)

    assert batch.counts == {"rows": 2, "new": 0, "updated": 1, "unchanged": 0, "invalid": 1}
    assert batch.report["errors"] == [
        [
            3, "", f"{N2[:3]} {N2[3:6]} {N2[6:]}",
            "this patient is not on the register yet, and a new patient needs a date of birth, which this "
            "profile has no column for",
        ]
    ]  # fmt: skip
    patient = Patient.objects.get()
    assert (patient.risk_score, patient.date_of_birth) == (Decimal("12.3"), date(1950, 5, 5))


def test_a_repeated_patient_block_is_a_warning_in_the_report_and_still_imported(
    profiles, sample_practices, tmp_path, write_path
):
    spaced = f"{N1[:3]} {N1[3:6]} {N1[6:]}"
    path = write_csv(
        tmp_path / "emis.csv",
        EMIS_HEADER,
        f'{spaced},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Asthma',
        ",,,,,,COPD",
        f'{N2},"JONES, Bob (Mr)",01-Mar-1940,Male,P99002,,Asthma',
        f'{spaced},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Dementia',
    )
    reason = (
        "the same NHS number is on row 2, with other patients' rows in between: both blocks of rows are "
        "imported as this one patient"
    )

    batch = run(path, profiles["emis-search"])

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 4, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert batch.report == {
        "errors": [],
        "error_count": 0,
        "warnings": [[5, "NHS Number", spaced, reason]],
        "warning_count": 1,
        "notes": [],
    }
    assert report_rows(batch) == [["5", "NHS Number", spaced, f"Warning, still imported: {reason}"]]
    assert Patient.objects.get(nhs_number=N1).ltc_flags == (
        LongTermCondition.ASTHMA | LongTermCondition.COPD | LongTermCondition.DEMENTIA
    )


def test_errors_and_warnings_share_the_report_in_row_order(profiles, sample_practices, tmp_path):
    path = write_csv(
        tmp_path / "emis.csv",
        EMIS_HEADER,
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Asthma',
        f'{N2},"JONES, Bob (Mr)",01-Mar-1940,Male,P99002,,Asthma',
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,COPD',
        f'{N3},"BROWN, Cy (Mr)",01-Mar-1940,Male,P99009,,Asthma',
    )

    batch = run(path, profiles["emis-search"], skip_invalid=True)

    assert report_rows(batch) == [
        [
            "4", "NHS Number", N1,
            "Warning, still imported: the same NHS number is on row 2, with other patients' rows in "
            "between: both blocks of rows are imported as this one patient",
        ],
        ["5", "Practice", "P99009", "practice P99009 is not one of the PCN's practices"],
    ]  # fmt: skip


def test_a_multi_row_patient_whose_rows_disagree_is_not_imported(profiles, sample_practices, tmp_path):
    path = write_csv(
        tmp_path / "emis.csv",
        EMIS_HEADER,
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Asthma',
        ",,,,,,COPD",
        ",,02-Feb-1950,,,,Dementia",
        f'{N2},"JONES, Bob (Mr)",01-Mar-1940,Male,P99002,,Asthma',
    )

    batch = run(path, profiles["emis-search"], skip_invalid=True)

    assert batch.counts == {"rows": 4, "new": 1, "updated": 0, "unchanged": 0, "invalid": 3}
    spaced = f"{N1[:3]} {N1[3:6]} {N1[6:]}"
    assert batch.report["errors"] == [
        [2, "NHS Number", spaced, "not imported: row 4 for the same NHS number has a problem"],
        [3, "NHS Number", spaced, "not imported: row 4 for the same NHS number has a problem"],
        [4, "Date of Birth", "02-Feb-1950", "differs from row 2 for the same NHS number"],
    ]
    assert list(Patient.objects.values_list("family_name", "ltc_flags")) == [
        ("JONES", int(LongTermCondition.ASTHMA))
    ]


def test_report_escapes_formulas_echoed_from_the_file(profiles, practice_a, tmp_path):
    path = write_csv(tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1, sex='=HYPERLINK("http://x")'))

    batch = run(path, profiles["canonical"])

    assert report_rows(batch) == [
        ["2", "sex", '\'=HYPERLINK("http://x")', "use M, F, I (indeterminate) or U (not known)"]
    ]


def test_every_import_is_audited_without_listing_patients(profiles, practice_a, tmp_path):
    batch = run(write_csv(tmp_path / "f.csv", CANONICAL_HEADER, canonical_row(N1)), profiles["canonical"])

    event = AuditEvent.objects.get(action="population.import")
    assert event.detail == {
        "batch_id": batch.pk,
        "profile": "Canonical CSV",
        "status": "done",
        "dry_run": False,
        "skip_invalid": False,
        "counts": {"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0},
        "patient_list": "not listed: the batch's risk snapshots and first_batch name the patients it added or changed",
    }
    assert event.patient_links.count() == 0
