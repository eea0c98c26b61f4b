from django.urls import path

from caseload import views

app_name = "caseload"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
]
