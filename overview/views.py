"""The pages that compose several apps: each role's home page, the patient page (with its timeline)
and My caseload (with the EHCH badges of care plans)."""

from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from careplans.models import CarePlanVersion, Goal
from careplans.services.ehch import ehch_badge, ehch_badges_for
from caseload.filters import CaseloadFilter
from caseload.models import (
    CareEvent,
    CaseloadEpisode,
    EfiCategory,
    Feedback,
    Patient,
    Referral,
    SafeguardingConcern,
    Task,
)
from caseload.services.pam import pam_change, pam_chart
from overview.forms import TimelineForm
from overview.timeline import patient_timeline
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.models import Practice, Role
from pcn.nhs_number import format_nhs_number
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, has_perm, permission_required
from recall.models import Appointment, Invitation, RecallEntry, qof_year, year_label
from reporting.periods import last_twelve_months
from reporting.services.dashboard import HeadlineFigure, dashboard_figures

PAGE_SIZE = 50
RECALL_HISTORY_LIMIT = 200  # invitations on the patient page (the newest): a dozen registers, years of them
EXPORT_LIMIT = 100_000

# --- Home -------------------------------------------------------------------------------------------


def home_view(request: HttpRequest) -> HttpResponse:
    """Each role's home page: what needs doing today, and the figures the role watches."""
    user: Any = request.user
    context: dict[str, Any] = {"roles": sorted(user.roles())}
    if has_perm(user, Perm.VIEW_PATIENTS):
        context.update(_patient_figures(user))
    if has_perm(user, Perm.VIEW_PCN_FIGURES):
        context["practice_figures"] = _practice_figures(user)
    context["is_coordinator"] = user.has_role(Role.COORDINATOR)
    if context["is_coordinator"]:
        context.update(_coordinator_figures(user))
    context["is_manager"] = user.has_role(Role.MANAGER)
    context["is_lead"] = user.has_role(Role.CLINICAL_LEAD)
    context["is_admin"] = has_perm(user, Perm.ADMINISTER)
    context["may_see_dashboard"] = has_perm(user, Perm.VIEW_PATIENTS) or has_perm(user, Perm.VIEW_PCN_FIGURES)
    if context["is_manager"] or context["is_lead"]:
        context["headlines"] = _headlines(user)
    return render(request, "overview/home.html", context)


def _headlines(user: Any) -> list[HeadlineFigure]:
    """The dashboard's headline figures for last month and the month before (reporting:dashboard has
    their 12 months): a fixed number of queries, about a dozen, whatever the data."""
    periods = last_twelve_months(timezone.localdate())[-2:]
    return dashboard_figures(periods=periods, practice_ids=sorted(user.practice_ids()))


def _patient_figures(user: Any) -> dict[str, int]:
    """The patients in the user's practices, and the user's open tasks due today or overdue (as
    My tasks, caseload:my_tasks, lists them)."""
    today = timezone.localdate()
    due = Task.objects.visible_to(user).open().filter(owner=user, due_on__lte=today)
    return {
        "patient_count": Patient.objects.visible_to(user).count(),
        "tasks_due": due.count(),
        "tasks_overdue": due.filter(due_on__lt=today).count(),
    }


def _coordinator_figures(user: Any) -> dict[str, int]:
    """A coordinator's caseload and contacts overdue, and their practices' new referrals and
    transfers of care to triage (caseload:referral_list, caseload:triage_list)."""
    mine = CaseloadEpisode.objects.open().filter(coordinator=user)
    return {
        "caseload_count": mine.count(),
        "contacts_overdue": mine.filter(next_contact_due__lt=timezone.localdate()).count(),
        "new_referrals": Referral.objects.visible_to(user).filter(status=Referral.Status.NEW).count(),
        "events_to_triage": CareEvent.objects.visible_to(user).to_triage().count(),
    }


def _practice_figures(user: Any) -> list[dict[str, Any]]:
    """Registered patients and the population-health figures per practice: one aggregate query."""
    threshold = settings.FREQUENT_ATTENDER_THRESHOLD
    rows = (
        Practice.objects.filter(pk__in=user.practice_ids())
        .annotate(
            patient_total=Count("patients", filter=Q(patients__has_left=False, patients__is_deceased=False)),
            care_home_residents=Count("patients", filter=Q(patients__care_home__isnull=False)),
            frequent_attenders=Count("patients", filter=Q(patients__ae_attendances_12m__gte=threshold)),
            severe_frailty=Count("patients", filter=Q(patients__efi_category=EfiCategory.SEVERE)),
            moderate_frailty=Count("patients", filter=Q(patients__efi_category=EfiCategory.MODERATE)),
        )
        .order_by("name")
    )
    return list(
        rows.values(
            "name",
            "ods_code",
            "patient_total",
            "care_home_residents",
            "frequent_attenders",
            "severe_frailty",
            "moderate_frailty",
        )
    )


