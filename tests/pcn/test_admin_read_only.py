"""Audit events and import batches are records of what happened: the admin site shows them and offers
no way to add, change or delete one."""

import pytest
from django.urls import reverse

from caseload.models import ImportBatch, ImportProfile
from pcn.audit import audit
from pcn.models import AuditEvent


@pytest.fixture
def records(patient, administrator):
    # A superuser, as `createsuperuser` makes the first one: every model permission Django has.
    administrator.user.is_staff = administrator.user.is_superuser = True
    administrator.user.save(update_fields=["is_staff", "is_superuser"])
    event = audit(None, "patient.view", [patient], user=administrator.user)
    batch = ImportBatch.objects.create(
        profile=ImportProfile.objects.first(), filename="risk.csv", created_by=administrator.user
    )
    return [("pcn", "auditevent", event.pk), ("caseload", "importbatch", batch.pk)]


def test_the_list_and_the_record_are_shown(sign_in_as, administrator, records):
    client = sign_in_as(administrator)
    for app, model, pk in records:
        assert client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200
        page = client.get(reverse(f"admin:{app}_{model}_change", args=[pk]))
        assert page.status_code == 200
        assert 'type="submit"' not in page.content.decode().split('id="content-main"')[1].split("</form>")[0]


def test_adding_and_deleting_are_refused_and_nothing_changes(sign_in_as, administrator, records):
    client = sign_in_as(administrator)
    counts = (AuditEvent.objects.count(), ImportBatch.objects.count())
    for app, model, pk in records:
        assert client.get(reverse(f"admin:{app}_{model}_add")).status_code == 403
        assert (
            client.post(reverse(f"admin:{app}_{model}_delete", args=[pk]), {"post": "yes"}).status_code == 403
        )
    assert (AuditEvent.objects.count(), ImportBatch.objects.count()) == counts
