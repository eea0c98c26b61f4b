from django.urls import path

from recall.views import (
    appointments,
    batches,
    discrepancies,
    entries,
    reconcile,
    report,
    screening,
    worklists,
)

app_name = "recall"

urlpatterns: list = [
    # Worklists and invitation batches (recall.views.worklists, recall.views.batches)
    path("", worklists.worklist_view, name="worklist"),
    path("batches/new/", batches.batch_new_view, name="batch_new"),
    path("batches/", batches.batch_list_view, name="batch_list"),
    path("batches/<int:pk>/", batches.batch_detail_view, name="batch_detail"),
    path("batches/<int:pk>/messaging.csv", batches.batch_messaging_csv_view, name="batch_messaging_csv"),
    path("batches/<int:pk>/coding.csv", batches.batch_coding_csv_view, name="batch_coding_csv"),
    path("batches/<int:pk>/letters.pdf", batches.batch_letters_view, name="batch_letters"),
    path("batches/<int:pk>/letters/retry/", batches.batch_letters_retry_view, name="batch_letters_retry"),
    path("batches/<int:pk>/undo/", batches.batch_undo_view, name="batch_undo"),
    # Appointments, PCA and screening non-responders (recall.views.appointments, .entries, .screening)
    path("patients/<int:pk>/appointments/add/", appointments.appointment_add_view, name="appointment_add"),
    path("appointments/<int:pk>/outcome/", appointments.appointment_outcome_view, name="appointment_outcome"),
    path(
        "appointments/<int:pk>/reschedule/",
        appointments.appointment_reschedule_view,
        name="appointment_reschedule",
    ),
    path("appointments/mine/", appointments.my_appointments_view, name="my_appointments"),
    path("entries/<int:pk>/pca/", entries.entry_pca_view, name="entry_pca"),
    path("entries/<int:pk>/pca/withdraw/", entries.entry_pca_withdraw_view, name="entry_pca_withdraw"),
    path("entries/<int:pk>/call/", screening.screening_contact_view, name="screening_contact"),
    path("screening/", screening.screening_list_view, name="screening_list"),
    # The call/recall report, coding discrepancies and the GP record reconciliation (recall.views.report, …)
    path("report/", report.report_view, name="report"),
    path("report/export.csv", report.report_csv_view, name="report_csv"),
    path("report/export.xlsx", report.report_xlsx_view, name="report_xlsx"),
    path("discrepancies/", discrepancies.discrepancies_view, name="discrepancies"),
    path("discrepancies/export.csv", discrepancies.discrepancies_csv_view, name="discrepancies_csv"),
    path("reconcile/", reconcile.reconcile_view, name="reconcile"),
]
