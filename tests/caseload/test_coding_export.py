"""The coding export: what the GP record should learn, per practice and date range, to be entered
by hand; rows ticked off as entered; a CSV download that is audited and escaped."""

import csv
import io
from datetime import date, datetime
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from caseload.models import CodingEntry
from caseload.services.coding import coding_entries_mark_entered
from pcn.models import AuditEvent
from tests.factories import PatientFactory

_sources = count()


def entry(
    patient, coded_on, *, by, term="Referral to social prescribing service", snomed_id="871731000000106"
):
    return CodingEntry.objects.create(
        patient=patient, coded_on=coded_on, term=term, snomed_id=snomed_id, recorded_by=by,
        source=f"test:{next(_sources)}",
    )  # fmt: skip


def page_url(practice, start="2025-03-01", end="2025-03-31", **extra) -> str:
    query = {"practice": practice.pk, "start": start, "end": end, **extra}
    return reverse("caseload:coding_export") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def csv_url(practice, start="2025-03-01", end="2025-03-31", **extra) -> str:
    return page_url(practice, start, end, **extra).replace(
        reverse("caseload:coding_export"), reverse("caseload:coding_export_csv")
    )


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def rows(coordinator, outsider, patient, practice_a, practice_b):
    other = PatientFactory(practice=practice_b, nhs_number="9990000018", given_name="Bo", family_name="Other")
    return {
        "before": entry(patient, date(2025, 2, 28), by=coordinator.user),
        "first": entry(patient, date(2025, 3, 1), by=coordinator.user),
        "pam": entry(patient, date(2025, 3, 15), by=coordinator.user, term="Patient Activation Measure Level",
                     snomed_id="962851000000103"),
        "no_id": entry(patient, date(2025, 3, 31), by=coordinator.user, term="Benefits advice", snomed_id=""),
        "after": entry(patient, date(2025, 4, 1), by=coordinator.user),
        "other_practice": entry(other, date(2025, 3, 10), by=outsider.user),
    }  # fmt: skip


def test_page_shows_the_practices_rows_in_the_date_range(sign_in_as, coordinator, practice_a, rows):
    response = sign_in_as(coordinator).get(page_url(practice_a))
    assert response.status_code == 200
    assert [row.pk for row in response.context["rows"]] == [
        rows["first"].pk,
        rows["pam"].pk,
        rows["no_id"].pk,
    ]
    body = response.content.decode()
    assert "No SNOMED CT id is known for this activity yet; enter the term." in body
    assert patient_number(rows["first"]) in body
    assert (
        AuditEvent.objects.get(action="coding.list").patient_links.get().patient_id
        == rows["first"].patient_id
    )


def patient_number(row) -> str:
    nhs = row.patient.nhs_number
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def test_defaults_to_the_users_practice_and_the_last_30_days(sign_in_as, coordinator, patient, practice_a):
    today = timezone.localdate()
    recent = entry(patient, today, by=coordinator.user)
    response = sign_in_as(coordinator).get(reverse("caseload:coding_export"))
    form = response.context["form"]
    assert form.cleaned_data["practice"] == practice_a
    assert (form.cleaned_data["end"] - form.cleaned_data["start"]).days == 30
    assert [row.pk for row in response.context["rows"]] == [recent.pk]


def test_outsider_never_sees_another_practices_rows(sign_in_as, outsider, practice_a, practice_b, rows):
    client = sign_in_as(outsider)
    response = client.get(page_url(practice_a))
    assert response.context["rows"] == []
    assert response.context["form"].errors == {"practice": ["Select one of your practices"]}
    assert [p for p in response.context["form"].fields["practice"].queryset] == [practice_b]
    response = client.get(page_url(practice_b))
    assert [row.pk for row in response.context["rows"]] == [rows["other_practice"].pk]

    response = client.get(csv_url(practice_a))
    assert response.status_code == 302  # back to the page with the error; no file
    assert not AuditEvent.objects.filter(action="coding.export").exists()
    response = client.get(csv_url(practice_b))
    assert csv_rows(response) == [
        ["NHS number", "Date", "SNOMED CT id", "Term", "Recorded by"],
        [
            "999 000 0018",
            "10/03/2025",
            "871731000000106",
            "Referral to social prescribing service",
            "Olu Outsider",
        ],
    ]


