"""The population import's pages: upload, preview, progress, result, error report; import profiles.

PCN managers and administrators import (Perm.IMPORT_POPULATION); administrators edit the profiles
(Perm.MANAGE_IMPORT_PROFILES). A manager sees the imports they started and the unattended ones
(drop folder, command line); an administrator sees them all (ImportBatch.objects.visible_to).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from caseload.forms.imports import ImportProfileForm, ImportStartForm, ImportUploadForm
from caseload.models import ImportBatch, ImportProfile
from caseload.services.import_files import FIELDS, report_csv
from caseload.services.imports import (
    population_import_cancel,
    population_import_start,
    population_import_upload,
)
from pcn.audit import audit
from pcn.permissions import Perm, has_perm, permission_required

BATCH_PAGE_SIZE = 25
ERRORS_ON_SCREEN = 100
CANONICAL_SAMPLE = Path(settings.BASE_DIR) / "docs" / "samples" / "canonical_population.csv"


def batch_start(request: HttpRequest, start: Callable[..., Any], batch: ImportBatch, form: Form) -> None:
    """Import a checked batch (`start`: the population's or the care events feed's service) as the
    preview page's buttons say: every row, or only the valid ones. A refusal is said on the next page."""
    form.is_valid()
    try:
        start(batch=batch, skip_invalid=form.cleaned_data.get("skip_invalid", False), by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])


@permission_required(Perm.IMPORT_POPULATION)
def import_batch_list_view(request: HttpRequest) -> HttpResponse:
    batches = (
        ImportBatch.objects.population().visible_to(request.user).select_related("profile", "created_by")
    )
    page = Paginator(batches, BATCH_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "caseload/import_batch_list.html",
        {"page": page, "can_manage_profiles": has_perm(request.user, Perm.MANAGE_IMPORT_PROFILES)},
    )


@permission_required(Perm.IMPORT_POPULATION)
def import_upload_view(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = population_import_upload(
            profile=form.cleaned_data["profile"],
            upload=form.cleaned_data["file"],
            by=request.user,  # type: ignore[arg-type]
        )
        return redirect(batch)
    profiles = ImportProfile.objects.order_by("name")
    return render(
        request,
        "caseload/import_upload.html",
        {"form": form, "profiles": profiles, "max_mb": settings.IMPORT_MAX_UPLOAD_MB},
    )


@permission_required(Perm.IMPORT_POPULATION)
def import_batch_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview while the file is being checked or imported; htmx polls the `batch` partial."""
    batch = get_object_or_404(
        ImportBatch.objects.population().visible_to(request.user).select_related("profile", "created_by"),
        pk=pk,
    )
    errors = batch.report.get("errors", [])[:ERRORS_ON_SCREEN]
    warnings = batch.report.get("warnings", [])[:ERRORS_ON_SCREEN]
    context = {
        "batch": batch,
        "errors": errors,
        "errors_not_shown": max(batch.error_count - len(errors), 0),
        "warnings": warnings,
        "warnings_not_shown": max(batch.warning_count - len(warnings), 0),
        "counts": batch.counts,
        "valid_patients": batch.valid_patients,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "caseload/import_batch_detail.html#batch", context)
    if batch.error_count or batch.warning_count:
        # The page shows values from the file (NHS numbers among them).
        audit(
            request, "population.import_view", batch_id=batch.pk, errors_shown=len(errors),
            warnings_shown=len(warnings),
        )  # fmt: skip
    return render(request, "caseload/import_batch_detail.html", context)


@require_POST
@permission_required(Perm.IMPORT_POPULATION)
def import_batch_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.population().visible_to(request.user), pk=pk)
    batch_start(request, population_import_start, batch, ImportStartForm(request.POST))
    return redirect(batch)


@require_POST
@permission_required(Perm.IMPORT_POPULATION)
def import_batch_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.population().visible_to(request.user), pk=pk)
    try:
        population_import_cancel(batch=batch, by=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect(batch)
    messages.success(request, f"You cancelled the import of {batch.filename}. Nothing was imported.")
    return redirect("caseload:import_batch_list")


@permission_required(Perm.IMPORT_POPULATION)
def import_batch_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Every error and warning of the batch as CSV: row, column, value, reason (values formula-escaped)."""
    batch = get_object_or_404(ImportBatch.objects.population().visible_to(request.user), pk=pk)
    audit(
        request, "population.import_report", batch_id=batch.pk, errors=batch.error_count,
        warnings=batch.warning_count,
    )  # fmt: skip
    filename = f"import-{batch.pk}-errors.csv"
    if batch.report_file:
        try:
            return FileResponse(
                batch.report_file.open("rb"), as_attachment=True, filename=filename, content_type="text/csv"
            )
        except FileNotFoundError:
            pass
    text = report_csv([], message=batch.error_message) if batch.error_message else report_csv([])
    response = HttpResponse(("\ufeff" + text).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@permission_required(Perm.IMPORT_POPULATION)
def import_sample_view(request: HttpRequest) -> HttpResponse:
    """The canonical CSV's sample file (synthetic: NHS numbers from the 999 test range)."""
    return FileResponse(
        CANONICAL_SAMPLE.open("rb"),
        as_attachment=True,
        filename="canonical_population_sample.csv",
        content_type="text/csv",
    )


# --- Import profiles (administrators) -------------------------------------------------------------


@permission_required(Perm.MANAGE_IMPORT_PROFILES)
def import_profile_list_view(request: HttpRequest) -> HttpResponse:
    profiles = ImportProfile.objects.annotate(batch_count=Count("batches")).order_by("name")
    return render(request, "caseload/import_profile_list.html", {"profiles": profiles})


@permission_required(Perm.MANAGE_IMPORT_PROFILES)
def import_profile_create_view(request: HttpRequest) -> HttpResponse:
    return _import_profile_form(request, ImportProfile())


@permission_required(Perm.MANAGE_IMPORT_PROFILES)
def import_profile_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _import_profile_form(request, get_object_or_404(ImportProfile, pk=pk))


def _import_profile_form(request: HttpRequest, profile: ImportProfile) -> HttpResponse:
    adding = profile.pk is None
    form = ImportProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profile = form.save()
        audit(
            request,
            "import_profile.add" if adding else "import_profile.change",
            profile_id=profile.pk,
            profile=profile.name,
            changed=form.changed_data,
        )
        messages.success(request, f"The import profile “{profile.name}” is saved.")
        return redirect("caseload:import_profile_list")
    return render(
        request,
        "caseload/import_profile_form.html",
        {"form": form, "profile": profile, "adding": adding, "fields": FIELDS},
    )
