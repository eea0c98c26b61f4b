from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from overview.views import home_view
from pcn import views

auth_patterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("two-factor/", views.two_factor_view, name="two_factor"),
    path("two-factor/setup/", views.two_factor_setup_view, name="two_factor_setup"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

audit_patterns = [
    path("", views.event_list_view, name="event_list"),
    path("export.csv", views.event_export_view, name="event_export"),
]

urlpatterns = [
    path("", home_view, name="home"),  # un-namespaced: LOGIN_REDIRECT_URL, sign-in and error pages use it
    path("accounts/", include(auth_patterns)),
    path("audit/", include((audit_patterns, "audit"))),
    path("", include("overview.urls")),
    path("", include("caseload.urls")),
    path("mdt/", include("mdt.urls")),
    path("care-plans/", include("careplans.urls")),
    path("recall/", include("recall.urls")),
    path("reports/", include("reporting.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "pcn.views.server_error_view"  # a database that cannot be reached answers 503, not 500
