import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from pcn.audit import audit
from pcn.models import AuditEvent, AuditEventPatient
from tests.factories import PatientFactory


def test_viewing_a_patient_writes_exactly_one_event_naming_them(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    before = AuditEvent.objects.count()

    assert client.get(reverse("overview:patient_detail", args=[patient.pk])).status_code == 200

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert (event.user, event.action, event.ip_address) == (coordinator.user, "patient.view", "127.0.0.1")
    assert event.path == f"/patients/{patient.pk}/"
    assert list(event.patients.all()) == [patient]


def test_a_refused_view_writes_no_event(sign_in_as, outsider, patient):
    client = sign_in_as(outsider)
    before = AuditEvent.objects.count()
    assert client.get(reverse("overview:patient_detail", args=[patient.pk])).status_code == 404
    assert AuditEvent.objects.count() == before


def test_a_list_names_every_patient_it_showed(sign_in_as, coordinator):
    shown = PatientFactory.create_batch(3, practice=coordinator.practice)
    client = sign_in_as(coordinator)

    assert client.get(reverse("caseload:patient_list")).status_code == 200

    event = AuditEvent.objects.latest("id")
    assert event.action == "patient.list"
    assert set(event.patients.all()) == set(shown)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database guard is PostgreSQL's")
def test_audit_rows_cannot_be_updated_or_deleted(patient, coordinator):
    event = audit(None, "patient.view", [patient], user=coordinator.user)

    def raw(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])

    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action="nothing"),
        lambda: AuditEventPatient.objects.filter(event=event).update(patient_id=event.pk),
        lambda: AuditEventPatient.objects.filter(event=event).delete(),
        lambda: raw("DELETE FROM pcn_auditevent WHERE id = %s"),
        lambda: raw("UPDATE pcn_auditevent SET at = now() WHERE id = %s"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()

    event.refresh_from_db()
    assert event.action == "patient.view"
    assert list(event.patients.all()) == [patient]


def test_audit_page_answers_who_accessed_this_patient(
    sign_in_as, administrator, coordinator, clinical_lead, patient
):
    other = PatientFactory(practice=patient.practice)
    audit(None, "patient.view", [patient], user=coordinator.user)
    audit(None, "patient.view", [other], user=clinical_lead.user)
    client = sign_in_as(administrator)

    response = client.get(reverse("audit:event_list"), {"nhs_number": patient.nhs_number})

    assert response.status_code == 200
    assert [e.user for e in response.context["events"]] == [coordinator.user]


def test_audit_page_answers_what_a_user_accessed_between_dates(
    sign_in_as, administrator, coordinator, patient
):
    old = audit(None, "patient.view", [patient], user=coordinator.user)
    client = sign_in_as(administrator)
    today = old.at.date().isoformat()

    hit = client.get(
        reverse("audit:event_list"), {"user": coordinator.user.pk, "date_from": today, "date_to": today}
    )
    miss = client.get(
        reverse("audit:event_list"),
        {"user": coordinator.user.pk, "date_from": "2020-01-01", "date_to": "2020-12-31"},
    )

    assert [e.pk for e in hit.context["events"]] == [old.pk]
    assert list(miss.context["events"]) == []


def test_audit_page_rejects_a_bad_nhs_number_and_backwards_dates(sign_in_as, administrator):
    client = sign_in_as(administrator)
    response = client.get(
        reverse("audit:event_list"), {"nhs_number": "123", "date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    form = response.context["form"]
    assert form.errors == {
        "nhs_number": ["An NHS number has 10 digits."],
        "date_to": ["The end date must be the same as or after the start date."],
    }
    assert list(response.context["events"]) == []


def test_audit_csv_download_is_itself_audited_and_escaped(sign_in_as, administrator, coordinator, patient):
    audit(None, "=HYPERLINK(1)", [patient], user=coordinator.user)
    client = sign_in_as(administrator)

    response = client.get(reverse("audit:event_export"), {"user": coordinator.user.pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["When", "User", "Email", "Action", "NHS numbers", "IP address", "Path"]
    assert rows[1][1:5] == ["Cara Coordinator", "cara@example.test", "'=HYPERLINK(1)", patient.nhs_number]
    assert AuditEvent.objects.latest("id").action == "audit.export"
