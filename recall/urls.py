from pcn.routes import route
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
    route("", worklists.worklist_view),
    route("batches/new/", batches.batch_new_view),
    route("batches/", batches.batch_list_view),
    route("batches/<int:pk>/", batches.batch_detail_view),
    route("batches/<int:pk>/messaging.csv", batches.batch_messaging_csv_view),
    route("batches/<int:pk>/coding.csv", batches.batch_coding_csv_view),
    route("batches/<int:pk>/letters.pdf", batches.batch_letters_view),
    route("batches/<int:pk>/letters/retry/", batches.batch_letters_retry_view),
    route("batches/<int:pk>/undo/", batches.batch_undo_view),
    # Appointments, PCA and screening non-responders (recall.views.appointments, .entries, .screening)
    route("patients/<int:pk>/appointments/add/", appointments.appointment_add_view),
    route("appointments/<int:pk>/outcome/", appointments.appointment_outcome_view),
    route("appointments/<int:pk>/reschedule/", appointments.appointment_reschedule_view),
    route("appointments/mine/", appointments.my_appointments_view),
    route("entries/<int:pk>/pca/", entries.entry_pca_view),
    route("entries/<int:pk>/pca/withdraw/", entries.entry_pca_withdraw_view),
    route("entries/<int:pk>/call/", screening.screening_contact_view),
    route("screening/", screening.screening_list_view),
    # The call/recall report, coding discrepancies and the GP record reconciliation (recall.views.report, …)
    route("report/", report.report_view),
    route("report/export.csv", report.report_csv_view),
    route("report/export.xlsx", report.report_xlsx_view),
    route("discrepancies/", discrepancies.discrepancies_view),
    route("discrepancies/export.csv", discrepancies.discrepancies_csv_view),
    route("reconcile/", reconcile.reconcile_view),
]
