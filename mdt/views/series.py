"""The MDT series list: the series covering any of the user's practices, with their next meetings (no
patient data)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from mdt.models import Meeting, MeetingSeries
from pcn.permissions import Perm, permission_required

NEXT_MEETINGS_SHOWN = 4


@permission_required(Perm.VIEW_PATIENTS)
def series_list_view(request: HttpRequest) -> HttpResponse:
    upcoming = Meeting.objects.filter(starts_at__gte=timezone.now()).order_by("starts_at", "id")
    series = list(
        MeetingSeries.objects.visible_to(request.user)
        .filter(is_active=True)
        .select_related("chair")
        .prefetch_related("practices", Prefetch("meetings", queryset=upcoming, to_attr="upcoming"))
    )
    for one in series:
        one.next_meetings = one.upcoming[:NEXT_MEETINGS_SHOWN]
    return render(request, "mdt/series_list.html", {"series_list": series})
