"""Referrals: recording with the criteria checklist, the inbox, and each decision (who and when)."""

from datetime import date, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caseload.models import CaseloadEpisode, Referral, ReferralType
from caseload.services.episodes import episodes_open
from caseload.services.referrals import (
    referral_accept,
    referral_create,
    referral_decline,
    referral_direct_to_mdt,
)
from mdt.models import MeetingSeries
from pcn.models import AuditEvent
from tests.conftest import assert_error_summary
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def frailty() -> ReferralType:
    return ReferralType.objects.get(name="Frailty / proactive care")


def all_met(referral_type: ReferralType) -> list[int]:
    return list(referral_type.criteria.values_list("pk", flat=True))


def make_referral(patient, by, referral_type, *, met=None, email="", **extra) -> Referral:
    fields = {
        "source": Referral.Source.GP, "referrer_name": "Dr Ann Khan", "referrer_email": email,
        "reason": "Two falls this month", "urgency": Referral.Urgency.ROUTINE, "received_on": date(2026, 11, 2),
    }  # fmt: skip
    fields.update(extra)
    return referral_create(
        patient=patient, referral_type=referral_type, criteria_met_ids=met or [], by=by, **fields
    )


def make_series(practice, chair, *, kind="frailty", name="Frailty MDT") -> MeetingSeries:
    series = MeetingSeries.objects.create(
        name=name, kind=kind, weekday=1, start_time=time(13, 0), chair=chair
    )
    series.practices.add(practice)
    return series


def test_four_types_are_shipped_with_their_criteria():
    assert dict(ReferralType.objects.values_list("name", "mdt_kind")) == {
        "Care home MDT": "care_home",
        "Frailty / proactive care": "frailty",
        "Cancer and palliative care": "cancer_palliative",
        "Care coordination": "",
    }
    assert list(
        ReferralType.objects.get(name="Frailty / proactive care").criteria.values_list("text", flat=True)
    ) == [
        "Registered with a PCN practice",
        "Aged 65 or over",
        "eFI moderate or severe",
        "Consent to share information with the MDT",
    ]


def test_create_keeps_a_copy_of_the_checklist_as_answered(patient, coordinator, frailty):
    first, second, *_ = frailty.criteria.all()
    referral = make_referral(patient, coordinator.user, frailty, met=[first.pk])
    assert referral.status == Referral.Status.NEW
    assert [(a["text"], a["met"], a["required"]) for a in referral.criteria] == [
        ("Registered with a PCN practice", True, True),
        ("Aged 65 or over", False, True),
        ("eFI moderate or severe", False, True),
        ("Consent to share information with the MDT", False, True),
    ]
    assert referral.criteria_met is False
    second.text = "Changed later"
    second.save()
    referral.refresh_from_db()
    assert referral.criteria[1]["text"] == "Aged 65 or over"


def test_create_refuses_a_date_in_the_future(patient, coordinator, frailty):
    with pytest.raises(ValidationError):
        make_referral(
            patient, coordinator.user, frailty, received_on=timezone.localdate() + timedelta(days=1)
        )
    assert Referral.objects.count() == 0


