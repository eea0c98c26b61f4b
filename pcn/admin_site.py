"""The administration site class (its own module: django.contrib.auth.admin touches admin.site on import)."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from pcn.permissions import Perm, has_perm


@login_not_required
def login_view(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """One sign-in page for the whole site, with two-factor: the admin's own form is never shown."""
    return redirect_to_login(request.GET.get("next", reverse("admin:index")))


class PcnAdminSite(admin.AdminSite):
    site_header = "PCN Care Coordination administration"
    site_title = "PCN administration"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and user.is_verified()  # type: ignore[attr-defined]  # django_otp's OTPMiddleware adds it
            and has_perm(user, Perm.ADMINISTER)
        )

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Signed in (and verified, by the middleware) but not an administrator: a plain 403,
            # not the admin's own sign-in form.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        wrapper.admin_site = self  # type: ignore[attr-defined]
        wrapper.__wrapped__ = inner  # type: ignore[attr-defined]  # a decorator: inspect.unwrap finds the view
        return wrapper

    # The admin's login URL (admin:login) is a plain function view, not a method: see login_view.
    login = staticmethod(login_view)
