from django.urls import path

from reporting.views import dashboard, reports

app_name = "reporting"

urlpatterns = [
    path("", reports.report_list_view, name="report_list"),
    # Before the reports' own pages: "dashboard" would otherwise be taken for a report's key.
    path("dashboard/", dashboard.dashboard_view, name="dashboard"),
    path("<slug:key>/", reports.report_detail_view, name="report_detail"),
    path("<slug:key>/<slug:measure>/patients/", reports.report_patients_view, name="report_patients"),
]
