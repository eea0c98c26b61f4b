"""Sign-in with two-factor authentication, and the administrator's audit pages."""

import csv
import sys
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from pcn.audit import audit
from pcn.exports import csv_safe
from pcn.forms import AuditFilterForm, SignInForm, TokenForm
from pcn.middleware import two_factor_exempt
from pcn.models import AuditEvent, AuditEventPatient
from pcn.permissions import Perm, permission_required
from pcn.services import totp_device_confirm, totp_device_for_enrolment


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@never_cache
@two_factor_exempt
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """Ask for the code from the user's authenticator app; enrol them first if they have none."""
    if request.user.is_verified():  # type: ignore[union-attr]
        return HttpResponseRedirect(_safe_next(request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        query = urlencode({"next": _safe_next(request)})
        return HttpResponseRedirect(f"{reverse('two_factor_setup')}?{query}")
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        otp_login(request, device)
        return HttpResponseRedirect(_safe_next(request))
    return render(request, "registration/two_factor.html", {"form": form, "next": _safe_next(request)})


@never_cache
@two_factor_exempt
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """First sign-in: show a QR code for a new TOTP key, confirm it with a code from the app."""
    if request.user.is_verified():  # type: ignore[union-attr]
        return redirect("home")
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("two_factor")
    device = totp_device_for_enrolment(user=request.user)  # type: ignore[arg-type]
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        totp_device_confirm(device=device)
        otp_login(request, device)
        return HttpResponseRedirect(_safe_next(request))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_data_uri": qr.svg_data_uri(scale=5, dark="#212b32"),
        "secret": _group(device.config_url.split("secret=")[1].split("&")[0]),
        "next": _safe_next(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


def _group(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


logout_view = two_factor_exempt(auth_views.LogoutView.as_view())


# --- Audit (administrators) ------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


def _audit_events(form: AuditFilterForm) -> Any:
    events = AuditEvent.objects.select_related("user")
    if not form.is_valid():
        return events.none()
    data = form.cleaned_data
    if data["nhs_number"]:
        # The patient model is caseload's, a floor above: reached through the relation, not imported.
        patients = AuditEventPatient._meta.get_field("patient").related_model._default_manager
        patient = patients.filter(nhs_number=data["nhs_number"]).first()
        events = events.for_patient(patient.pk) if patient else events.none()
    if data["user"]:
        events = events.by_user(data["user"].pk)
    tz = timezone.get_current_timezone()
    if data["date_from"]:
        events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
    if data["date_to"]:
        events = events.filter(
            at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=tz)
        )
    return events


@permission_required(Perm.VIEW_AUDIT)
def event_list_view(request: HttpRequest) -> HttpResponse:
    """Who accessed this patient; what did this user access between two dates."""
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        form = AuditFilterForm({})
    page = Paginator(_audit_events(form), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    events = list(page.object_list)
    _attach_patients(events)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pcn/audit_event_list.html",
        {"form": form, "page": page, "events": events, "query": query.urlencode()},
    )


def _attach_patients(events: list[AuditEvent]) -> None:
    """One query for the patients of a whole page of events."""
    links = AuditEvent.patients.through.objects.filter(event__in=events).select_related("patient")
    by_event: dict[int, list[Any]] = {}  # caseload patients, reached through the link
    for link in links:
        by_event.setdefault(link.event_id, []).append(link.patient)
    for event in events:
        event.patient_list = by_event.get(event.pk, [])  # type: ignore[attr-defined]


AUDIT_EXPORT_HEADER = ["When", "User", "Email", "Action", "NHS numbers", "IP address", "Path"]


@permission_required(Perm.VIEW_AUDIT)
def event_export_view(request: HttpRequest) -> HttpResponse:
    """The filtered events as CSV (not streamed: the list is read first, to count its rows)."""
    form = AuditFilterForm(request.GET or {})
    events = list(_audit_events(form).iterator(chunk_size=2000))
    numbers = _nhs_numbers(events)
    audit(request, "audit.export", rows=len(events), filters=request.GET.dict())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(AUDIT_EXPORT_HEADER)
    writer.writerows(csv_safe(_export_row(event, numbers.get(event.pk, []))) for event in events)
    return response


def _nhs_numbers(events: list[AuditEvent]) -> dict[int, list[str]]:
    """The NHS numbers of each event's patients, by event id: one query."""
    links = AuditEvent.patients.through.objects.filter(event_id__in=[e.pk for e in events]).values_list(
        "event_id", "patient__nhs_number"
    )
    numbers: dict[int, list[str]] = {}
    for event_id, nhs_number in links:
        numbers.setdefault(event_id, []).append(nhs_number)
    return numbers


def _export_row(event: AuditEvent, nhs_numbers: list[str]) -> list[str]:
    return [
        timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"),
        event.user.full_name if event.user else "",
        event.user.email if event.user else "",
        event.action,
        " ".join(sorted(nhs_numbers)),
        event.ip_address or "",
        event.path,
    ]


def server_error_view(request: HttpRequest) -> HttpResponse:
    """The 500 handler. When the database cannot be reached (it is restarting, or the connection was
    lost) the page says the service is unavailable for a moment — 503 with Retry-After — rather than
    that something broke; the next request reconnects (CONN_HEALTH_CHECKS), no process restart needed.
    Rendered without a request or context processors: the failure may be in them."""
    failure = sys.exc_info()[1]
    if isinstance(failure, OperationalError | InterfaceError):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))
