"""Safeguarding concerns (issue #11): raised on a patient, sent to the practice's safeguarding lead (or its
clinical leads) by an email holding a link only and a task; a restricted banner on the patient page; the
concern's category and words for its readers alone; raised → acknowledged → closed, every change and
every read audited; the emergency guidance for an immediate risk; the Safeguarding list."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from caseload.models import SafeguardingConcern, Task
from caseload.services.safeguarding import (
    TASK_TITLE,
    safeguarding_concern_acknowledge,
    safeguarding_concern_close,
    safeguarding_concern_raise,
)
from caseload.services.safeguarding_notify import safeguarding_concern_notify
from pcn.models import AuditEvent, Role
from pcn.nhs_number import format_nhs_number
from tests.conftest import assert_error_summary, make_person, send_form
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.caseload.import_fixtures"]

WORDS = "She said her son takes her pension card each week and she has no food left by Thursday"
# A Thursday: the task of a concern without immediate risk is due the next working day, Friday.
RAISED_AT = "2026-12-03 10:00:00+00:00"


@pytest.fixture
def lead(safeguarding_lead):
    return safeguarding_lead  # the conftest's, under the name these tests read best with


def raise_concern(patient, by, *, immediate_risk=False, words=WORDS, category="financial"):
    return safeguarding_concern_raise(
        patient=patient, category=category, what_happened=words, immediate_risk=immediate_risk, by=by
    )


def actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def form_data(**changes) -> dict:
    return {"category": "financial", "what_happened": WORDS, "immediate_risk": "no"} | changes


# --- Raising one -----------------------------------------------------------------------------------------


@time_machine.travel(RAISED_AT, tick=False)
def test_raise_from_the_patient_page(
    sign_in_as, coordinator, lead, patient, eager_celery, django_capture_on_commit_callbacks
):
    client = sign_in_as(coordinator)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    page = client.get(patient.get_absolute_url())
    assert f'href="{url}"' in page.text  # "Raise a safeguarding concern" among the patient's actions
    form = client.get(url)
    assert "It goes to Dr Sade Safe, Riverside Surgery's safeguarding lead" in form.text
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, form_data())
    concern = SafeguardingConcern.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("caseload:safeguarding_detail", args=[concern.pk])
    assert (concern.patient, concern.category, concern.what_happened, concern.immediate_risk) == (
        patient, "financial", WORDS, False,
    )  # fmt: skip
    assert (concern.state, concern.raised_by, concern.sent_to_clinical_leads) == (
        "raised",
        coordinator.user,
        False,
    )
    task = Task.objects.get()
    assert (task.owner, task.kind, task.title, task.notes, task.safeguarding_concern, task.patient) == (
        lead.user, Task.Kind.SAFEGUARDING, TASK_TITLE, "", concern, patient,
    )  # fmt: skip
    assert task.due_on == date(2026, 12, 4)  # the next working day
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["sade@example.test"]]
    concern.refresh_from_db()
    assert concern.notified_at is not None
    assert actions(user=coordinator.user) == [
        "patient.view",
        "safeguarding.form",
        "task.create",
        "safeguarding.raise",
    ]
    raised = AuditEvent.objects.get(action="safeguarding.raise")
    assert raised.detail == {
        "concern_id": concern.pk, "immediate_risk": False, "sent_to": [lead.user.pk], "sent_to_clinical_leads": False,
    }  # fmt: skip
    assert list(raised.patients.all()) == [patient]
    followed = client.get(response["Location"])
    assert "Safeguarding concern raised. Dr Sade Safe has been sent an email and a task." in followed.text


def test_the_form_asks_for_each_answer(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    response = send_form(client, url, {"what_happened": "  "})
    assert_error_summary(
        response,
        "Select the kind of concern",
        "Enter what was seen or said",
        "Select yes if anyone is at immediate risk of harm",
    )
    assert not SafeguardingConcern.objects.exists()
    assert not Task.objects.exists()


def test_the_form_offers_the_care_act_categories_a_child_and_other(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).get(reverse("caseload:safeguarding_raise", args=[patient.pk]))
    labels = [
        "Physical abuse", "Domestic abuse", "Sexual abuse", "Psychological or emotional abuse",
        "Financial or material abuse", "Modern slavery", "Discriminatory abuse", "Organisational abuse",
        "Neglect and acts of omission", "Self-neglect", "Child safeguarding concern", "Other",
    ]  # fmt: skip
    assert [category.label for category in SafeguardingConcern.Category] == labels
    for label in labels:
        assert label in response.text


@time_machine.travel(RAISED_AT, tick=False)
def test_an_immediate_risk_shows_the_emergency_guidance_at_once(sign_in_as, coordinator, lead, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    response = client.post(url, form_data(immediate_risk="yes"), follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="emergency-guidance"' in text
    assert "Call 999 if someone is in immediate danger" in text
    assert "call 999 now: the police, or an ambulance" in text
    assert "Then tell Dr Sade Safe, the practice's safeguarding lead, or the GP straight away" in text
    assert "Do not wait for them to read the email." in text
    assert Task.objects.get().due_on == date(2026, 12, 3)  # today


def test_no_immediate_risk_no_emergency_guidance(sign_in_as, coordinator, lead, patient):
    response = sign_in_as(coordinator).post(
        reverse("caseload:safeguarding_raise", args=[patient.pk]), form_data(), follow=True
    )
    assert response.status_code == 200
    assert 'data-testid="emergency-guidance"' not in response.text


def test_without_a_lead_it_goes_to_the_clinical_leads_and_the_pages_say_so(
    sign_in_as, coordinator, clinical_lead, patient, practice_a
):
    other_lead = make_person(practice_a, Role.CLINICAL_LEAD, full_name="Ann Other", email="ann@example.test")
    client = sign_in_as(coordinator)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    form = client.get(url)
    assert (
        "Riverside Surgery has no named safeguarding lead, so it goes to its clinical leads (Ann Other, Liam Lead)"
        in form.text
    )
    response = client.post(url, form_data(), follow=True)
    concern = SafeguardingConcern.objects.get()
    assert concern.sent_to_clinical_leads is True
    assert sorted(Task.objects.values_list("owner__email", flat=True)) == [
        "ann@example.test",
        "liam@example.test",
    ]
    assert (
        "Riverside Surgery has no named safeguarding lead, so it went to its clinical leads: "
        "Ann Other and Liam Lead have been sent an email and a task." in response.text
    )
    assert 'data-testid="no-lead"' in response.text
    safeguarding_concern_notify(concern_id=concern.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.test", "liam@example.test"]
    assert (
        "It came to you as a clinical lead: Riverside Surgery has no named safeguarding lead."
        in mail.outbox[0].body
    )
    # Either clinical lead acknowledges it: both tasks are done.
    safeguarding_concern_acknowledge(concern=concern, by=other_lead.user)
    assert list(Task.objects.values_list("done_by", flat=True)) == [other_lead.user.pk, other_lead.user.pk]


def test_a_deactivated_lead_or_one_without_a_role_there_is_passed_over(
    coordinator, clinical_lead, lead, patient
):
    lead.user.is_active = False
    lead.user.save()
    concern = raise_concern(patient, coordinator.user)
    assert concern.sent_to_clinical_leads is True
    assert list(concern.tasks.values_list("owner", flat=True)) == [clinical_lead.user.pk]


def test_with_nobody_to_tell_it_is_recorded_and_the_page_says_so(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    assert "has no safeguarding lead and no clinical lead: the concern is recorded, but nobody is told" in (
        client.get(url).text
    )
    response = client.post(url, form_data(), follow=True)
    assert SafeguardingConcern.objects.count() == 1
    assert not Task.objects.exists()
    assert (
        "nobody was told: Riverside Surgery has no safeguarding lead and no clinical lead. Tell the GP now"
        in (response.text)
    )


def test_an_outsider_cannot_raise_one_on_another_practice_patient(sign_in_as, outsider, patient):
    client = sign_in_as(outsider)
    url = reverse("caseload:safeguarding_raise", args=[patient.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, form_data()).status_code == 404
    assert not SafeguardingConcern.objects.exists()


# --- The email: a link, nothing about the person ----------------------------------------------------------


def test_the_email_holds_a_link_and_no_patient_details(coordinator, lead, settings, practice_a):
    settings.SITE_URL = "https://pcn.example.test"
    patient = PatientFactory(
        practice=practice_a, given_name="Winifred", family_name="Ashcombe", date_of_birth=date(1941, 7, 23)
    )
    concern = raise_concern(patient, coordinator.user, immediate_risk=True, category="domestic")
    assert safeguarding_concern_notify(concern_id=concern.pk) == 1
    [message] = mail.outbox
    whole = "\n".join([message.subject, message.body, *[str(v) for v in message.extra_headers.values()]])
    assert message.to == ["sade@example.test"]
    assert (message.cc, message.bcc, message.attachments) == ([], [], [])
    assert f"https://pcn.example.test/safeguarding/{concern.pk}/" in message.body
    for detail in (
        "Winifred", "Ashcombe", "ASHCOMBE", patient.nhs_number, format_nhs_number(patient.nhs_number),
        "1941", "23/07", "23 July", "Jul", WORDS, WORDS[:20], "pension", "Domestic", "domestic",
    ):  # fmt: skip
        assert detail.lower() not in whole.lower(), detail
    assert message.subject == "Urgent: a safeguarding concern to acknowledge now"
    assert "Cara Coordinator has raised a safeguarding concern at Riverside Surgery." in message.body


def test_the_email_goes_once_however_often_the_task_runs(coordinator, lead, patient):
    concern = raise_concern(patient, coordinator.user)
    assert safeguarding_concern_notify(concern_id=concern.pk) == 1
    assert safeguarding_concern_notify(concern_id=concern.pk) == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "A safeguarding concern to acknowledge"


def test_the_email_waits_for_the_commit(
    coordinator, lead, patient, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        raise_concern(patient, coordinator.user)
    assert mail.outbox == []  # nothing sent inside the transaction
    callbacks[0]()
    assert len(mail.outbox) == 1


# --- Who reads it ----------------------------------------------------------------------------------------


@pytest.fixture
def concern(coordinator, lead, patient):
    return raise_concern(patient, coordinator.user)


READERS = [
    ("coordinator", 200),  # the raiser
    ("second_coordinator", 404),
    ("lead", 200),
    ("clinical_lead", 200),
    ("manager", 404),
    ("administrator", 200),
    ("outsider", 404),
]


@pytest.mark.parametrize(("who", "status"), READERS)
def test_the_restricted_readers(request, sign_in_as, concern, who, status):
    person = request.getfixturevalue(who)
    before = AuditEvent.objects.count()
    response = sign_in_as(person).get(reverse("caseload:safeguarding_detail", args=[concern.pk]))
    assert response.status_code == status
    views = AuditEvent.objects.filter(action="safeguarding.view", user=person.user)
    if status == 200:
        assert WORDS in response.text
        assert "Financial or material abuse" in response.text
        [view] = views
        assert view.detail == {"concern_id": concern.pk}
        assert list(view.patients.all()) == [concern.patient]
    else:
        assert WORDS not in response.text
        assert not views.exists()
        assert AuditEvent.objects.count() == before


def test_a_clinical_lead_elsewhere_is_not_one_here(sign_in_as, concern, practice_a, practice_b):
    """A coordinator at the concern's practice who is a clinical lead at another practice reads nothing."""
    person = make_person(practice_a, Role.COORDINATOR, full_name="Two Hats", email="hats@example.test")
    person.user.memberships.create(practice=practice_b, role=Role.CLINICAL_LEAD)
    response = sign_in_as(person).get(reverse("caseload:safeguarding_detail", args=[concern.pk]))
    assert response.status_code == 404


