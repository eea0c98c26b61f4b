from django.urls import path  # noqa: F401 (each part of recall adds its pages below)

app_name = "recall"

urlpatterns: list = [
    # Worklists and invitation batches (recall.views.worklists, recall.views.batches)
    # Appointments, PCA and screening non-responders (recall.views.appointments, .entries, .screening)
    # The call/recall report, coding discrepancies and the GP record reconciliation (recall.views.report, …)
]
