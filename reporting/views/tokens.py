"""The BI feed's API tokens, for administrators: the list, a new token (shown once) and revoking one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pcn.permissions import Perm, permission_required
from reporting.forms import ApiTokenForm
from reporting.models import ApiToken
from reporting.services.tokens import api_token_create, api_token_revoke


@permission_required(Perm.ADMINISTER)
def token_list_view(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    return render(request, "reporting/token_list.html", {"tokens": tokens})


@permission_required(Perm.ADMINISTER)
def token_create_view(request: HttpRequest) -> HttpResponse:
    """The form; once sent, the page shows the token, this once (it is not stored, and the page is not
    cached: every response is no-store)."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        made, token = api_token_create(by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        return render(request, "reporting/token_created.html", {"made": made, "token": token})
    return render(request, "reporting/token_form.html", {"form": form})


@permission_required(Perm.ADMINISTER)
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if request.method == "POST":
        api_token_revoke(token=token, by=request.user)  # type: ignore[arg-type]
        messages.success(request, f"“{token.name}” is revoked: its next request will be refused.")
        return redirect("reporting:token_list")
    return render(request, "reporting/token_revoke.html", {"token": token})
