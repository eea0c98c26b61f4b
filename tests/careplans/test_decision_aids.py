"""Shared decision making: decision aids (kept by administrators, https links) offered to the person,
with their preparation for the clinician conversation; shown in the care plan (page and both PDFs) and
on the timeline; scoped and audited."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from careplans.models import DecisionAid, DecisionAidOffer
from careplans.services.decision_aids import decision_aid_offer_record
from careplans.services.plans import care_plan_draft
from caseload.models import PersonAround
from overview.timeline import patient_timeline
from pcn.models import AuditEvent
from tests.careplans.plan_helpers import agree, pdf_response_text
from tests.conftest import assert_error_summary, send_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def aid(db) -> DecisionAid:
    return DecisionAid.objects.create(
        title="Knee osteoarthritis: treatment options", url="https://aids.example.org/knee",
        decision="Whether to have a knee replacement", source="Example patient decision aid",
    )  # fmt: skip


def offer(patient, user, aid, **values) -> DecisionAidOffer:
    fields = {
        "decision": "Whether to have a knee replacement", "offered_on": date(2025, 3, 3),
        "what_matters": "Walking the dog again", "questions": "How long is recovery?",
    } | values  # fmt: skip
    return decision_aid_offer_record(patient=patient, aid=aid, by=user, **fields)


def form_data(aid, **changes) -> dict:
    data = {
        "aid": str(aid.pk), "decision": "Whether to have a knee replacement", "offered_on": "2025-03-03",
        "what_matters": "Walking the dog again", "questions": "How long is recovery?", "outcome": "",
    }  # fmt: skip
    return data | changes


def test_a_link_must_be_https():
    aid = DecisionAid(title="T", url="http://aids.example.org/knee", decision="D")
    with pytest.raises(ValidationError) as refused:
        aid.full_clean()
    assert refused.value.message_dict == {"url": ["Enter a link that starts with https://"]}
    DecisionAid(title="T", url="https://aids.example.org/knee", decision="D").full_clean()


def test_decision_aids_are_in_the_admin_site(sign_in_as, administrator, aid):
    administrator.user.is_superuser = True  # the admin site's model permissions
    administrator.user.save()
    client = sign_in_as(administrator)
    response = client.get(reverse("admin:careplans_decisionaid_changelist"))
    assert response.status_code == 200
    assert "Knee osteoarthritis: treatment options" in response.content.decode()
    response = client.post(
        reverse("admin:careplans_decisionaid_add"),
        {
            "title": "Plain",
            "url": "http://insecure.example.org",
            "decision": "D",
            "source": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, refused
    assert "Enter a link that starts with https://" in response.content.decode()
    assert DecisionAid.objects.count() == 1


def test_record_an_offer_from_the_patient_page(sign_in_as, coordinator, patient, aid):
    client = sign_in_as(coordinator)
    page = client.get(patient.get_absolute_url())
    url = reverse("careplans:decision_aid_offer_add", args=[patient.pk])
    assert url in page.content.decode()
    response = send_form(client, url, form_data(aid))
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    recorded = DecisionAidOffer.objects.get()
    assert (recorded.patient, recorded.aid, recorded.offered_on, recorded.offered_by) == (
        patient, aid, date(2025, 3, 3), coordinator.user,
    )  # fmt: skip
    assert (recorded.decision, recorded.what_matters, recorded.questions, recorded.outcome) == (
        "Whether to have a knee replacement", "Walking the dog again", "How long is recovery?", "",
    )  # fmt: skip
    event = AuditEvent.objects.get(action="decision_aid.offer")
    assert (event.user, event.detail) == (coordinator.user, {"offer_id": recorded.pk, "aid_id": aid.pk})
    assert list(event.patient_links.values_list("patient_id", flat=True)) == [patient.pk]
    assert AuditEvent.objects.filter(action="decision_aid.offer_form").count() == 1


def test_the_decision_is_needed(sign_in_as, coordinator, patient, aid):
    response = sign_in_as(coordinator).post(
        reverse("careplans:decision_aid_offer_add", args=[patient.pk]), form_data(aid, decision="")
    )
    assert_error_summary(response, "Enter the decision the person is making")
    assert not DecisionAidOffer.objects.exists()


def test_without_aids_the_form_says_an_administrator_adds_them(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).get(reverse("careplans:decision_aid_offer_add", args=[patient.pk]))
    content = response.content.decode()
    assert 'data-testid="no-decision-aids"' in content
    assert "An administrator adds them in the administration site" in content
    assert (
        "<form" not in content.split('id="maincontent"')[-1].split("</main>")[0]
        or "Record the offer" not in content
    )


def test_a_withdrawn_aid_is_not_offered_but_stays_on_its_offers(sign_in_as, coordinator, patient, aid):
    earlier = offer(patient, coordinator.user, aid)
    aid.is_active = False
    aid.save()
    with pytest.raises(ValidationError):
        offer(patient, coordinator.user, aid)
    client = sign_in_as(coordinator)
    response = client.post(reverse("careplans:decision_aid_offer_add", args=[patient.pk]), form_data(aid))
    assert response.status_code == 200
    assert DecisionAidOffer.objects.count() == 1
    # Its own offer can still be changed, to record the outcome.
    url = reverse("careplans:decision_aid_offer_edit", args=[earlier.pk])
    response = client.post(url, form_data(aid, outcome="Chose physiotherapy first"))
    assert response.status_code == 302
    earlier.refresh_from_db()
    assert (earlier.outcome, earlier.updated_by) == ("Chose physiotherapy first", coordinator.user)
    event = AuditEvent.objects.get(action="decision_aid.offer_update")
    assert event.detail == {"offer_id": earlier.pk, "changed": ["outcome"]}


def test_the_care_plan_shows_the_offers_and_the_people_around(sign_in_as, coordinator, patient, aid):
    offer(patient, coordinator.user, aid, outcome="Chose physiotherapy first")
    PersonAround.objects.create(
        patient=patient, name="Mary Hopper", relationship="child", phone="07700 900123", is_main_carer=True,
        may_receive_information=True, consent_recorded_on=date(2025, 3, 1), notes="Team-only note",
        created_by=coordinator.user,
    )  # fmt: skip
    version = agree(care_plan_draft(patient=patient, by=coordinator.user), coordinator.user)
    client = sign_in_as(coordinator)
    content = client.get(reverse("careplans:plan", args=[patient.pk])).content.decode()
    decisions = content.split('data-testid="plan-decisions"')[1].split("</dd>")[0]
    assert "Knee osteoarthritis: treatment options" in decisions
    assert "Decision: Whether to have a knee replacement" in decisions
    assert "What matters to me: Walking the dog again" in decisions
    assert "Outcome: Chose physiotherapy first" in decisions
    contacts = content.split('data-testid="plan-contacts"')[1].split("</dd>")[0]
    assert "Mary Hopper, son or daughter (main carer), 07700 900123." in contacts
    assert "May receive information about my care (agreed 1 Mar 2025)." in contacts

    person_copy = pdf_response_text(client.get(reverse("careplans:pdf", args=[version.pk])))
    assert "Knee osteoarthritis: treatment options" in person_copy
    assert "https://aids.example.org/knee" in person_copy
    assert "How long is recovery?" in person_copy
    assert "Mary Hopper" in person_copy
    assert "my main carer" in person_copy
    assert "I agreed on 1 March 2025 that they may be told about my care." in " ".join(person_copy.split())
    assert "Team-only note" not in person_copy  # the team's notes are not the person's copy's

    staff = " ".join(pdf_response_text(client.get(reverse("careplans:staff_pdf", args=[version.pk]))).split())
    assert "Decision aids offered" in staff
    assert "Knee osteoarthritis: treatment options" in staff
    assert "Chose physiotherapy first" in staff
    assert "People around the person" in staff
    assert "Yes, agreed 1 Mar 2025" in staff
    assert "Team-only note" in staff


def test_the_timeline_has_each_offer(patient, coordinator, aid, django_assert_num_queries):
    recorded = offer(patient, coordinator.user, aid)
    offer(patient, coordinator.user, aid, offered_on=date(2025, 3, 10), outcome="Decided to wait")
    with django_assert_num_queries(1):
        entries = patient_timeline(patient=patient, kinds=["decision_aid"])
    assert [(e.when, e.title, e.tags) for e in entries] == [
        (date(2025, 3, 10), "Decision aid offered: Knee osteoarthritis: treatment options", ("Outcome recorded",)),
        (date(2025, 3, 3), "Decision aid offered: Knee osteoarthritis: treatment options", ("Awaiting the conversation",)),
    ]  # fmt: skip
    assert entries[0].detail == "Decision: Whether to have a knee replacement; Decided to wait"
    assert entries[1].url == reverse("careplans:decision_aid_offer_edit", args=[recorded.pk])
    assert entries[1].who == str(coordinator.user)


def test_the_patient_page_timeline_filters_to_decision_aids(sign_in_as, coordinator, patient, aid):
    offer(patient, coordinator.user, aid)
    response = sign_in_as(coordinator).get(patient.get_absolute_url(), {"kind": ["decision_aid"]})
    assert [e.kind for e in response.context["timeline"]] == ["decision_aid"]
    assert ("decision_aid", "Decision aids") in response.context["timeline_form"].fields["kind"].choices


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ["decision_aid_offer_add", "decision_aid_offer_edit"])
def test_an_outsider_gets_404_and_nothing_changes(
    sign_in_as, outsider, coordinator, patient, aid, name, method
):
    recorded = offer(patient, coordinator.user, aid)
    pk = patient.pk if name == "decision_aid_offer_add" else recorded.pk
    before = AuditEvent.objects.count()
    response = getattr(sign_in_as(outsider), method)(
        reverse(f"careplans:{name}", args=[pk]), form_data(aid, outcome="Tampered")
    )
    assert response.status_code == 404
    assert list(DecisionAidOffer.objects.values_list("outcome", flat=True)) == [""]
    assert AuditEvent.objects.count() == before
