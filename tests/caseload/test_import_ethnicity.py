"""Ethnicity comes in with a population import, like any text column, on both write paths."""

import pytest

from caseload.models import ImportBatch, ImportProfile, Patient
from caseload.services import import_runs
from caseload.services.import_files import FIELDS, TEXT_FIELDS
from caseload.services.import_runs import population_import_file
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import write_csv
from tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

N1, N2, N3 = list(synthetic_sequence(start=7100))[:3]
HEADER = "NHS,ODS,DOB,Ethnic"


@pytest.fixture(params=["copy", "orm"])
def write_path(request, monkeypatch) -> str:
    if request.param == "orm":
        monkeypatch.setattr(import_runs, "_use_copy", lambda: False)
    return request.param


@pytest.fixture
def profile(db) -> ImportProfile:
    return ImportProfile.objects.create(
        name="Ethnicity test", slug="ethnicity-test",
        column_map={"NHS": "nhs_number", "ODS": "practice_code", "DOB": "date_of_birth", "Ethnic": "ethnicity"},
        date_formats=["%d/%m/%Y"], one_row_per_patient=True,
    )  # fmt: skip


def test_ethnicity_is_an_import_field_of_at_most_100_characters():
    assert FIELDS["ethnicity"].label == "Ethnicity"
    assert TEXT_FIELDS["ethnicity"] == Patient._meta.get_field("ethnicity").max_length == 100


def test_an_import_fills_clears_and_keeps_ethnicity(tmp_path, practice_a, profile, write_path):
    known = PatientFactory(nhs_number=N2, practice=practice_a, ethnicity="Indian")
    untouched = PatientFactory(nhs_number=N3, practice=practice_a, ethnicity="Irish")
    path = write_csv(
        tmp_path / "ethnicity.csv",
        HEADER,
        f"{N1},P99001,01/02/1940,White British",
        f"{N2},P99001,01/02/1941,",
    )

    batch = population_import_file(path=path, profile=profile)

    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 2, "new": 1, "updated": 1, "unchanged": 0, "invalid": 0}
    assert Patient.objects.get(nhs_number=N1).ethnicity == "White British"
    known.refresh_from_db()
    untouched.refresh_from_db()
    assert (known.ethnicity, untouched.ethnicity) == ("", "Irish")  # a blank cell clears; absent keeps


def test_a_new_patient_from_a_file_without_the_column_has_no_ethnicity(tmp_path, practice_a, write_path):
    profile = ImportProfile.objects.create(
        name="No ethnicity", slug="no-ethnicity", column_map={"NHS": "nhs_number", "ODS": "practice_code",
        "DOB": "date_of_birth"}, date_formats=["%d/%m/%Y"],
    )  # fmt: skip
    path = write_csv(tmp_path / "plain.csv", "NHS,ODS,DOB", f"{N1},P99001,01/02/1940")

    assert population_import_file(path=path, profile=profile).status == ImportBatch.Status.DONE
    assert Patient.objects.get(nhs_number=N1).ethnicity == ""


def test_an_ethnicity_over_100_characters_is_a_row_error(tmp_path, practice_a, profile, write_path):
    path = write_csv(tmp_path / "long.csv", HEADER, f"{N1},P99001,01/02/1940,{'x' * 101}")

    batch = population_import_file(path=path, profile=profile)

    assert batch.status == ImportBatch.Status.FAILED
    assert [error[1] for error in batch.report["errors"]] == ["Ethnic"]
    assert not Patient.objects.filter(nhs_number=N1).exists()
