"""Contacts, tasks (and My tasks) and the Patient Activation Measure, with the PAM change and chart
and the task order that the patient page also shows."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.contact_forms import ActivationForm, ContactForm, MyTasksForm, TaskForm
from caseload.models import ActivationMeasure, Contact, Patient, Task
from caseload.services import activation_record, contact_record, task_complete, task_create
from pcn.audit import audit
from pcn.pagination import CappedPaginator
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
MEANINGFUL_PAM_CHANGE = Decimal("3")  # points within 12 months (DOMAIN.md, "Patient Activation Measure")


def _patient_for(request: HttpRequest, pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Contacts -------------------------------------------------------------------------------------


@permission_required(Perm.MANAGE_CASELOAD)
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for(request, pk)
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        contact_record(patient=patient, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        messages.success(request, "Contact recorded.")
        return redirect(patient)
    audit(request, "contact.form", [patient])
    return render(request, "caseload/contact_form.html", {"form": form, "patient": patient})


@permission_required(Perm.VIEW_PATIENTS)
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(
        Contact.objects.filter(patient__in=Patient.objects.visible_to(request.user)).select_related(
            "patient__practice", "recorded_by", "care_event"
        ),
        pk=pk,
    )
    audit(request, "contact.view", [contact.patient_id], contact_id=contact.pk)
    interventions = [INTERVENTIONS_BY_KEY[k] for k in contact.interventions if k in INTERVENTIONS_BY_KEY]
    return render(
        request,
        "caseload/contact_detail.html",
        {"contact": contact, "patient": contact.patient, "interventions": interventions},
    )


# --- Tasks ----------------------------------------------------------------------------------------


@permission_required(Perm.MANAGE_CASELOAD)
def task_add(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for(request, pk)
    form = TaskForm(request.POST if request.method == "POST" else None, patient=patient, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        task = task_create(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"Task added for {task.owner}, due {task.due_on:%-d %B %Y}.")
        return redirect(patient)
    audit(request, "task.form", [patient])
    return render(request, "caseload/task_form.html", {"form": form, "patient": patient})


def tasks_in_order(tasks: Any, *, today: date) -> Any:
    """Overdue first, then open by due date, then done ones."""
    return tasks.annotate(
        rank=Case(
            When(done_at__isnull=False, then=Value(2)),
            When(due_on__lt=today, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("rank", "due_on", "id")


@permission_required(Perm.VIEW_PATIENTS)
def my_tasks(request: HttpRequest) -> HttpResponse:
    """The user's open tasks, overdue first; clinical leads and managers may pick someone else's
    (among the people at their practices; only tasks for patients at their practices show)."""
    user: Any = request.user
    form = MyTasksForm(request.GET or None, user=user)
    data = form.cleaned_data if form.is_valid() else {}
    owner = data.get("owner") or user
    today = timezone.localdate()
    tasks = Task.objects.visible_to(user).filter(owner=owner).select_related("patient")
    if not data.get("include_done"):
        tasks = tasks.open()
    page = CappedPaginator(tasks_in_order(tasks, today=today), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "task.list", [t.patient_id for t in rows], owner_id=owner.pk, page=page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "caseload/task_list.html",
        {
            "form": form,
            "owner": owner,
            "page": page,
            "tasks": rows,
            "today": today,
            "query_string": query.urlencode(),
            "back": request.get_full_path(),
        },
    )


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (safe to repeat). htmx gets the task's row back; a plain form goes back."""
    task = get_object_or_404(Task.objects.visible_to(request.user).select_related("patient"), pk=pk)
    task_complete(task=task, by=request.user)  # type: ignore[arg-type]
    if _is_htmx(request):
        return render(
            request, "caseload/task_list.html#task_row", {"task": task, "today": timezone.localdate()}
        )
    messages.success(request, f"Task done: {task.title}.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect(reverse("caseload:my_tasks"))


# --- Patient Activation Measure -------------------------------------------------------------------


@permission_required(Perm.MANAGE_CASELOAD)
def pam_add(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for(request, pk)
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        measure = activation_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"PAM score {measure.score} recorded: level {measure.level}.")
        return redirect(patient)
    audit(request, "pam.form", [patient])
    return render(request, "caseload/pam_form.html", {"form": form, "patient": patient})


@dataclass(frozen=True)
class PamChange:
    points: Decimal
    since: date

    @property
    def size(self) -> Decimal:
        return abs(self.points)

    @property
    def meaningful(self) -> bool:
        return self.size >= MEANINGFUL_PAM_CHANGE

    @property
    def improved(self) -> bool:
        return self.points >= MEANINGFUL_PAM_CHANGE


def pam_change(measures: list[ActivationMeasure]) -> PamChange | None:
    """The latest score against the earliest one in the 12 months before it (measures oldest first).
    A gain of 3 points or more within 12 months is a meaningful change (DOMAIN.md)."""
    if len(measures) < 2:
        return None
    latest = measures[-1]
    window_start = latest.measured_on - timedelta(days=365)
    earlier = [m for m in measures[:-1] if m.measured_on >= window_start]
    if not earlier:
        return None
    return PamChange(points=latest.score - earlier[0].score, since=earlier[0].measured_on)


# The chart: a server-drawn SVG (no JavaScript library; presentation attributes, which the CSP allows).
CHART_WIDTH, CHART_HEIGHT = 640, 260
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 48, 76, 12, 36
# Level bands drawn between the published boundaries (1 ≤ 47.0; 2 47.1-55.1; 3 55.2-67.0; 4 ≥ 67.1).
PAM_BANDS = ((1, 0.0, 47.05, "#fde0dc"), (2, 47.05, 55.15, "#fff1c6"), (3, 55.15, 67.05, "#dde9f5"),
             (4, 67.05, 100.0, "#dcefe0"))  # fmt: skip


def pam_chart(measures: list[ActivationMeasure]) -> dict[str, Any] | None:
    """Coordinates for templates/caseload/pam_chart.html (measures oldest first)."""
    if not measures:
        return None
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y(score: float) -> float:
        return round(CHART_TOP + plot_h * (1 - score / 100), 1)

    first, last = measures[0].measured_on, measures[-1].measured_on
    span = (last - first).days

    def x(day: date) -> float:
        if span == 0:
            return round(CHART_LEFT + plot_w / 2, 1)
        return round(CHART_LEFT + plot_w * (day - first).days / span, 1)

    points = [
        {
            "x": x(m.measured_on),
            "y": y(float(m.score)),
            "score": m.score,
            "level": m.level,
            "on": m.measured_on,
        }
        for m in measures
    ]
    label_every = max(1, len(points) // 6)
    for index, point in enumerate(points):
        point["label"] = index % label_every == 0 or index == len(points) - 1
    bands = [
        {"level": level, "y": y(high), "height": round(y(low) - y(high), 1), "fill": fill,
         "label_y": round((y(low) + y(high)) / 2 + 4, 1)}
        for level, low, high, fill in PAM_BANDS
    ]  # fmt: skip
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "top": CHART_TOP,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "plot_width": plot_w,
        "band_label_x": CHART_WIDTH - CHART_RIGHT + 6,
        "date_label_y": CHART_HEIGHT - CHART_BOTTOM + 18,
        "bands": bands,
        "ticks": [{"value": v, "y": y(v), "label_y": y(v) + 4} for v in (0, 47, 55, 67, 100)],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