# --- Acknowledge and close ---------------------------------------------------------------------------------


def test_the_lead_acknowledges_and_the_task_is_done(sign_in_as, concern, lead):
    client = sign_in_as(lead)
    url = reverse("caseload:safeguarding_acknowledge", args=[concern.pk])
    response = client.post(url)
    assert response.status_code == 302
    concern.refresh_from_db()
    assert (concern.state, concern.acknowledged_by) == ("acknowledged", lead.user)
    task = Task.objects.get()
    assert (task.done_by, task.done_at is not None) == (lead.user, True)
    assert actions(user=lead.user) == ["task.complete", "safeguarding.acknowledge"]
    assert AuditEvent.objects.get(action="safeguarding.acknowledge").detail == {"concern_id": concern.pk}
    # Again: nothing changes and nothing more is audited.
    client.post(url)
    assert actions(user=lead.user) == ["task.complete", "safeguarding.acknowledge"]


@pytest.mark.parametrize(("who", "status"), [("coordinator", 403), ("administrator", 403), ("manager", 404)])
def test_only_the_lead_and_clinical_leads_acknowledge(request, sign_in_as, concern, who, status):
    person = request.getfixturevalue(who)
    response = sign_in_as(person).post(reverse("caseload:safeguarding_acknowledge", args=[concern.pk]))
    assert response.status_code == status
    concern.refresh_from_db()
    assert concern.state == "raised"
    assert not AuditEvent.objects.filter(action="safeguarding.acknowledge").exists()
    with pytest.raises(PermissionDenied):
        safeguarding_concern_acknowledge(concern=concern, by=person.user)


