"""The header's navigation: what the signed-in user can reach, by role."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from pcn.permissions import Perm, has_perm

# (label, url name, permission). Later apps add their entries here.
NAVIGATION: list[tuple[str, str, Perm | None]] = [
    ("Home", "home", None),
    ("My caseload", "overview:my_caseload", Perm.VIEW_PATIENTS),
    ("My tasks", "caseload:my_tasks", Perm.VIEW_PATIENTS),
    ("MDT meetings", "mdt:series_list", Perm.VIEW_PATIENTS),
    ("My actions", "mdt:my_actions", Perm.VIEW_PATIENTS),
    ("Reviews due", "careplans:reviews_due", Perm.VIEW_PATIENTS),
    ("Recall", "recall:worklist", Perm.VIEW_PATIENTS),
    ("My appointments", "recall:my_appointments", Perm.VIEW_PATIENTS),
    ("Find patients", "caseload:patient_list", Perm.VIEW_PATIENTS),
    ("Referrals", "caseload:referral_list", Perm.VIEW_PATIENTS),
    ("Transfers of care", "caseload:triage_list", Perm.VIEW_PATIENTS),
    ("Safeguarding", "caseload:safeguarding_list", Perm.VIEW_PATIENTS),
    ("Safeguarding", "caseload:safeguarding_list", Perm.ADMINISTER),  # administrators read concerns
    ("Care events feed", "caseload:care_event_import", Perm.IMPORT_POPULATION),
    ("Imports", "caseload:import_batch_list", Perm.IMPORT_POPULATION),
    ("Services directory", "caseload:service_list", Perm.VIEW_PATIENTS),
    ("Services directory", "caseload:service_list", Perm.ADMINISTER),  # administrators keep it
    ("Coding export", "caseload:coding_export", Perm.MANAGE_CASELOAD),
    ("Reports", "reporting:report_list", Perm.VIEW_PATIENTS),
    ("Audit", "audit:event_list", Perm.VIEW_AUDIT),
    ("Administration", "admin:index", Perm.ADMINISTER),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {"nav_items": [], "header_memberships": []}
    items = [
        {"label": label, "url_name": url_name}
        for label, url_name, perm in NAVIGATION
        if perm is None or has_perm(user, perm)
    ]
    # An entry listed for two permissions (a user may hold both) shows once.
    items = list({item["url_name"]: item for item in items}.values())
    # The header shows the user's roles and practices: one query, ordered so that the template can
    # {% regroup %} by role, and made only when a template reads it (htmx partials do not).
    memberships = SimpleLazyObject(
        lambda: list(user.memberships.select_related("practice").order_by("role", "practice__name"))
    )
    return {"nav_items": items, "header_memberships": memberships}
