"""Patient data is never kept by a browser or proxy cache: every response Django makes says no-store."""

import pytest
from django.urls import reverse

from careplans.services.plans import care_plan_draft
from tests.factories import PatientFactory


def assert_no_store(response) -> None:
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "private", "max-age=0"} <= directives


@pytest.mark.parametrize(
    "url_name",
    [
        "caseload:patient_list",
        "caseload:patient_export",
        "overview:my_caseload",
        "overview:my_caseload_export",
    ],
)
def test_lists_and_their_csv_downloads_say_no_store(sign_in_as, coordinator, url_name):
    PatientFactory(practice=coordinator.practice)
    response = sign_in_as(coordinator).get(reverse(url_name))
    assert response.status_code == 200
    assert_no_store(response)


def test_patient_page_says_no_store(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).get(reverse("overview:patient_detail", args=[patient.pk]))
    assert response.status_code == 200
    assert_no_store(response)


def test_a_404_and_the_sign_in_page_say_no_store_too(client, sign_in_as, outsider, patient):
    assert_no_store(client.get(reverse("login")))
    response = sign_in_as(outsider).get(reverse("overview:patient_detail", args=[patient.pk]))
    assert response.status_code == 404
    assert_no_store(response)


def test_care_plan_pdfs_say_no_store(sign_in_as, coordinator, patient):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    client = sign_in_as(coordinator)
    for name in ("careplans:pdf", "careplans:staff_pdf"):
        response = client.get(reverse(name, args=[draft.pk]))
        assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
        assert_no_store(response)