# --- The patient page -------------------------------------------------------------------------------


@permission_required(Perm.VIEW_PATIENTS)
def patient_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(
        Patient.objects.visible_to(request.user).select_related("practice", "care_home"), pk=pk
    )
    snapshots = list(patient.risk_snapshots.order_by("-taken_on", "-id")[:12])
    episodes = list(patient.episodes.select_related("coordinator", "opened_by", "closed_by"))
    audit(request, "patient.view", [patient])
    return render(
        request,
        "overview/patient_detail.html",
        {
            "patient": patient,
            "snapshots": snapshots,
            "episodes": episodes,
            "open_episode": next((e for e in episodes if e.is_open), None),
            "perms_manage_caseload": has_perm(request.user, Perm.MANAGE_CASELOAD),
            "age": patient.age(timezone.localdate()),
            # The timeline, PAM history and open tasks (Caseload II).
            **_patient_records(request, patient),
            # The EHCH badge: "PCSP due in N working days" / "PCSP overdue" (careplans).
            **ehch_badge(patient=patient),
            "safeguarding_open": _safeguarding_open(request, patient),
        },
    )


def _safeguarding_open(request: HttpRequest, patient: Patient) -> list[SafeguardingConcern]:
    """The open safeguarding concerns for the restricted banner, each marked `readable` when the user may
    open it. One query, which reads no category, words or outcome: the banner shows none of them."""
    readable = SafeguardingConcern.objects.readable_by(request.user).filter(pk=OuterRef("pk"))
    return list(
        SafeguardingConcern.objects.filter(patient=patient)
        .open()
        .only("pk", "patient_id", "raised_at", "state")
        .annotate(readable=Exists(readable))
        .order_by("raised_at", "id")
    )


def _patient_records(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """The timeline (filtered by kind), the PAM history and chart, the open tasks and the people around
    the person. A fixed number of queries: one per timeline kind, one for the PAM history, one for the
    open tasks, one for the people around."""
    timeline_form = TimelineForm(request.GET or None)
    kinds = timeline_form.cleaned_data["kind"] if timeline_form.is_valid() else []
    measures = list(patient.activation_measures.select_related("measured_by").order_by("measured_on", "id"))
    today = timezone.localdate()
    open_tasks = list(patient.tasks.open().select_related("owner").in_order(today=today))
    return {
        "timeline": patient_timeline(patient=patient, kinds=kinds),
        "timeline_form": timeline_form,
        "timeline_filtered": bool(kinds),
        "pam_measures": measures,
        "pam_latest": measures[-1] if measures else None,
        "pam_change": pam_change(measures),
        "pam_chart": pam_chart(measures),
        "open_tasks": open_tasks,
        "today": today,
        # The people around the person (Caseload III): one query, main carer first.
        "people_around": list(patient.people_around.all()),
        # Call and recall: this year's reviews, open appointments, the history across years.
        **_patient_recall(patient, today),
    }


def _patient_recall(patient: Patient, today: Any) -> dict[str, Any]:
    """The "Call and recall" section: four queries whatever the rows (every entry, every ledger row
    (cancelled ones too), the open appointments and their reviews)."""
    year = qof_year(today)
    entries = list(
        RecallEntry.objects.filter(patient=patient)
        .select_related("register", "pca_by")
        .order_by("-year", "register__display_order", "register__name")
    )
    invitations = list(
        Invitation.objects.filter(patient=patient)
        .select_related("register", "created_by")
        .order_by("-sent_on", "-id")[:RECALL_HISTORY_LIMIT]
    )
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .open()
        .prefetch_related(Prefetch("entries", queryset=RecallEntry.objects.select_related("register")))
        .order_by("starts_at", "id")
    )
    return {
        "recall_year": year_label(year),
        "recall_entries": [e for e in entries if e.year == year],
        "recall_earlier": [e for e in entries if e.year < year],
        "recall_invitations": invitations,
        "recall_appointments": appointments,
        "now": timezone.now(),
    }


# --- The patient's outcomes -------------------------------------------------------------------------


