"""Helpers for the population import tests (tests/caseload/test_import_*.py): sample files, rows, state."""

import csv
import importlib
import io
from pathlib import Path
from typing import Any

from caseload.models import Patient, RiskSnapshot

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
CANONICAL_SAMPLE = SAMPLES / "canonical_population.csv"
EMIS_SAMPLE = SAMPLES / "emis_search_export.csv"
ICB_SAMPLE = SAMPLES / "icb_risk_extract.csv"

CANONICAL_HEADER = (
    "nhs_number,given_name,family_name,date_of_birth,sex,practice_code,address,postcode,phone,mobile,"
    "preferred_language,interpreter_needed,is_carer,has_carer,care_home_resident,care_home_name,"
    "is_deceased,has_left,risk_score,efi_score,ae_attendances_12m,emergency_admissions_12m,conditions"
)
EMIS_HEADER = "NHS Number,Full Name,Date of Birth,Gender,Practice,Date,Code Term"  # a search's export
ICB_HEADER = (
    "nhs_number,practice_code,date_of_birth,sex,risk_score,efi_score,ae_attendances_12m,"
    "emergency_admissions_12m,ltc_count,care_home_resident"
)


def shipped_profiles() -> list[dict[str, Any]]:
    return importlib.import_module("caseload.migrations.0006_shipped_import_profiles").PROFILES


def write_csv(path: Path, header: str, *rows: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def canonical_row(
    nhs_number: str,
    *,
    given: str = "Ada",
    family: str = "Lovelace",
    born: str = "10/12/1945",
    sex: str = "F",
    practice: str = "P99001",
    risk: str = "50.0",
    efi: str = "0.20",
    ae: str = "1",
    admissions: str = "0",
    conditions: str = "diabetes",
    resident: str = "N",
    home: str = "",
) -> str:
    cells = [
        nhs_number, given, family, born, sex, practice, "1 High Street", "ZZ99 1AB", "01632 960000",
        "07700 900000", "English", "N", "N", "N", resident, home, "N", "N", risk, efi, ae, admissions,
        conditions,
    ]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def state() -> tuple[int, int, list[tuple]]:
    """Patients, snapshots, and every patient row: what must not change when an import is refused."""
    rows = list(Patient.objects.order_by("nhs_number").values_list())
    return Patient.objects.count(), RiskSnapshot.objects.count(), rows


def report_rows(batch) -> list[list[str]]:
    """The batch's stored error report, parsed (without its heading row)."""
    with batch.report_file.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))[1:]
