from django.urls import path

from reporting.views import exports, reports

app_name = "reporting"

urlpatterns = [
    path("", reports.report_list_view, name="report_list"),
    # Downloads (before the reports' own "<key>/" pages, which would take "downloads" for a key).
    path("downloads/", exports.export_list_view, name="export_list"),
    path("downloads/<int:pk>/", exports.export_detail_view, name="export_detail"),
    path("downloads/<int:pk>/file/", exports.export_download_view, name="export_download"),
    path("<slug:key>/", reports.report_detail_view, name="report_detail"),
    path("<slug:key>/download/", exports.export_create_view, name="export_create"),
    path("<slug:key>/<slug:measure>/patients/", reports.report_patients_view, name="report_patients"),
]