@permission_required(Perm.VIEW_PATIENTS)
def patient_outcomes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """What has changed for the person: activation (first PAM to latest), the goals of their care plan
    met, and the feedback and stories they and the people around them gave, over time. Five queries
    after the patient's, whatever the rows."""
    patient = get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)
    measures = list(patient.activation_measures.select_related("measured_by").order_by("measured_on", "id"))
    feedback = list(patient.feedback.select_related("recorded_by", "mdt_series").order_by("-given_on", "-id"))
    audit(request, "patient.outcomes.view", [patient])
    return render(
        request,
        "overview/patient_outcomes.html",
        {
            "patient": patient,
            "perms_manage_caseload": has_perm(request.user, Perm.MANAGE_CASELOAD),
            "pam": _pam_first_to_latest(measures),
            "pam_measures": measures,
            "pam_chart": pam_chart(measures),
            **_goals(patient),
            "feedback": feedback,
            **_feedback_figures(feedback),
            "rating_question": Feedback.RATING_QUESTION,
        },
    )


def _pam_first_to_latest(measures: list[Any]) -> dict[str, Any] | None:
    """The first and latest PAM and the change between them (None before a second measure)."""
    if len(measures) < 2:
        return None
    first, latest = measures[0], measures[-1]
    points = latest.score - first.score
    return {"first": first, "latest": latest, "points": points, "size": abs(points),
            "levels": latest.level - first.level}  # fmt: skip


def _goals(patient: Patient) -> dict[str, Any]:
    """The goals of the plan in force (else the draft): met, and still being worked towards."""
    version = (
        CarePlanVersion.objects.filter(plan__patient=patient)
        .exclude(status=CarePlanVersion.Status.SUPERSEDED)
        .order_by("status", "-number")  # "agreed" before "draft"
        .first()
    )
    goals: list[Goal] = list(version.goals.all()) if version is not None else []
    return {
        "plan_version": version,
        "goals": goals,
        "goals_met": sum(goal.met_on is not None for goal in goals),
    }


def _feedback_figures(feedback: list[Feedback]) -> dict[str, Any]:
    ratings = [item.rating for item in feedback if item.rating is not None]
    return {
        "feedback_good_news": sum(item.is_good_news for item in feedback),
        "feedback_rated": len(ratings),
        "feedback_mean_rating": round(sum(ratings) / len(ratings), 1) if ratings else None,
    }


# --- My caseload ------------------------------------------------------------------------------------


def _caseload(request: HttpRequest) -> CaseloadFilter:
    user: Any = request.user
    episodes = (
        CaseloadEpisode.objects.visible_to(user)
        .open()
        .select_related("patient__practice", "patient__care_home", "coordinator")
        .order_by(F("next_contact_due").asc(nulls_last=True), "patient__family_name", "id")
    )
    data = request.GET.copy()
    if "coordinator" not in data and user.has_role("coordinator"):
        data["coordinator"] = str(user.pk)  # a coordinator's own caseload first; "Everyone" is one click
    return CaseloadFilter(data, queryset=episodes, user=user)


@permission_required(Perm.VIEW_PATIENTS)
def my_caseload_view(request: HttpRequest) -> HttpResponse:
    """A coordinator's open episodes; clinical leads and managers see everyone's, by coordinator."""
    caseload_filter = _caseload(request)
    page = CappedPaginator(caseload_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    # The EHCH badge of the patient page on each row (care home residents awaiting a PCSP).
    badges = ehch_badges_for(patient_ids=[e.patient_id for e in rows])
    for episode in rows:
        episode.ehch_pcsp = badges.get(episode.patient_id)
    audit(request, "caseload.list", [e.patient_id for e in rows], page=page.number)
    return render(
        request,
        "overview/my_caseload.html",
        {
            "filter": caseload_filter,
            "page": page,
            "episodes": rows,
            "today": timezone.localdate(),
            "query_string": query_without(request, "page"),
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def my_caseload_export_view(request: HttpRequest) -> HttpResponse:
    """CSV of the caseload as filtered (every page); audited with every patient."""
    episodes = list(_caseload(request).qs[:EXPORT_LIMIT])
    audit(request, "caseload.export", [e.patient_id for e in episodes], rows=len(episodes))
    header = [
        "NHS number", "Family name", "Given name", "Practice", "Care coordinator", "On caseload since", "Why",
        "Last contact", "Next contact due", "Risk score", "eFI category", "Care home",
    ]  # fmt: skip
    lines = (
        [format_nhs_number(e.patient.nhs_number), e.patient.family_name, e.patient.given_name,
         e.patient.practice.ods_code, str(e.coordinator), timezone.localtime(e.opened_at).strftime("%d/%m/%Y"),
         e.get_reason_display(),
         timezone.localtime(e.last_contact_at).strftime("%d/%m/%Y") if e.last_contact_at else "",
         e.next_contact_due.strftime("%d/%m/%Y") if e.next_contact_due else "", e.patient.risk_score,
         e.patient.get_efi_category_display(), e.patient.care_home.name if e.patient.care_home else ""]
        for e in episodes
    )  # fmt: skip
    return csv_download(f"caseload-{timezone.localdate():%Y%m%d}.csv", header, lines)
