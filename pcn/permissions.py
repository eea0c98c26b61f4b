"""Who may do what: every role permission in one place, and the decorator views use.

Practice scoping (which records) is the other half and lives on the querysets (`visible_to`).
A view first checks the permission here (wrong role → 403), then fetches through `visible_to`
(out of scope → 404, never a 403 that would confirm the record exists).
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from pcn.models import Role, User


class Perm(StrEnum):
    VIEW_PATIENTS = "view_patients"
    MANAGE_CASELOAD = "manage_caseload"
    VIEW_PCN_FIGURES = "view_pcn_figures"
    VIEW_AUDIT = "view_audit"
    ADMINISTER = "administer"
    IMPORT_POPULATION = "import_population"
    MANAGE_IMPORT_PROFILES = "manage_import_profiles"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.COORDINATOR: frozenset({Perm.VIEW_PATIENTS, Perm.MANAGE_CASELOAD}),
    Role.CLINICAL_LEAD: frozenset({Perm.VIEW_PATIENTS, Perm.MANAGE_CASELOAD}),
    Role.MANAGER: frozenset(
        {Perm.VIEW_PATIENTS, Perm.MANAGE_CASELOAD, Perm.VIEW_PCN_FIGURES, Perm.IMPORT_POPULATION}
    ),
    Role.ADMINISTRATOR: frozenset(
        {
            Perm.VIEW_AUDIT,
            Perm.ADMINISTER,
            Perm.VIEW_PCN_FIGURES,
            Perm.IMPORT_POPULATION,
            Perm.MANAGE_IMPORT_PROFILES,
        }
    ),
}


def has_perm(user: Any, perm: Perm) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not isinstance(user, User):
        return False
    return any(perm in ROLE_PERMISSIONS.get(role, ()) for role in user.roles())


def permission_required(
    perm: Perm, *alternatives: Perm
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse with 403 unless the signed-in user's roles grant `perm` (or one of `alternatives`: the
    dashboard's aggregate figures are for those who see patients and for those who see PCN figures).

    Sign-in and two-factor are enforced before any view runs (LoginRequiredMiddleware and
    RequireTwoFactorMiddleware), so this only decides the role question.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(has_perm(request.user, p) for p in (perm, *alternatives)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_permission = perm  # type: ignore[attr-defined]
        wrapped.alternative_permissions = alternatives  # type: ignore[attr-defined]
        return wrapped

    return decorator
