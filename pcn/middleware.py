"""Two-factor authentication is required for every signed-in user, before any page.

django-otp marks a session verified once a TOTP code has been checked; django-two-factor-auth does
not force enrolment, hence this middleware (research/reliability_anchors.md §0.4). A signed-in user
whose session is not verified is sent to the two-factor page (which enrols them first if they have
no device) from every view except the few marked `two_factor_exempt` (sign-out, the two-factor
pages themselves) and the public ones (`login_not_required`).
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control


def two_factor_exempt(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    view.two_factor_exempt = True  # type: ignore[attr-defined]
    return view


class RequireTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or user.is_verified():  # type: ignore[union-attr]
            return None
        if getattr(view_func, "two_factor_exempt", False) or not getattr(view_func, "login_required", True):
            return None
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('two_factor')}?{query}")


class NoStoreMiddleware:
    """Every response Django makes carries `Cache-Control: no-store` (and `private`), so that no page,
    CSV, XLSX or PDF with patient data is kept by a browser or a shared proxy cache.

    Static files never reach it: WhiteNoise, above it in MIDDLEWARE, answers those itself and they keep
    their long-lived caching. A view that sets its own Cache-Control keeps it only if it already says
    no-store: nothing here may be cached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response
