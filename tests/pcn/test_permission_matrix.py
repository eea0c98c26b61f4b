"""Every URL pattern × sign-in state × role × practice scope.

The URL list comes from the resolver, so a view added by any app must be listed in MATRIX or
`test_every_url_pattern_is_in_the_matrix` fails. For each URL the matrix says who may use it:
- anonymous → redirected to sign-in (unless the page is public);
- signed in without two-factor → redirected to the two-factor page (unless exempt);
- a role without the permission → 403;
- a role with it, but the record at another practice → 404;
- a role named in `hidden_from`: it passes the role check, but the record is never theirs to see → 404
  (a safeguarding concern is for its readers alone; a PCN manager is never one).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from careplans.models import CarePlanVersion, DecisionAid, DecisionAidOffer
from careplans.services.plans import care_plan_agree, care_plan_draft
from caseload.models import (
    CARE_EVENT_FEED_SOURCE,
    CareEvent,
    Contact,
    Feedback,
    ImportBatch,
    ImportProfile,
    PersonAround,
    Referral,
    ReferralType,
    SafeguardingConcern,
    Service,
    Signposting,
    Task,
)
from mdt.models import Action, AgendaItem, Circulation, Meeting, MeetingDocument, MeetingSeries
from pcn.models import Role
from recall.models import Appointment, Invitation, InvitationBatch, RecallEntry, Register, qof_year
from reporting.models import ApiToken, ReportExport, SavedSearch
from tests.conftest import sign_in
from tests.factories import CaseloadEpisodeFactory

ALL_ROLES = frozenset(Role)
PATIENT_ROLES = frozenset({Role.COORDINATOR, Role.CLINICAL_LEAD, Role.MANAGER})
CASELOAD_ROLES = PATIENT_ROLES
IMPORT_ROLES = frozenset({Role.MANAGER, Role.ADMINISTRATOR})
SAFEGUARDING_ACTORS = frozenset({Role.CLINICAL_LEAD})  # and the practice's named lead, whatever their role
NOT_SAFEGUARDING_READERS = frozenset({Role.MANAGER})


@dataclass(frozen=True)
class Spec:
    roles: frozenset[str] = ALL_ROLES  # roles that get the page (the rest get 403)
    args: Callable[[Any], list[Any]] = lambda ctx: []
    public: bool = False  # anonymous users may use it
    two_factor_exempt: bool = False  # signed-in users reach it before two-factor
    scoped: bool = False  # the args name a record at practice A: practice B's users get 404
    method: str = "get"
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200}))
    login_url: str = "login"  # where anonymous users are sent
    hidden_from: frozenset[str] = frozenset()  # roles that get 404: the record is not theirs to see


def patient_pk(ctx: Any) -> list[Any]:
    return [ctx.patient.pk]


def episode_pk(ctx: Any) -> list[Any]:
    return [ctx.episode.pk]


def import_batch_pk(ctx: Any) -> list[Any]:
    return [ctx.import_batch.pk]


def import_profile_pk(ctx: Any) -> list[Any]:
    return [ctx.import_profile.pk]


def contact_pk(ctx: Any) -> list[Any]:
    contact = Contact.objects.create(
        patient=ctx.patient, contact_at=datetime(2025, 1, 6, 10, 0, tzinfo=UTC), method="phone",
        duration_minutes=10, recorded_by=ctx.episode.coordinator,
    )  # fmt: skip
    return [contact.pk]


def task_pk(ctx: Any) -> list[Any]:
    task = Task.objects.create(
        patient=ctx.patient, title="Matrix task", owner=ctx.episode.coordinator, due_on="2025-01-06"
    )
    return [task.pk]


def service_pk(ctx: Any) -> list[Any]:
    service, _ = Service.objects.get_or_create(name="Matrix service", defaults={"category": "housing"})
    return [service.pk]


def signposting_pk(ctx: Any) -> list[Any]:
    service = Service.objects.get(pk=service_pk(ctx)[0])
    signposting, _ = Signposting.objects.get_or_create(
        patient=ctx.patient, service=service,
        defaults={"signposted_on": "2025-01-06", "signposted_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [signposting.pk]


def referral_pk(ctx: Any) -> list[Any]:
    referral_type, _ = ReferralType.objects.get_or_create(name="Care coordination")
    referral, _ = Referral.objects.get_or_create(
        patient=ctx.patient, referral_type=referral_type, reason="Matrix",
        defaults={"source": "gp", "referrer_name": "Dr Matrix", "received_on": "2025-01-06",
                  "created_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [referral.pk]


def care_event_pk(ctx: Any) -> list[Any]:
    event, _ = CareEvent.objects.get_or_create(
        nhs_number=ctx.patient.nhs_number, kind="admission", occurred_at=datetime(2025, 1, 6, 10, tzinfo=UTC),
        provider="Matrix Hospital", defaults={"patient": ctx.patient},
    )  # fmt: skip
    return [event.pk]


def unmatched_event_pk(ctx: Any) -> list[Any]:
    event, _ = CareEvent.objects.get_or_create(
        nhs_number="9990000018", kind="ae", occurred_at=datetime(2025, 1, 6, 10, tzinfo=UTC), provider="",
        defaults={"source": "feed"},
    )  # fmt: skip
    return [event.pk]


def care_event_feed_pk(ctx: Any) -> list[Any]:
    batch, _ = ImportBatch.objects.get_or_create(
        source=CARE_EVENT_FEED_SOURCE,
        profile=None,
        defaults={"status": ImportBatch.Status.DONE, "counts": {"rows": 0}},
    )
    return [batch.pk]


def agenda_meeting_pk(ctx: Any) -> list[Any]:
    """A future meeting of a series at practice A, chaired by the context's coordinator."""

    series, created = MeetingSeries.objects.get_or_create(
        name="Matrix agenda MDT",
        defaults={"kind": "frailty", "weekday": 1, "start_time": time(13), "chair": ctx.episode.coordinator},
    )
    if created:
        series.practices.add(ctx.patient.practice)
    at = datetime(2099, 1, 6, 13, tzinfo=UTC)
    meeting, _ = Meeting.objects.get_or_create(
        series=series, scheduled_for=at, defaults={"starts_at": at, "circulate_at": at}
    )
    return [meeting.pk]


