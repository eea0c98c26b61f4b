"""Two-factor authentication is required for every signed-in user, before any page; a session ends
after its absolute lifetime however active it is; nothing is cached.

django-otp marks a session verified once a TOTP code has been checked; django-two-factor-auth does
not force enrolment, hence this middleware (research/reliability_anchors.md §0.4). A signed-in user
whose session is not verified is sent to the two-factor page (which enrols them first if they have
no device) from every view except the few marked `two_factor_exempt` (sign-out, the two-factor
pages themselves) and the public ones (`login_not_required`).
"""

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
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


SIGNED_IN_AT = "_pcn_signed_in_at"  # the session key: when the user signed in (seconds since the epoch)


@receiver(user_logged_in)
def _start_the_session_clock(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    request.session[SIGNED_IN_AT] = int(time.time())


class AbsoluteSessionLifetimeMiddleware:
    """A signed-in session ends `SESSION_ABSOLUTE_LIFETIME_HOURS` after sign-in however active it is
    (the idle timeout, `SESSION_COOKIE_AGE`, ends a quiet one sooner): a session taken from a shared
    computer cannot be kept alive for ever. The user is signed out and asked to sign in again, with the
    page they asked for as `next`. A session from before this rule starts its clock at its next request.
    Placed after MessageMiddleware, so the sign-in page can say why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            signed_in_at = request.session.setdefault(SIGNED_IN_AT, int(time.time()))
            lifetime = settings.SESSION_ABSOLUTE_LIFETIME_HOURS
            if time.time() - signed_in_at >= lifetime * 3600:
                logout(request)
                messages.info(
                    request, f"You have been signed in for {lifetime} hours. Sign in again to go on."
                )
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)
