from django.urls import path

from recall.views import discrepancies, reconcile, report

app_name = "recall"

urlpatterns: list = [
    # Worklists and invitation batches (recall.views.worklists, recall.views.batches)
    # Appointments, PCA and screening non-responders (recall.views.appointments, .entries, .screening)
    # The call/recall report, coding discrepancies and the GP record reconciliation (recall.views.report, …)
    path("report/", report.report_view, name="report"),
    path("report/export.csv", report.report_csv_view, name="report_csv"),
    path("report/export.xlsx", report.report_xlsx_view, name="report_xlsx"),
    path("discrepancies/", discrepancies.discrepancies_view, name="discrepancies"),
    path("discrepancies/export.csv", discrepancies.discrepancies_csv_view, name="discrepancies_csv"),
    path("reconcile/", reconcile.reconcile_view, name="reconcile"),
]