def test_csv_download_is_escaped_and_audited(sign_in_as, coordinator, practice_a, patient, rows):
    entry(patient, date(2025, 3, 20), by=coordinator.user, term='=HYPERLINK("http://x")', snomed_id="")
    coordinator.user.full_name = "@Cara"
    coordinator.user.save()
    response = sign_in_as(coordinator).get(csv_url(practice_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="coding-P99001-20250301-20250331.csv"'
    nhs = patient_number(rows["first"])
    assert csv_rows(response) == [
        ["NHS number", "Date", "SNOMED CT id", "Term", "Recorded by"],
        [nhs, "01/03/2025", "871731000000106", "Referral to social prescribing service", "'@Cara"],
        [nhs, "15/03/2025", "962851000000103", "Patient Activation Measure Level", "'@Cara"],
        [nhs, "20/03/2025", "", '\'=HYPERLINK("http://x")', "'@Cara"],
        [nhs, "31/03/2025", "", "Benefits advice", "'@Cara"],
    ]
    event = AuditEvent.objects.get(action="coding.export")
    assert list(event.patient_links.values_list("patient_id", flat=True)) == [patient.pk]
    assert event.detail == {
        "rows": 4,
        "practice": "P99001",
        "start": "2025-03-01",
        "end": "2025-03-31",
        "entered": "no",
    }


def test_entered_filter(sign_in_as, coordinator, practice_a, rows):
    coding_entries_mark_entered(entries=[rows["pam"]], by=coordinator.user)
    client = sign_in_as(coordinator)
    shown = lambda **extra: [row.pk for row in client.get(page_url(practice_a, **extra)).context["rows"]]  # noqa: E731
    assert shown() == [rows["first"].pk, rows["no_id"].pk]
    assert shown(entered="yes") == [rows["pam"].pk]
    assert shown(entered="all") == [rows["first"].pk, rows["pam"].pk, rows["no_id"].pk]


@pytest.mark.parametrize(
    ("start", "end", "errors"),
    [
        ("2025-03-31", "2025-03-01", {"end": ["The last date must be the same as or after the first date"]}),
        ("2024-03-01", "2025-03-01", {"end": ["Choose a range of no more than 12 months"]}),
        ("2025-02-30", "2025-03-01", {"start": ["Enter a real date"]}),
    ],
)
def test_date_range_is_validated(sign_in_as, coordinator, practice_a, rows, start, end, errors):
    response = sign_in_as(coordinator).get(page_url(practice_a, start=start, end=end))
    assert response.context["form"].errors == errors
    assert response.context["rows"] == []
    assert "nhsuk-error-summary" in response.content.decode()


def test_a_full_year_is_allowed(sign_in_as, coordinator, practice_a, rows):
    response = sign_in_as(coordinator).get(page_url(practice_a, start="2024-04-01", end="2025-03-31"))
    assert response.context["form"].errors == {}
    assert len(response.context["rows"]) == 4


def test_mark_as_entered_is_idempotent(coordinator, clinical_lead, rows):
    first = coding_entries_mark_entered(entries=[rows["first"], rows["pam"]], by=coordinator.user)
    assert first == 2
    rows["first"].refresh_from_db()
    entered_at = rows["first"].entered_at
    assert (rows["first"].entered_by, entered_at is not None) == (coordinator.user, True)
    again = coding_entries_mark_entered(
        entries=CodingEntry.objects.filter(pk__in=[rows["first"].pk, rows["no_id"].pk]), by=clinical_lead.user
    )
    assert again == 1
    rows["first"].refresh_from_db()
    rows["no_id"].refresh_from_db()
    assert (rows["first"].entered_at, rows["first"].entered_by) == (entered_at, coordinator.user)
    assert rows["no_id"].entered_by == clinical_lead.user
    assert coding_entries_mark_entered(entries=[rows["first"]], by=clinical_lead.user) == 0
    assert AuditEvent.objects.filter(action="coding.mark_entered").count() == 2


def test_mark_selected_rows_through_the_page(sign_in_as, coordinator, practice_a, rows):
    client = sign_in_as(coordinator)
    query = f"practice={practice_a.pk}&start=2025-03-01&end=2025-03-31"
    url = reverse("caseload:coding_export")
    response = client.post(url, {"entry": [rows["first"].pk, rows["pam"].pk], "query": query}, follow=True)
    assert response.redirect_chain == [(f"{url}?{query}", 302)]
    assert "2 rows marked as entered in the GP record." in response.content.decode()
    assert [row.pk for row in response.context["rows"]] == [rows["no_id"].pk]
    response = client.post(url, {"entry": [rows["first"].pk, rows["no_id"].pk], "query": query}, follow=True)
    assert "1 row marked as entered in the GP record. 1 was already marked." in response.content.decode()
    response = client.post(url, {"query": query}, follow=True)
    assert "Select the rows you have entered in the GP record." in response.content.decode()


def test_outsider_cannot_mark_another_practices_rows(sign_in_as, outsider, rows):
    response = sign_in_as(outsider).post(reverse("caseload:coding_export"), {"entry": [rows["first"].pk]})
    assert response.status_code == 302
    rows["first"].refresh_from_db()
    assert (rows["first"].entered_at, rows["first"].entered_by) == (None, None)
    assert not AuditEvent.objects.filter(action="coding.mark_entered").exists()


def test_query_counts_do_not_grow(sign_in_as, coordinator, practice_a, patient):
    client = sign_in_as(coordinator)
    entry(patient, date(2025, 3, 1), by=coordinator.user)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        assert response.status_code == 200
        return len(captured)

    one = (queries(page_url(practice_a)), queries(csv_url(practice_a)))
    for day in range(1, 30):
        other = PatientFactory(practice=practice_a)
        entry(other, date(2025, 3, day), by=coordinator.user)
    assert (queries(page_url(practice_a)), queries(csv_url(practice_a))) == one == (14, 12)


def test_timestamps_are_kept_for_entered_rows(coordinator, rows):
    before = timezone.now()
    coding_entries_mark_entered(entries=[rows["first"]], by=coordinator.user)
    rows["first"].refresh_from_db()
    assert before <= rows["first"].entered_at <= timezone.now()
    assert isinstance(rows["first"].entered_at, datetime)