def agenda_item_pk(ctx: Any) -> list[Any]:
    item, _ = AgendaItem.objects.get_or_create(
        meeting_id=agenda_meeting_pk(ctx)[0], patient=ctx.patient, defaults={"source": "added"}
    )
    return [item.pk]


def mdt_action_pk(ctx: Any) -> list[Any]:
    action, _ = Action.objects.get_or_create(
        item_id=agenda_item_pk(ctx)[0], what="Matrix action",
        defaults={"owner_user": ctx.episode.coordinator, "due_on": "2025-01-06", "created_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [action.pk]


def agenda_pack_args(ctx: Any) -> list[Any]:
    """The context's meeting with a ready agenda pack (a stand-in PDF under the test's MEDIA_ROOT)."""

    meeting_pk = agenda_meeting_pk(ctx)[0]
    document, created = MeetingDocument.objects.get_or_create(
        meeting_id=meeting_pk, kind="agenda_pack", defaults={"state": "ready"}
    )
    if created:
        document.file.save("matrix-pack.pdf", ContentFile(b"%PDF-1.7 matrix"))
    return [meeting_pk, "agenda_pack"]


def circulation_pk(ctx: Any) -> list[Any]:
    meeting_pk = agenda_pack_args(ctx)[0]
    user = ctx.episode.coordinator
    circulation, _ = Circulation.objects.get_or_create(
        meeting_id=meeting_pk,
        kind="agenda",
        email=user.email,
        defaults={"user": user, "sent_at": timezone.now()},
    )
    return [circulation.pk]


def recall_entry(ctx: Any, key: str, **fields: Any) -> RecallEntry:
    """The context patient's entry on register `key` this QOF year."""
    entry, _ = RecallEntry.objects.get_or_create(
        patient=ctx.patient, register=Register.objects.get(key=key), year=qof_year(timezone.localdate()),
        defaults={"due_month": timezone.localdate().replace(day=1), **fields},
    )  # fmt: skip
    return entry


def recall_entry_pk(ctx: Any) -> list[Any]:
    return [recall_entry(ctx, "diabetes").pk]


def recall_pca_entry_pk(ctx: Any) -> list[Any]:
    return [recall_entry(ctx, "asthma", state="pca", pca_reason="unsuitable", pca_on=timezone.localdate()).pk]


def screening_entry_pk(ctx: Any) -> list[Any]:
    return [recall_entry(ctx, "bowel_screening", state="invited", invitations=1).pk]


def appointment_pk(ctx: Any) -> list[Any]:
    appointment, _ = Appointment.objects.get_or_create(
        patient=ctx.patient, reason="Matrix appointment",
        defaults={"starts_at": timezone.now(), "role": "nurse", "booked_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [appointment.pk]


def recall_batch_pk(ctx: Any) -> list[Any]:
    """A batch sent today inviting the context's patient (practice A), its letters ready."""
    batch = InvitationBatch.objects.filter(description="Matrix batch").first()
    if batch is None:
        user, today = ctx.episode.coordinator, timezone.localdate()
        entry, _ = RecallEntry.objects.get_or_create(
            patient=ctx.patient, register=Register.objects.get(key="diabetes"), year=qof_year(today),
            defaults={"due_month": today.replace(day=1)},
        )  # fmt: skip
        batch = InvitationBatch.objects.create(
            channel="letter", sent_on=today, description="Matrix batch", practice_ids=[ctx.patient.practice_id],
            patient_count=1, invitation_count=1, created_by=user, letters_state="ready", letters_done=1,
            letters_total=1,
        )  # fmt: skip
        batch.letters_file.save("matrix-letters.pdf", ContentFile(b"%PDF-1.7 matrix"))
        Invitation.objects.create(
            entry=entry, patient=ctx.patient, register=entry.register, year=entry.year, sequence=1,
            channel="letter", sent_on=today, batch=batch, created_by=user,
        )  # fmt: skip
    return [batch.pk]


def report_export_pk(ctx: Any) -> list[Any]:
    """A ready caseload CSV made by the signed-in user (`ctx.user`; else the context's coordinator, whose
    download an outsider asks for in the scoping tests): a download is its maker's alone."""
    user = ctx.user or ctx.episode.coordinator
    export = ReportExport.objects.filter(created_by=user, report_key="caseload").first()
    if export is None:
        export = ReportExport.objects.create(
            report_key="caseload", version="caseload-1", period_kind="month", period_start=date(2025, 1, 1),
            period_end=date(2025, 1, 31), practice_ids=[ctx.patient.practice_id], format="csv",
            state="ready", progress_done=1, progress_total=1, created_by=user,
        )  # fmt: skip
        export.file.save("matrix.csv", ContentFile(b"Figure\n"))
    return [export.pk]


def saved_search_pk(ctx: Any) -> list[Any]:
    """A Find-patients search the context's coordinator saved and shared with the PCN."""
    search, _ = SavedSearch.objects.get_or_create(
        name="Matrix search", owner=ctx.episode.coordinator,
        defaults={"kind": SavedSearch.Kind.PATIENTS, "query": "risk_band=high", "shared": True},
    )  # fmt: skip
    return [search.pk]


def api_token_pk(ctx: Any) -> list[Any]:
    token, _ = ApiToken.objects.get_or_create(
        name="Matrix token", defaults={"user": ctx.episode.coordinator, "token_hash": "0" * 64,
                                       "created_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [token.pk]


def person_around_pk(ctx: Any) -> list[Any]:
    person, _ = PersonAround.objects.get_or_create(
        patient=ctx.patient,
        name="Matrix Carer",
        defaults={"relationship": "carer", "created_by": ctx.episode.coordinator},
    )
    return [person.pk]


def safeguarding_concern(ctx: Any) -> SafeguardingConcern:
    """A concern the context's coordinator raised on the context's patient (practice A has no safeguarding
    lead: its clinical lead reads it and acts on it; its administrator reads it; its manager does not)."""
    concern, _ = SafeguardingConcern.objects.get_or_create(
        patient=ctx.patient, raised_by=ctx.episode.coordinator,
        defaults={"category": "neglect", "what_happened": "Matrix concern", "immediate_risk": False},
    )  # fmt: skip
    return concern


def safeguarding_concern_pk(ctx: Any) -> list[Any]:
    return [safeguarding_concern(ctx).pk]


def acknowledged_concern_pk(ctx: Any) -> list[Any]:
    """The same concern, acknowledged (only an acknowledged concern can be closed)."""
    concern = safeguarding_concern(ctx)
    if concern.state == SafeguardingConcern.State.RAISED:
        concern.state, concern.acknowledged_at = SafeguardingConcern.State.ACKNOWLEDGED, timezone.now()
        concern.save(update_fields=["state", "acknowledged_at"])
    return [concern.pk]


def decision_aid_offer_pk(ctx: Any) -> list[Any]:
    aid, _ = DecisionAid.objects.get_or_create(
        title="Matrix aid", defaults={"url": "https://example.org/aid", "decision": "Matrix decision"}
    )
    offer, _ = DecisionAidOffer.objects.get_or_create(
        patient=ctx.patient, aid=aid,
        defaults={"decision": "Matrix", "offered_on": "2025-01-06", "offered_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [offer.pk]


def feedback_pk(ctx: Any) -> list[Any]:
    feedback, _ = Feedback.objects.get_or_create(
        patient=ctx.patient, story="Matrix story",
        defaults={"given_on": "2025-01-06", "given_by": "person", "recorded_by": ctx.episode.coordinator},
    )  # fmt: skip
    return [feedback.pk]


MATRIX: dict[str, Spec] = {
    "home": Spec(),
    "login": Spec(public=True, two_factor_exempt=True, ok=frozenset({200, 302})),
    "logout": Spec(two_factor_exempt=True, method="post", ok=frozenset({302})),
    "two_factor": Spec(two_factor_exempt=True, ok=frozenset({200, 302})),
    "two_factor_setup": Spec(two_factor_exempt=True, ok=frozenset({200, 302})),
    "password_reset": Spec(public=True, two_factor_exempt=True),
    "password_reset_done": Spec(public=True, two_factor_exempt=True),
    "password_reset_confirm": Spec(
        public=True, two_factor_exempt=True, args=lambda ctx: ["MQ", "set-password"], ok=frozenset({200, 302})
    ),
    "password_reset_complete": Spec(public=True, two_factor_exempt=True),
    "audit:event_list": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "audit:event_export": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "caseload:patient_list": Spec(roles=PATIENT_ROLES),
    "overview:patient_detail": Spec(roles=PATIENT_ROLES, args=patient_pk, scoped=True),
    "overview:patient_outcomes": Spec(roles=PATIENT_ROLES, args=patient_pk, scoped=True),
    "caseload:patient_export": Spec(roles=PATIENT_ROLES),
    "overview:my_caseload": Spec(roles=PATIENT_ROLES),
    "overview:my_caseload_export": Spec(roles=PATIENT_ROLES),
    # Without patients chosen the add page sends the user back to the list.
    "caseload:episode_add": Spec(roles=CASELOAD_ROLES, ok=frozenset({302})),
    "caseload:episode_transfer": Spec(roles=CASELOAD_ROLES, args=episode_pk, scoped=True),
    "caseload:episode_close": Spec(roles=CASELOAD_ROLES, args=episode_pk, scoped=True),
    # The population import. Batches are not practice-scoped: a manager sees their own and the
    # unattended ones (the context's batch is unattended), another manager's are 404 (tests/caseload).
    "caseload:import_batch_list": Spec(roles=IMPORT_ROLES),
    "caseload:import_upload": Spec(roles=IMPORT_ROLES),
    "caseload:import_sample": Spec(roles=IMPORT_ROLES),
    "caseload:import_batch_detail": Spec(roles=IMPORT_ROLES, args=import_batch_pk),
    "caseload:import_batch_report": Spec(roles=IMPORT_ROLES, args=import_batch_pk),
    # A finished batch can be neither started nor cancelled: back to its page with a message.
    "caseload:import_batch_start": Spec(
        roles=IMPORT_ROLES, args=import_batch_pk, method="post", ok=frozenset({302})
    ),
    "caseload:import_batch_cancel": Spec(
        roles=IMPORT_ROLES, args=import_batch_pk, method="post", ok=frozenset({302})
    ),
    "caseload:import_profile_list": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "caseload:import_profile_create": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "caseload:import_profile_edit": Spec(roles=frozenset({Role.ADMINISTRATOR}), args=import_profile_pk),
    # Signposting, support given and the coding export. The directory is for everyone who signposts
    # and for administrators, who keep it.
    "caseload:service_list": Spec(),
    "caseload:service_add": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "caseload:service_edit": Spec(roles=frozenset({Role.ADMINISTRATOR}), args=service_pk),
    "caseload:signposting_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:signposting_outcome": Spec(roles=CASELOAD_ROLES, args=signposting_pk, scoped=True),
    "caseload:support_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:coding_export": Spec(roles=CASELOAD_ROLES),
    "caseload:coding_export_csv": Spec(roles=CASELOAD_ROLES),
    # Contacts, tasks and activation (caseload.views.contacts, .tasks, .pam). task_done is a POST (htmx or a form).
    "caseload:contact_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:contact_detail": Spec(roles=PATIENT_ROLES, args=contact_pk, scoped=True),
    "caseload:task_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:my_tasks": Spec(roles=PATIENT_ROLES),
    "caseload:task_done": Spec(
        roles=CASELOAD_ROLES, args=task_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "caseload:pam_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    # Referrals (caseload.views.referrals): the decisions' GET pages show their forms.
    "caseload:referral_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:referral_list": Spec(roles=PATIENT_ROLES),
    "caseload:referral_detail": Spec(roles=PATIENT_ROLES, args=referral_pk, scoped=True),
    "caseload:referral_accept": Spec(roles=CASELOAD_ROLES, args=referral_pk, scoped=True),
    "caseload:referral_decline": Spec(roles=CASELOAD_ROLES, args=referral_pk, scoped=True),
    "mdt:referral_direct_to_mdt": Spec(roles=CASELOAD_ROLES, args=referral_pk, scoped=True),
    # Transfers of care (caseload.views.care_events). Unmatched events have no patient, hence no
    # practice: PCN-wide for the import roles. A finished feed cannot be imported again: 302 back.
    "caseload:care_event_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:patient_care_home": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:triage_list": Spec(roles=PATIENT_ROLES),
    "caseload:care_event_triage": Spec(roles=CASELOAD_ROLES, args=care_event_pk, scoped=True),
    "caseload:care_event_unmatched": Spec(roles=IMPORT_ROLES),
    "caseload:care_event_resolve": Spec(roles=IMPORT_ROLES, args=unmatched_event_pk),
    "caseload:care_event_import": Spec(roles=IMPORT_ROLES),
    "caseload:care_event_import_detail": Spec(roles=IMPORT_ROLES, args=care_event_feed_pk),
    "caseload:care_event_import_start": Spec(
        roles=IMPORT_ROLES, args=care_event_feed_pk, method="post", ok=frozenset({302})
    ),
    # MDT schedule and agenda (mdt.views). A meeting is reached by members of all its series' practices;
    # approval is the series' chair's alone (the context's coordinator), everyone else 403. Invalid or
    # empty POSTs go back to the meeting with a message.
    "mdt:series_list": Spec(roles=PATIENT_ROLES),
    "mdt:meeting_detail": Spec(roles=PATIENT_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:meeting_move": Spec(roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:meeting_cancel": Spec(roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:agenda_item_add": Spec(
        roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:agenda_reorder": Spec(
        roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:agenda_approve": Spec(
        roles=frozenset({Role.COORDINATOR}),
        args=agenda_meeting_pk,
        scoped=True,
        method="post",
        ok=frozenset({302}),
    ),
    "mdt:agenda_item_move": Spec(
        roles=CASELOAD_ROLES, args=agenda_item_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:agenda_item_update": Spec(
        roles=CASELOAD_ROLES, args=agenda_item_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:agenda_item_remove": Spec(
        roles=CASELOAD_ROLES, args=agenda_item_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    # Minutes and actions (mdt.minutes_views). Sign-off is the series' chair's alone (the context's
    # coordinator); an empty discussion POST shows the minutes page again.
    "mdt:minutes": Spec(roles=PATIENT_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:minutes_sign_off": Spec(roles=frozenset({Role.COORDINATOR}), args=agenda_meeting_pk, scoped=True),
    "mdt:addendum_add": Spec(roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:discussion_save": Spec(roles=CASELOAD_ROLES, args=agenda_item_pk, scoped=True, method="post"),
    "mdt:action_add": Spec(roles=CASELOAD_ROLES, args=agenda_item_pk, scoped=True),
    "mdt:my_actions": Spec(roles=PATIENT_ROLES),
    "mdt:action_detail": Spec(roles=PATIENT_ROLES, args=mdt_action_pk, scoped=True),
    "mdt:action_close": Spec(roles=CASELOAD_ROLES, args=mdt_action_pk, scoped=True),
    # Agenda packs and circulation (mdt.circulation_views): a download streams the stored pack; a
    # re-send goes back to the circulation page.
    "mdt:document_download": Spec(roles=PATIENT_ROLES, args=agenda_pack_args, scoped=True),
    "mdt:document_request": Spec(
        roles=PATIENT_ROLES, args=agenda_pack_args, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:circulation_list": Spec(roles=PATIENT_ROLES, args=agenda_meeting_pk, scoped=True),
    "mdt:circulate_now": Spec(
        roles=CASELOAD_ROLES, args=agenda_meeting_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "mdt:circulation_resend": Spec(
        roles=CASELOAD_ROLES, args=circulation_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    # Every admin view goes through one AdminSite.admin_view; the index stands for them all.
    # (Anonymous users go to the admin's login URL, which sends them on to the one sign-in page.)
    # Care plan reviews (careplans.views.reviews): a list, scoped by its rows.
    "careplans:reviews_due": Spec(roles=PATIENT_ROLES),
    # Care plans (careplans.views.plans); the helpers are at the end of this file. Starting to edit
    # (a POST to the plan page) sends the user to the draft.
    "careplans:plan": Spec(roles=PATIENT_ROLES, args=patient_pk, scoped=True),
    "careplans:edit": Spec(roles=CASELOAD_ROLES, args=lambda ctx: care_plan_draft_pk(ctx), scoped=True),
    "careplans:agree": Spec(roles=CASELOAD_ROLES, args=lambda ctx: care_plan_draft_pk(ctx), scoped=True),
    "careplans:compare": Spec(roles=PATIENT_ROLES, args=lambda ctx: care_plan_pk(ctx), scoped=True),
    "careplans:pdf": Spec(roles=PATIENT_ROLES, args=lambda ctx: care_plan_draft_pk(ctx), scoped=True),
    "careplans:staff_pdf": Spec(roles=PATIENT_ROLES, args=lambda ctx: care_plan_draft_pk(ctx), scoped=True),
    "careplans:ehch": Spec(roles=PATIENT_ROLES),
    "careplans:ehch_export": Spec(roles=PATIENT_ROLES),
    "careplans:review": Spec(roles=CASELOAD_ROLES, args=lambda ctx: care_plan_agreed_pk(ctx), scoped=True),
    # Reports (reporting.views.reports): aggregate figures over the user's own practices (the drill-down
    # lists only patients they may see: tests/reporting).
    "reporting:report_list": Spec(roles=PATIENT_ROLES),
    "reporting:report_detail": Spec(roles=PATIENT_ROLES, args=lambda ctx: ["caseload"]),
    "reporting:report_patients": Spec(roles=PATIENT_ROLES, args=lambda ctx: ["caseload", "new"]),
    # Report downloads and the monthly pack (reporting.views.exports): a download is its maker's alone
    # (anyone else: 404). Asking for one with no period or format goes back to the report with a message.
    "reporting:export_create": Spec(
        roles=PATIENT_ROLES, args=lambda ctx: ["caseload"], method="post", ok=frozenset({302})
    ),
    "reporting:export_list": Spec(roles=PATIENT_ROLES),
    "reporting:export_detail": Spec(roles=PATIENT_ROLES, args=report_export_pk, scoped=True),
    "reporting:export_download": Spec(roles=PATIENT_ROLES, args=report_export_pk, scoped=True),
    # Saved searches (reporting.views.saved_searches). The context's search is the coordinator's, shared
    # with the PCN: everyone who sees patients may open, run and download it (each in their own scope);
    # only its owner may change or delete it, so the others get 403 there. A private one is 404 to
    # everyone else (tests/reporting/test_saved_searches.py). Creating without a name: the form again.
    "reporting:saved_search_list": Spec(roles=PATIENT_ROLES),
    "reporting:saved_search_create": Spec(roles=PATIENT_ROLES, method="post"),
    "reporting:saved_search_detail": Spec(roles=PATIENT_ROLES, args=saved_search_pk),
    "reporting:saved_search_run": Spec(
        roles=PATIENT_ROLES, args=saved_search_pk, method="post", ok=frozenset({302})
    ),
    # Downloading asks for CSV or Excel (a POST: a large result makes a background download); with no
    # format it goes back to the search with a message.
    "reporting:saved_search_download": Spec(
        roles=PATIENT_ROLES, args=saved_search_pk, method="post", ok=frozenset({302})
    ),
    "reporting:saved_search_edit": Spec(roles=frozenset({Role.COORDINATOR}), args=saved_search_pk),
    "reporting:saved_search_delete": Spec(roles=frozenset({Role.COORDINATOR}), args=saved_search_pk),
    # The dashboard (reporting.views.dashboard): aggregate figures over the user's own practices, no
    # patient named, so administrators (VIEW_PCN_FIGURES) may see it as well (tests/reporting/test_dashboard).
    "reporting:dashboard": Spec(roles=ALL_ROLES),
    # Appointments, PCA and screening non-responders (recall.views.appointments, .entries, .screening).
    # Withdrawing a PCA asks first: its GET is the confirmation page.
    "recall:appointment_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "recall:appointment_outcome": Spec(roles=CASELOAD_ROLES, args=appointment_pk, scoped=True),
    "recall:appointment_reschedule": Spec(roles=CASELOAD_ROLES, args=appointment_pk, scoped=True),
    "recall:my_appointments": Spec(roles=PATIENT_ROLES),
    "recall:entry_pca": Spec(roles=CASELOAD_ROLES, args=recall_entry_pk, scoped=True),
    "recall:entry_pca_withdraw": Spec(roles=CASELOAD_ROLES, args=recall_pca_entry_pk, scoped=True),
    "recall:screening_list": Spec(roles=PATIENT_ROLES),
    "recall:screening_contact": Spec(roles=CASELOAD_ROLES, args=screening_entry_pk, scoped=True),
    # Recall worklists and invitation batches (recall.views.worklists, .batches). Without patients chosen
    # the batch preview sends the user back to the worklist; the context's batch has letters ready, so
    # "try again" goes back to the batch with a message.
    "recall:worklist": Spec(roles=PATIENT_ROLES),
    "recall:batch_new": Spec(roles=CASELOAD_ROLES, ok=frozenset({302})),
    "recall:batch_list": Spec(roles=PATIENT_ROLES),
    "recall:batch_detail": Spec(roles=PATIENT_ROLES, args=recall_batch_pk, scoped=True),
    "recall:batch_messaging_csv": Spec(roles=PATIENT_ROLES, args=recall_batch_pk, scoped=True),
    "recall:batch_coding_csv": Spec(roles=PATIENT_ROLES, args=recall_batch_pk, scoped=True),
    "recall:batch_letters": Spec(roles=PATIENT_ROLES, args=recall_batch_pk, scoped=True),
    "recall:batch_letters_retry": Spec(
        roles=CASELOAD_ROLES, args=recall_batch_pk, scoped=True, method="post", ok=frozenset({302})
    ),
    "recall:batch_undo": Spec(roles=CASELOAD_ROLES, args=recall_batch_pk, scoped=True),
    "admin:*": Spec(roles=frozenset({Role.ADMINISTRATOR}), login_url="admin:login"),
    # Call/recall report, coding discrepancies and the GP record reconciliation (recall.views.report,
    # .discrepancies, .reconcile): lists scoped by their rows (practice filters offer the user's own).
    "recall:report": Spec(roles=PATIENT_ROLES),
    "recall:report_csv": Spec(roles=PATIENT_ROLES),
    "recall:report_xlsx": Spec(roles=PATIENT_ROLES),
    "recall:discrepancies": Spec(roles=PATIENT_ROLES),
    "recall:discrepancies_csv": Spec(roles=PATIENT_ROLES),
    "recall:reconcile": Spec(roles=CASELOAD_ROLES),
    # Data quality, the BI feed and its tokens (reporting.views.data_quality, .bi_feed, .tokens). Data
    # quality lists are scoped by their rows (tests/reporting/test_data_quality.py). The feed takes no
    # session, only a bearer token: to this session-based matrix it is public (anonymous, unverified and
    # signed-in users alike get 401 without a token); its token rules, scoping and audit are tested in
    # tests/reporting/test_bi_feed.py. Tokens are the administrators' alone, PCN-wide.
    "reporting:data_quality": Spec(roles=PATIENT_ROLES),
    "reporting:data_quality_patients": Spec(roles=PATIENT_ROLES, args=lambda ctx: ["no_mobile"]),
    # A POST with the format (a large list makes a background download); with none, back to the report.
    "reporting:data_quality_csv": Spec(
        roles=PATIENT_ROLES, args=lambda ctx: ["no_mobile"], method="post", ok=frozenset({302})
    ),
    "reporting:bi_feed": Spec(
        public=True, two_factor_exempt=True, args=lambda ctx: ["caseload"], ok=frozenset({401})
    ),
    "reporting:token_list": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "reporting:token_create": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "reporting:token_revoke": Spec(roles=frozenset({Role.ADMINISTRATOR}), args=api_token_pk),
    # Caseload III: the people around the person (caseload.views.people_around; removing asks first:
    # its GET is the confirmation page) and decision aids offered (careplans.views.decision_aids).
    "caseload:person_around_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:person_around_edit": Spec(roles=CASELOAD_ROLES, args=person_around_pk, scoped=True),
    "caseload:person_around_remove": Spec(roles=CASELOAD_ROLES, args=person_around_pk, scoped=True),
    "careplans:decision_aid_offer_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    # Feedback and stories (caseload.views.feedback); the outcomes page lists them (overview).
    "caseload:feedback_add": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:feedback_edit": Spec(roles=CASELOAD_ROLES, args=feedback_pk, scoped=True),
    "careplans:decision_aid_offer_edit": Spec(roles=CASELOAD_ROLES, args=decision_aid_offer_pk, scoped=True),
    # Safeguarding concerns (caseload.views.safeguarding). Raised by those who manage the caseload; read by
    # the raiser, the practice's safeguarding lead, its clinical leads and administrators (the manager:
    # 404); acknowledged and closed by the lead or a clinical lead (a reader who may not act: 403). Every
    # reader has the list. tests/caseload/test_safeguarding.py has each reader and the lead.
    "caseload:safeguarding_raise": Spec(roles=CASELOAD_ROLES, args=patient_pk, scoped=True),
    "caseload:safeguarding_list": Spec(),
    "caseload:safeguarding_detail": Spec(
        args=safeguarding_concern_pk, scoped=True, hidden_from=NOT_SAFEGUARDING_READERS
    ),
    "caseload:safeguarding_acknowledge": Spec(
        roles=SAFEGUARDING_ACTORS,
        args=safeguarding_concern_pk,
        scoped=True,
        method="post",
        ok=frozenset({302}),
        hidden_from=NOT_SAFEGUARDING_READERS,
    ),
    "caseload:safeguarding_close": Spec(
        roles=SAFEGUARDING_ACTORS,
        args=acknowledged_concern_pk,
        scoped=True,
        hidden_from=NOT_SAFEGUARDING_READERS,
    ),
}


def url_routes(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every URL pattern as (name, full route)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_routes(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if namespace.startswith("admin:"):
                # the admin's own patterns, some unnamed, all behind AdminSite.admin_view
                yield "admin:*", route
            elif pattern.name is None:
                raise AssertionError(f"URL pattern {route} has no name: name it and add it to MATRIX")
            else:
                yield f"{namespace}{pattern.name}", route


def url_names(patterns: list[Any]) -> Iterator[str]:
    for name, _ in url_routes(patterns):
        yield name


def test_every_url_pattern_is_in_the_matrix():
    names = set(url_names(get_resolver().url_patterns))
    assert names - MATRIX.keys() == set(), "URL patterns missing from the permission matrix"
    assert MATRIX.keys() - names == set(), "the matrix lists URLs that no longer exist"


@dataclass
class Context:
    patient: Any
    episode: Any
    import_batch: Any = None
    import_profile: Any = None
    user: Any = None  # the signed-in user, for records that are theirs alone (a report download)


def resolve(name: str, ctx: Context) -> str:
    if name == "admin:*":
        return reverse("admin:index")
    return reverse(name, args=MATRIX[name].args(ctx))


def request(client, name: str, ctx: Context):
    return getattr(client, MATRIX[name].method)(resolve(name, ctx))


@pytest.fixture
def ctx(patient, coordinator, settings, tmp_path) -> Context:
    settings.MEDIA_ROOT = tmp_path / "media"  # files the context stores (an MDT pack) stay out of var/

    profile = ImportProfile.objects.create(
        name="Matrix profile", slug="matrix", column_map={"nhs": "nhs_number", "ods": "practice_code"},
        date_formats=["%d/%m/%Y"],
    )  # fmt: skip
    return Context(
        patient=patient,
        episode=CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user),
        import_profile=profile,
        import_batch=ImportBatch.objects.create(
            source=profile.name, profile=profile, status=ImportBatch.Status.DONE, counts={"rows": 0}
        ),
    )


@pytest.fixture
def people(coordinator, clinical_lead, manager, administrator) -> dict[str, Any]:
    return {
        Role.COORDINATOR: coordinator,
        Role.CLINICAL_LEAD: clinical_lead,
        Role.MANAGER: manager,
        Role.ADMINISTRATOR: administrator,
    }


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_is_sent_to_sign_in(client, ctx, name):
    response = request(client, name, ctx)
    if MATRIX[name].public:
        assert response.status_code in MATRIX[name].ok
        assert not response.get("Location", "").startswith(reverse("login") + "?")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse(MATRIX[name].login_url) + "?next=")


def test_admin_sign_in_is_the_site_sign_in(client):
    response = client.get(reverse("admin:login") + "?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_signed_in_without_two_factor_is_sent_to_two_factor(sign_in_as, coordinator, ctx, name):
    client = sign_in_as(coordinator, verified=False)
    response = request(client, name, ctx)
    if MATRIX[name].two_factor_exempt:
        assert not response.get("Location", "").startswith(reverse("two_factor") + "?next=")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor") + "?next=")


@pytest.mark.parametrize("role", sorted(Role))
@pytest.mark.parametrize("name", sorted(name for name, spec in MATRIX.items() if not spec.two_factor_exempt))
def test_each_role_gets_what_it_may_and_403_otherwise(client, people, ctx, role, name):
    sign_in(client, people[role].user)
    ctx.user = people[role].user
    response = request(client, name, ctx)
    if role in MATRIX[name].hidden_from:
        assert response.status_code == 404
    elif role in MATRIX[name].roles:
        assert response.status_code in MATRIX[name].ok
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("name", sorted(name for name, spec in MATRIX.items() if spec.scoped))
def test_record_at_another_practice_is_404(sign_in_as, outsider, ctx, name):
    client = sign_in_as(outsider)
    assert request(client, name, ctx).status_code == 404


def care_plan_draft_pk(ctx: Any) -> list[Any]:
    return [care_plan_draft(patient=ctx.patient, by=ctx.episode.coordinator).pk]


def care_plan_pk(ctx: Any) -> list[Any]:
    return [care_plan_draft(patient=ctx.patient, by=ctx.episode.coordinator).plan_id]


def care_plan_agreed_pk(ctx: Any) -> list[Any]:
    agreed = CarePlanVersion.objects.filter(plan__patient=ctx.patient, status="agreed").first()
    if agreed is None:
        draft = care_plan_draft(patient=ctx.patient, by=ctx.episode.coordinator)
        agreed = care_plan_agree(
            version=draft, agreed_on=timezone.localdate(), agreed_how="phone", agreed_with="patient",
            by=ctx.episode.coordinator,
        )  # fmt: skip
    return [agreed.pk]


# --- Sub-pages answer like their record -----------------------------------------------------------------
#
# Every URL naming a record (by an id in its route) is walked, from the resolver, so a new one is covered
# without being listed. URLs that share a route up to the record's id ("mdt/meetings/<int:pk>") are that
# record's pages; the one whose route is just that ("mdt/meetings/<int:pk>/") is the record's own page,
# its parent. For an outsider (a coordinator at practice B), each page must answer 404 whenever its parent
# does: a sub-page must never show, or act on, what its parent hides. A record with no page of its own
# (an agenda item) has its first page, by name, stand in for it, so its pages all answer alike. The
# records are built by each URL's MATRIX args; one the walker cannot build fails the test.
#
# Two situations: every record at practice A (the matrix's); and the MDT series shared with the
# outsider's practice B as well, so that the meeting is theirs too but practice A's patient on its
# agenda is not.

NOT_RECORDS = {
    "password_reset_confirm": "a signed, expiring token, not a record: public by design",
    "admin:*": "the admin site, the administrators' alone (staff) and PCN-wide by design",
    "reporting:report_detail": "a report's key (code, not a record); its figures are scoped to the user's practices",
    "reporting:report_patients": "a report's key and figure (code); the patients listed are scoped (tests/reporting)",
    "reporting:export_create": "a report's key (code); the download it makes is the asker's own",
    "reporting:data_quality_patients": "a check's key (code); the patients listed are scoped (tests/reporting)",
    "reporting:data_quality_csv": "a check's key (code); the patients listed are scoped (tests/reporting)",
    "reporting:bi_feed": "a report's key (code); token-authenticated, scoped to the token holder's practices",
}
FIRST_ID = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def record_routes() -> dict[str, str]:
    """Each URL with an id in its route, by name: the route up to and including its first id."""
    records = {}
    for name, route in url_routes(get_resolver().url_patterns):
        found = FIRST_ID.search(route)
        if found is None or name in NOT_RECORDS:
            continue
        if found["converter"] != "int":
            raise AssertionError(f"{name} ({route}) names a record by a non-integer: teach the walker")
        records[name] = route[: found.end()]
    return records


RECORD_ROUTES = record_routes()
ROUTES = dict(url_routes(get_resolver().url_patterns))


def parent_of(name: str) -> tuple[str, bool]:
    """The record's own page (True), or the first of its pages standing in for one (False)."""
    record = RECORD_ROUTES[name]
    pages = sorted(other for other, route in RECORD_ROUTES.items() if route == record)
    own = [page for page in pages if ROUTES[page] == record + "/"]
    return (own[0], True) if own else (pages[0], False)


def test_the_walker_walks_the_records_of_every_app():
    apps = {name.partition(":")[0] for name in RECORD_ROUTES}
    assert apps == {
        "caseload",
        "careplans",
        "mdt",
        "overview",
        "recall",
        "reporting",  # reporting:token_revoke (tokens are PCN-wide: administrators reach every one)
    }  # pcn's own URLs name no record (NOT_RECORDS)
    assert parent_of("mdt:minutes_sign_off") == ("mdt:meeting_detail", True)
    assert parent_of("mdt:discussion_save") == ("mdt:action_add", False)


def walker_args(name: str, ctx: Context) -> list[Any]:
    if name not in MATRIX:
        pytest.fail(f"{name} is not in MATRIX: the walker cannot build a record for it")
    args = MATRIX[name].args(ctx)
    try:
        reverse(name, args=args)
    except NoReverseMatch:
        pytest.fail(
            f"The walker cannot build a record for {name} ({RECORD_ROUTES[name]}): give it args in MATRIX"
        )
    return args


@pytest.mark.parametrize("shared", [False, True], ids=["records-at-practice-a", "series-shared-with-b"])
@pytest.mark.parametrize("name", sorted(RECORD_ROUTES))
def test_a_sub_page_answers_404_when_its_parent_does(sign_in_as, coordinator, outsider, ctx, name, shared):
    parent, own_page = parent_of(name)
    args = walker_args(name, ctx)
    parent_args = args if parent == name else walker_args(parent, ctx)
    if own_page:
        assert args[0] == parent_args[0], f"{name} and {parent} must be built for the same record"
    if shared:
        for series in MeetingSeries.objects.all():
            series.practices.add(outsider.practice)
    client = sign_in_as(outsider)
    parent_status = getattr(client, MATRIX[parent].method)(reverse(parent, args=parent_args)).status_code
    status = getattr(client, MATRIX[name].method)(reverse(name, args=args)).status_code
    if parent_status == 404:
        assert status == 404, f"{name} answers {status} to an outsider while {parent} answers 404"
    # The record is there: someone at practice A reaches its parent.
    client.logout()
    insider = sign_in_as(coordinator)
    assert getattr(insider, MATRIX[parent].method)(reverse(parent, args=parent_args)).status_code != 404