def test_close_with_the_outcome(sign_in_as, concern, clinical_lead):
    client = sign_in_as(clinical_lead)
    url = reverse("caseload:safeguarding_close", args=[concern.pk])
    early = client.get(url, follow=True)
    assert "Acknowledge the concern before closing it." in early.text
    client.post(reverse("caseload:safeguarding_acknowledge", args=[concern.pk]))
    assert_error_summary(send_form(client, url, {"outcome": " "}), "Enter the outcome")
    response = client.post(url, {"outcome": "Referred to the local authority adult safeguarding team"})
    assert response.status_code == 302
    concern.refresh_from_db()
    assert (concern.state, concern.closed_by, concern.outcome) == (
        "closed", clinical_lead.user, "Referred to the local authority adult safeguarding team",
    )  # fmt: skip
    assert actions(action__startswith="safeguarding.", user=clinical_lead.user) == [
        "safeguarding.view", "safeguarding.acknowledge", "safeguarding.close_form", "safeguarding.close_form",
        "safeguarding.close",
    ]  # fmt: skip
    assert AuditEvent.objects.get(action="safeguarding.close").detail == {"concern_id": concern.pk}
    closed = client.get(url, follow=True)
    assert "The concern is closed already." in closed.text


def test_the_states_go_in_order(concern, lead):
    with pytest.raises(ValidationError):
        safeguarding_concern_close(concern=concern, outcome="Done", by=lead.user)
    assert safeguarding_concern_acknowledge(concern=concern, by=lead.user) is True
    assert safeguarding_concern_acknowledge(concern=concern, by=lead.user) is False
    safeguarding_concern_close(
        concern=concern, outcome="No further action: the son has returned the card", by=lead.user
    )
    with pytest.raises(ValidationError):
        safeguarding_concern_close(concern=concern, outcome="Again", by=lead.user)
    assert actions(action__in=["safeguarding.acknowledge", "safeguarding.close"]) == [
        "safeguarding.acknowledge", "safeguarding.close",
    ]  # fmt: skip


