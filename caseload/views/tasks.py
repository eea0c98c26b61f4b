"""Tasks: adding one to a patient, My tasks (overdue first), and marking one done."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from caseload.forms.tasks import MyTasksForm, TaskForm
from caseload.models import Task
from caseload.services.tasks import task_complete, task_create
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50


@permission_required(Perm.MANAGE_CASELOAD)
def task_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = TaskForm(request.POST if request.method == "POST" else None, patient=patient, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        task = task_create(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"Task added for {task.owner}, due {task.due_on:%-d %B %Y}.")
        return redirect(patient)
    audit(request, "task.form", [patient])
    return render(request, "caseload/task_form.html", {"form": form, "patient": patient})


@permission_required(Perm.VIEW_PATIENTS)
def my_tasks_view(request: HttpRequest) -> HttpResponse:
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
    page = CappedPaginator(tasks.in_order(today=today), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "task.list", [t.patient_id for t in rows], owner_id=owner.pk, page=page.number)
    context = {"form": form, "owner": owner, "page": page, "tasks": rows, "today": today}
    return render(
        request,
        "caseload/task_list.html",
        {**context, "query_string": query_without(request, "page"), "back": request.get_full_path()},
    )


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def task_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (safe to repeat). htmx gets the task's row back; a plain form goes back."""
    task = get_object_or_404(Task.objects.visible_to(request.user).select_related("patient"), pk=pk)
    if task.safeguarding_concern_id is not None and task.done_at is None:
        messages.info(request, "A safeguarding task is done when its concern is acknowledged.")
        return redirect(reverse("caseload:my_tasks"))
    task_complete(task=task, by=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
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