def test_accept_opens_an_episode_for_the_chosen_coordinator(patient, coordinator, clinical_lead, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    referral_accept(referral=referral, coordinator=coordinator.user, by=clinical_lead.user)
    referral.refresh_from_db()
    episode = CaseloadEpisode.objects.get(patient=patient)
    assert (referral.status, referral.decided_by, referral.episode) == (
        Referral.Status.ACCEPTED, clinical_lead.user, episode,
    )  # fmt: skip
    assert referral.decided_at is not None
    assert (episode.coordinator, episode.reason, episode.reason_detail, episode.opened_by) == (
        coordinator.user, CaseloadEpisode.Reason.REFERRAL, "Frailty / proactive care referral", clinical_lead.user,
    )  # fmt: skip


def test_accept_when_already_on_a_caseload_links_that_episode(patient, coordinator, frailty):
    (episode,), _ = episodes_open(
        patients=[patient], coordinator=coordinator.user, reason="other", by=coordinator.user
    )
    referral = make_referral(patient, coordinator.user, frailty)
    referral_accept(referral=referral, coordinator=coordinator.user, by=coordinator.user)
    assert Referral.objects.get().episode == episode
    assert CaseloadEpisode.objects.count() == 1


def test_accept_refuses_a_coordinator_from_another_practice(patient, coordinator, outsider, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    with pytest.raises(ValidationError):
        referral_accept(referral=referral, coordinator=outsider.user, by=coordinator.user)
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by, referral.episode) == (Referral.Status.NEW, None, None)
    assert CaseloadEpisode.objects.count() == 0


def test_a_referral_is_decided_once(patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    referral_decline(referral=referral, reason="Not eligible", by=coordinator.user)
    with pytest.raises(ValidationError, match="already been decided"):
        referral_accept(referral=Referral.objects.get(), coordinator=coordinator.user, by=coordinator.user)
    assert Referral.objects.get().status == Referral.Status.DECLINED
    assert CaseloadEpisode.objects.count() == 0


def test_decline_needs_a_reason(patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    with pytest.raises(ValidationError):
        referral_decline(referral=referral, reason="  ", by=coordinator.user)
    assert Referral.objects.get().status == Referral.Status.NEW


def test_decline_tells_the_referrer_with_initials_date_and_reason_only(patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty, email="ann.khan@example.nhs.net")
    referral_decline(
        referral=referral,
        reason="Already under the community matron",
        tell_referrer=True,
        by=coordinator.user,
    )
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by, referral.decline_reason) == (
        Referral.Status.DECLINED, coordinator.user, "Already under the community matron",
    )  # fmt: skip
    assert referral.referrer_told_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann.khan@example.nhs.net"]
    assert message.subject == "Your referral to care coordination"
    assert "for G.H., received on 2 November 2026" in message.body
    assert "The reason: Already under the community matron" in message.body
    assert "Hopper" not in message.body and patient.nhs_number not in message.body


def test_decline_without_telling_sends_nothing(patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty, email="ann.khan@example.nhs.net")
    referral_decline(referral=referral, reason="Not eligible", tell_referrer=False, by=coordinator.user)
    assert mail.outbox == []
    assert Referral.objects.get().referrer_told_at is None


def test_direct_to_mdt_is_refused_unless_the_criteria_are_met(patient, coordinator, frailty):
    series = make_series(patient.practice, coordinator.user)
    met_but_one = all_met(frailty)[:-1]
    referral = make_referral(patient, coordinator.user, frailty, met=met_but_one)
    with pytest.raises(ValidationError, match="does not meet the criteria"):
        referral_direct_to_mdt(referral=referral, series=series, by=coordinator.user)
    referral.refresh_from_db()
    assert (referral.status, referral.mdt_series, referral.decided_at) == (Referral.Status.NEW, None, None)


def test_direct_to_mdt_records_the_series_who_and_when(patient, coordinator, frailty):
    series = make_series(patient.practice, coordinator.user)
    referral = make_referral(patient, coordinator.user, frailty, met=all_met(frailty))
    referral_direct_to_mdt(referral=referral, series=series, by=coordinator.user)
    referral.refresh_from_db()
    assert (referral.status, referral.mdt_series, referral.decided_by) == (
        Referral.Status.DIRECTED_TO_MDT, series, coordinator.user,
    )  # fmt: skip
    assert referral.decided_at is not None


def test_direct_to_mdt_refuses_a_series_of_another_practice(patient, coordinator, outsider, frailty):
    series = make_series(outsider.practice, outsider.user)
    referral = make_referral(patient, coordinator.user, frailty, met=all_met(frailty))
    with pytest.raises(ValidationError):
        referral_direct_to_mdt(referral=referral, series=series, by=coordinator.user)
    assert Referral.objects.get().status == Referral.Status.NEW


# --- Pages ----------------------------------------------------------------------------------------


def test_record_a_referral_through_the_pages(sign_in_as, coordinator, patient, frailty):
    client = sign_in_as(coordinator)
    url = reverse("caseload:referral_add", args=[patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Frailty / proactive care" in page.text
    page = client.get(url, {"referral_type": frailty.pk})
    assert "eFI moderate or severe" in page.text
    first = frailty.criteria.first()
    response = client.post(url, {
        "referral_type": frailty.pk, "source": "gp", "referrer_name": "Dr Ann Khan", "reason": "Falls",
        "urgency": "urgent", "received_on": "2026-11-02", "criteria": [first.pk],
    })  # fmt: skip
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("caseload:referral_detail", args=[referral.pk])
    assert (referral.urgency, referral.created_by, [a["met"] for a in referral.criteria]) == (
        "urgent", coordinator.user, [True, False, False, False],
    )  # fmt: skip


def test_referral_form_errors_use_the_error_summary(sign_in_as, coordinator, patient, frailty):
    client = sign_in_as(coordinator)
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("caseload:referral_add", args=[patient.pk]),
        {"referral_type": frailty.pk, "received_on": future, "referrer_email": "not-an-email"},
    )
    assert_error_summary(
        response, "Select who referred", "Enter the referrer&#x27;s name", "Enter the reason for the referral",
        "The date received must be today or in the past", "Enter an email address in the correct format",
    )  # fmt: skip
    assert Referral.objects.count() == 0


def test_accept_decline_and_mdt_through_the_pages(sign_in_as, coordinator, patient, frailty):
    client = sign_in_as(coordinator)
    first = make_referral(patient, coordinator.user, frailty)
    response = client.post(
        reverse("caseload:referral_accept", args=[first.pk]), {"coordinator": coordinator.user.pk}
    )
    assert response.status_code == 302
    assert Referral.objects.get(pk=first.pk).status == Referral.Status.ACCEPTED

    second = make_referral(patient, coordinator.user, frailty, email="ann.khan@example.nhs.net")
    response = client.post(
        reverse("caseload:referral_decline", args=[second.pk]), {"reason": "", "tell_referrer": "on"}
    )
    assert "Enter why the referral is declined" in response.text
    client.post(
        reverse("caseload:referral_decline", args=[second.pk]),
        {"reason": "Not eligible", "tell_referrer": "on"},
    )
    assert Referral.objects.get(pk=second.pk).status == Referral.Status.DECLINED
    assert len(mail.outbox) == 1

    make_series(patient.practice, coordinator.user, kind="care_home", name="Care home MDT")
    frailty_mdt = make_series(patient.practice, coordinator.user)
    third = make_referral(patient, coordinator.user, frailty, met=all_met(frailty))
    page = client.get(reverse("mdt:referral_direct_to_mdt", args=[third.pk]))
    assert page.context["form"].fields["series"].initial == frailty_mdt.pk  # the type's MDT kind
    client.post(reverse("mdt:referral_direct_to_mdt", args=[third.pk]), {"series": frailty_mdt.pk})
    assert Referral.objects.get(pk=third.pk).mdt_series == frailty_mdt


def test_mdt_page_refuses_when_criteria_not_met(sign_in_as, coordinator, patient, frailty):
    series = make_series(patient.practice, coordinator.user)
    referral = make_referral(patient, coordinator.user, frailty)
    response = sign_in_as(coordinator).post(
        reverse("mdt:referral_direct_to_mdt", args=[referral.pk]), {"series": series.pk}
    )
    assert response.status_code == 200
    assert "does not meet the criteria" in response.text
    assert Referral.objects.get().status == Referral.Status.NEW


def test_inbox_shows_new_referrals_of_the_users_practices_and_audits_them(
    sign_in_as, coordinator, patient, outsider, frailty
):
    mine = make_referral(patient, coordinator.user, frailty)
    decided = make_referral(patient, coordinator.user, frailty)
    referral_decline(referral=decided, reason="No", by=coordinator.user)
    other = PatientFactory(practice=outsider.practice)
    make_referral(other, outsider.user, frailty)
    client = sign_in_as(coordinator)
    response = client.get(reverse("caseload:referral_list"))
    assert [r.pk for r in response.context["referrals"]] == [mine.pk]
    response = client.get(reverse("caseload:referral_list"), {"status": "declined"})
    assert [r.pk for r in response.context["referrals"]] == [decided.pk]
    response = client.get(reverse("caseload:referral_list"), {"status": ""})
    assert {r.pk for r in response.context["referrals"]} == {mine.pk, decided.pk}
    event = AuditEvent.objects.filter(action="referral.list").latest("id")
    assert list(event.patients.values_list("pk", flat=True)) == [patient.pk]


def test_inbox_filters_by_type_and_urgency(sign_in_as, coordinator, patient, frailty):
    urgent = make_referral(patient, coordinator.user, frailty, urgency="urgent")
    make_referral(patient, coordinator.user, ReferralType.objects.get(name="Care coordination"))
    client = sign_in_as(coordinator)
    response = client.get(
        reverse("caseload:referral_list"), {"referral_type": frailty.pk, "urgency": "urgent"}
    )
    assert [r.pk for r in response.context["referrals"]] == [urgent.pk]


@pytest.mark.parametrize("count", [1, 30])
def test_inbox_query_count_does_not_grow(
    sign_in_as, coordinator, practice_a, frailty, count, django_assert_num_queries
):
    for _ in range(count):
        make_referral(PatientFactory(practice=practice_a), coordinator.user, frailty)
    client = sign_in_as(coordinator)
    client.get(reverse("caseload:referral_list"))  # warm the session and caches
    with django_assert_num_queries(14):
        response = client.get(reverse("caseload:referral_list"))
    assert len(response.context["referrals"]) == count


def test_detail_of_a_referral_at_another_practice_is_404(sign_in_as, outsider, patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    for name in ("referral_detail", "referral_accept", "referral_decline"):
        assert sign_in_as(outsider).post(reverse(f"caseload:{name}", args=[referral.pk])).status_code == 404
    assert (
        sign_in_as(outsider).post(reverse("mdt:referral_direct_to_mdt", args=[referral.pk])).status_code
        == 404
    )
    assert Referral.objects.get().status == Referral.Status.NEW


def test_a_refused_form_says_error_once_in_the_page_title(sign_in_as, patient, coordinator, frailty):
    referral = make_referral(patient, coordinator.user, frailty)
    page = sign_in_as(coordinator).post(reverse("caseload:referral_decline", args=[referral.pk]), {})
    title = page.content.decode().split("<title>")[1].split("</title>")[0]
    assert title == "Error: Decline the referral – PCN Care Coordination"
