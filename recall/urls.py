from django.urls import path

from recall.views import appointments, entries, screening

app_name = "recall"

urlpatterns: list = [
    # Worklists and invitation batches (recall.views.worklists, recall.views.batches)
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
]