def test_a_safeguarding_task_is_not_done_from_my_tasks(sign_in_as, concern, lead):
    task = Task.objects.get()
    client = sign_in_as(lead)
    tasks_page = client.get(reverse("caseload:my_tasks"))
    assert f'href="{reverse("caseload:safeguarding_detail", args=[concern.pk])}"' in tasks_page.text
    client.post(reverse("caseload:task_done", args=[task.pk]))
    task.refresh_from_db()
    assert task.done_at is None


# --- The banner, and nothing of the concern anywhere else ---------------------------------------------------


@time_machine.travel(RAISED_AT, tick=False)
@pytest.mark.parametrize(("who", "link"), [("manager", False), ("second_coordinator", False), ("lead", True)])
def test_the_patient_page_shows_the_restricted_banner(
    request, sign_in_as, coordinator, lead, patient, who, link
):
    concern = raise_concern(patient, coordinator.user)
    response = sign_in_as(request.getfixturevalue(who)).get(patient.get_absolute_url())
    assert response.status_code == 200
    assert "Safeguarding concern open — raised 3 December 2026; restricted." in response.text
    assert (reverse("caseload:safeguarding_detail", args=[concern.pk]) in response.text) is link
    assert WORDS not in response.text
    assert "Financial or material abuse" not in response.text


def test_a_closed_concern_has_no_banner(sign_in_as, concern, lead, patient):
    safeguarding_concern_acknowledge(concern=concern, by=lead.user)
    safeguarding_concern_close(concern=concern, outcome="Resolved", by=lead.user)
    response = sign_in_as(lead).get(patient.get_absolute_url())
    assert 'data-testid="safeguarding-banner"' not in response.text


