"""Care plans: the version life cycle, optimistic locking, compare, the PDFs, coding, scoping."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlanVersion, Goal, SupportNeed
from careplans.services.plans import care_plan_agree, care_plan_compare, care_plan_draft, care_plan_save
from caseload.models import ActivationMeasure, CodingEntry, LongTermCondition
from pcn.models import AuditEvent
from tests.careplans.plan_helpers import agree, edit_post, pdf_response_text
from tests.conftest import send_form
from tests.factories import CaseloadEpisodeFactory

pytestmark = pytest.mark.django_db


def test_first_draft_is_prefilled_from_conditions_and_coordinator(patient, coordinator):
    patient.ltc_flags = LongTermCondition.DIABETES | LongTermCondition.COPD
    patient.save()
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    assert (draft.number, draft.status, draft.named_coordinator) == (1, "draft", coordinator.user)
    assert draft.health_conditions == "\n".join(patient.conditions) != ""
    assert care_plan_draft(patient=patient, by=coordinator.user) == draft  # the same draft again


def test_life_cycle_draft_agreed_superseded(patient, coordinator):
    user = coordinator.user
    first = care_plan_draft(patient=patient, by=user)
    care_plan_save(version=first, data={"about_me": "I love gardening"}, lock_version=0, by=user,
                   goals=[{"goal": "Walk to the shop"}], support_needs=[{"domain": "carer", "need": "Respite"}])  # fmt: skip
    agree(first, user)
    first.refresh_from_db()
    assert first.status == CarePlanVersion.Status.AGREED
    with pytest.raises(ValidationError) as refused:
        care_plan_save(version=first, data={"about_me": "changed"}, lock_version=first.lock_version, by=user)
    assert refused.value.code == "not_draft"

    second = care_plan_draft(patient=patient, by=user)
    assert (second.number, second.about_me) == (2, "I love gardening")
    assert [g.goal for g in second.goals.all()] == ["Walk to the shop"]
    assert [n.need for n in second.support_needs.all()] == ["Respite"]
    assert Goal.objects.count() == 2 and SupportNeed.objects.count() == 2  # copies, not moves
    agree(second, user)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "agreed")
    assert first.superseded_at is not None


def test_agreed_on_cannot_be_in_the_future(patient, coordinator):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    with pytest.raises(ValidationError):
        care_plan_agree(version=draft, agreed_on=timezone.localdate() + timedelta(days=1), agreed_how="phone",
                        agreed_with="patient", by=coordinator.user)  # fmt: skip


def test_stale_save_is_refused_and_the_first_save_is_kept(patient, coordinator):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    care_plan_save(version=draft, data={"about_me": "First"}, lock_version=0, by=coordinator.user)
    with pytest.raises(ValidationError) as refused:
        care_plan_save(version=draft, data={"about_me": "Second"}, lock_version=0, by=coordinator.user)
    assert refused.value.code == "stale"
    draft.refresh_from_db()
    assert (draft.about_me, draft.lock_version) == ("First", 1)


def test_stale_save_in_the_form_keeps_the_users_text(sign_in_as, patient, coordinator):
    client = sign_in_as(coordinator)
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    url = reverse("careplans:edit", args=[draft.pk])
    response = send_form(client, url, edit_post(draft, about_me="Mine first"))
    assert response.status_code == 302
    response = client.post(url, edit_post(draft, about_me="My words, not lost"))  # the old lock_version
    assert response.status_code == 200
    page = response.content.decode()
    assert "Someone else saved this plan since you opened it: your changes are below, not saved" in page
    assert "My words, not lost" in page
    draft.refresh_from_db()
    assert draft.about_me == "Mine first"
    assert [g.goal for g in draft.goals.all()] == ["Walk to the shop"]


def test_compare_lists_changed_sections_and_goals(patient, coordinator):
    user = coordinator.user
    first = care_plan_draft(patient=patient, by=user)
    care_plan_save(version=first, data={"about_me": "Old"}, lock_version=0, by=user, goals=[{"goal": "Swim"}])
    agree(first, user)
    second = care_plan_draft(patient=patient, by=user)
    care_plan_save(version=second, data={"about_me": "New"}, lock_version=second.lock_version, by=user,
                   goals=[{"goal": "Walk"}])  # fmt: skip
    changes = care_plan_compare(older=first, newer=second)
    assert ("About me", "Old", "New") in changes
    assert ("Goal removed", "Swim", "") in changes and ("Goal added", "", "Walk") in changes


def test_agree_makes_a_coding_entry_without_an_invented_id(sign_in_as, patient, coordinator):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("careplans:agree", args=[draft.pk]),
        {"agreed_on": timezone.localdate().isoformat(), "agreed_how": "phone", "agreed_with": "carer"},
    )
    assert response.status_code == 302
    entry = CodingEntry.objects.get(source=f"careplan:{draft.pk}")
    assert (entry.term, entry.snomed_id, entry.patient) == (
        "Personalised care and support plan agreed", "", patient,
    )  # fmt: skip


def test_plan_page_shows_pam_and_start_editing_makes_a_draft(sign_in_as, patient, coordinator):
    ActivationMeasure.objects.create(patient=patient, score=Decimal("60.0"), measured_on=timezone.localdate(),
                                     measured_by=coordinator.user)  # fmt: skip
    client = sign_in_as(coordinator)
    url = reverse("careplans:plan", args=[patient.pk])
    page = client.get(url).content.decode()
    assert "level 3" in page and "Start editing" in page
    response = client.post(url)
    draft = CarePlanVersion.objects.get()
    assert response["Location"] == reverse("careplans:edit", args=[draft.pk])


def test_pdfs_contain_the_sections_and_the_persons_words(sign_in_as, patient, coordinator):
    user = coordinator.user
    draft = care_plan_draft(patient=patient, by=user)
    care_plan_save(version=draft, data={"about_me": "I was a nurse for forty years",
                   "contingency_plan": "If I fall, call my daughter"}, lock_version=0, by=user,
                   goals=[{"goal": "Dance at my granddaughter's wedding"}])  # fmt: skip
    agree(draft, user)
    client = sign_in_as(coordinator)
    for name, params in (("careplans:pdf", ""), ("careplans:pdf", "?large=1"), ("careplans:staff_pdf", "")):
        text = pdf_response_text(client.get(reverse(name, args=[draft.pk]) + params))
        for words in ("About me", "I was a nurse for forty years", "If I fall, call my daughter", "wedding"):
            assert words in text
        assert "Page 1 of" in text and "Version 1" in text
    assert AuditEvent.objects.filter(action__in=["careplan.patient_pdf", "careplan.staff_pdf"]).count() == 3


@pytest.mark.parametrize(
    "name", ["careplans:edit", "careplans:agree", "careplans:pdf", "careplans:staff_pdf"]
)
def test_outsider_gets_404(sign_in_as, patient, coordinator, outsider, name):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    client = sign_in_as(outsider)
    assert client.get(reverse(name, args=[draft.pk])).status_code == 404
    assert client.get(reverse("careplans:plan", args=[patient.pk])).status_code == 404
    assert client.get(reverse("careplans:compare", args=[draft.plan_id])).status_code == 404
