"""URLs of the pages that compose several apps (namespace "overview"). The home page is named "home"
in the root URLconf (pcn/urls.py): settings.LOGIN_REDIRECT_URL, sign-in and the error pages use it."""

from django.urls import path

from overview import views

app_name = "overview"

urlpatterns = [
    path("patients/<int:pk>/", views.patient_detail_view, name="patient_detail"),
    path("patients/<int:pk>/outcomes/", views.patient_outcomes_view, name="patient_outcomes"),
    path("caseload/", views.my_caseload_view, name="my_caseload"),
    path("caseload/export.csv", views.my_caseload_export_view, name="my_caseload_export"),
]
