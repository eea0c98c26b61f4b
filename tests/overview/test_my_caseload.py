"""My caseload: a coordinator's open episodes (everyone's for leads and managers), and its CSV."""

import csv
import io

from django.urls import reverse

from pcn.models import AuditEvent
from tests.factories import CaseloadEpisodeFactory, PatientFactory


def test_my_caseload_shows_my_own_by_default(sign_in_as, coordinator, second_coordinator, practice_a):
    mine = CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=coordinator.user)
    CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=second_coordinator.user)

    response = sign_in_as(coordinator).get(reverse("overview:my_caseload"))

    assert [e.pk for e in response.context["episodes"]] == [mine.pk]


def test_leads_see_everyones_caseload_and_filter_by_coordinator(
    sign_in_as, clinical_lead, coordinator, second_coordinator, practice_a, outsider, practice_b
):
    first = CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=coordinator.user)
    second = CaseloadEpisodeFactory(
        patient=PatientFactory(practice=practice_a), coordinator=second_coordinator.user
    )
    CaseloadEpisodeFactory(
        patient=PatientFactory(practice=practice_b), coordinator=outsider.user
    )  # out of scope
    client = sign_in_as(clinical_lead)

    everyone = client.get(reverse("overview:my_caseload"))
    just_sam = client.get(reverse("overview:my_caseload"), {"coordinator": second_coordinator.user.pk})

    assert {e.pk for e in everyone.context["episodes"]} == {first.pk, second.pk}
    assert [e.pk for e in just_sam.context["episodes"]] == [second.pk]


def test_my_caseload_query_count_does_not_grow(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    # As Find patients (14), plus validating the coordinator chosen in the filter, plus the care home
    # admissions of the page's patients for the EHCH badge: 16 (with admissions, 17: see
    # tests/careplans/test_ehch_badges.py).
    client = sign_in_as(coordinator)
    CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=coordinator.user)
    with django_assert_num_queries(16):
        client.get(reverse("overview:my_caseload"))
    for _ in range(30):
        CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=coordinator.user)
    with django_assert_num_queries(16):
        response = client.get(reverse("overview:my_caseload"))
    assert len(response.context["episodes"]) == 31


def test_my_caseload_csv_is_what_the_list_shows_escaped_and_audited(
    sign_in_as, coordinator, second_coordinator, practice_a
):
    mine = CaseloadEpisodeFactory(
        patient=PatientFactory(practice=practice_a, family_name="=SUM(A1)", given_name="Ivy"),
        coordinator=coordinator.user,
    )
    CaseloadEpisodeFactory(patient=PatientFactory(practice=practice_a), coordinator=second_coordinator.user)

    response = sign_in_as(coordinator).get(reverse("overview:my_caseload_export"))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["NHS number", "Family name", "Given name"]
    assert [row[1:3] for row in rows[1:]] == [["'=SUM(A1)", "Ivy"]]
    assert rows[1][4] == "Cara Coordinator"
    event = AuditEvent.objects.latest("id")
    assert (event.action, list(event.patients.all())) == ("caseload.export", [mine.patient])