def test_nothing_of_the_concern_anywhere_else(sign_in_as, concern, lead, manager, administrator, patient):
    """Even for a reader: the timeline, tasks, lists, searches and exports show none of its words."""
    safeguarding_concern_acknowledge(concern=concern, by=lead.user)
    safeguarding_concern_close(concern=concern, outcome="Outcome words KQZV", by=lead.user)
    client = sign_in_as(lead)
    pages = [
        patient.get_absolute_url(),
        reverse("caseload:my_tasks") + "?include_done=on",
        reverse("caseload:patient_list") + "?q=Hopper",
        reverse("caseload:patient_export"),
        reverse("overview:my_caseload_export") + "?coordinator=",
        reverse("careplans:plan", args=[patient.pk]),
    ]
    for url in pages:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        assert response.status_code == 200, url
        for words in (WORDS, "pension", "Financial or material", "KQZV"):
            assert words not in text, (url, words)
    audit_csv = sign_in_as(administrator).get(reverse("audit:event_export"))
    assert b"pension" not in audit_csv.content and b"KQZV" not in audit_csv.content
    assert "pension" not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


# --- The Safeguarding list -----------------------------------------------------------------------------------


def test_the_list_of_concerns_to_acknowledge(sign_in_as, concern, lead, clinical_lead, manager, patient):
    for person in (lead, clinical_lead):
        response = sign_in_as(person).get(reverse("caseload:safeguarding_list"))
        assert response.status_code == 200
        assert response.text.count('data-testid="concern-row"') == 1
        assert "1 concern: awaiting acknowledgement" in response.text
    first_list = AuditEvent.objects.filter(action="safeguarding.list").order_by("id").first()
    assert first_list.detail == {"concern_ids": [concern.pk], "state": "raised", "page": 1}
    empty = sign_in_as(manager).get(reverse("caseload:safeguarding_list"))
    assert 'data-testid="empty"' in empty.text
    assert "No concerns are waiting to be acknowledged." in empty.text
    safeguarding_concern_acknowledge(concern=concern, by=lead.user)
    client = sign_in_as(lead)
    assert 'data-testid="empty"' in client.get(reverse("caseload:safeguarding_list")).text
    acknowledged = client.get(reverse("caseload:safeguarding_list") + "?state=acknowledged")
    assert acknowledged.text.count('data-testid="concern-row"') == 1


def test_the_list_is_paged_and_its_queries_do_not_grow(
    sign_in_as, coordinator, lead, practice_a, django_assert_num_queries
):
    patients = PatientFactory.create_batch(3, practice=practice_a)
    for patient in patients:
        raise_concern(patient, coordinator.user)
    client = sign_in_as(lead)
    url = reverse("caseload:safeguarding_list")
    client.get(url)
    with django_assert_num_queries(12) as few:
        client.get(url)
    for patient in PatientFactory.create_batch(50, practice=practice_a):
        raise_concern(patient, coordinator.user, immediate_risk=patient.pk % 2 == 0)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.text.count('data-testid="concern-row"') == 50
    assert "53 concerns: awaiting acknowledgement" in response.text
    second = client.get(url + "?page=2")
    assert second.text.count('data-testid="concern-row"') == 3


def test_an_outsider_lists_none_of_them(sign_in_as, concern, outsider):
    response = sign_in_as(outsider).get(reverse("caseload:safeguarding_list") + "?state=raised")
    assert 'data-testid="concern-row"' not in response.text


# --- The practice's safeguarding lead, in the admin site ----------------------------------------------------


def test_an_administrator_names_the_lead_in_the_admin_site(
    sign_in_as, administrator, clinical_lead, practice_a, outsider
):
    administrator.user.is_superuser = True  # every model permission, as `createsuperuser` makes the first one
    administrator.user.save(update_fields=["is_superuser"])
    client = sign_in_as(administrator)
    url = reverse("admin:pcn_practice_change", args=[practice_a.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="safeguarding_lead"' in page.text
    assert "Olu Outsider" not in page.text  # only people with a role at the practice are offered
    data = {
        "ods_code": practice_a.ods_code,
        "name": practice_a.name,
        "is_active": "on",
        "safeguarding_lead": str(clinical_lead.user.pk),
    }
    response = client.post(url, data)
    assert response.status_code == 302
    practice_a.refresh_from_db()
    assert practice_a.safeguarding_lead == clinical_lead.user
    refused = client.post(url, data | {"safeguarding_lead": str(outsider.user.pk)})
    assert refused.status_code == 200
    practice_a.refresh_from_db()
    assert practice_a.safeguarding_lead == clinical_lead.user


def test_the_lead_must_hold_a_role_at_the_practice(practice_a, outsider):
    practice_a.safeguarding_lead = outsider.user
    with pytest.raises(ValidationError) as error:
        practice_a.full_clean()
    assert "has no role at this practice" in str(error.value)
