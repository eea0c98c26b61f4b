from django.urls import path

from caseload import views

app_name = "caseload"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/export.csv", views.patient_export, name="patient_export"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("caseload/", views.my_caseload, name="my_caseload"),
    path("caseload/add/", views.episode_add, name="episode_add"),
    path("caseload/<int:pk>/transfer/", views.episode_transfer_view, name="episode_transfer"),
    path("caseload/<int:pk>/close/", views.episode_close_view, name="episode_close"),
]
