"""The population import's URLs, included from caseload/urls.py under imports/ in the "caseload"
namespace (no app_name here: the names are caseload:import_*)."""

from django.urls import path

from caseload import import_views

urlpatterns = [
    path("", import_views.import_batch_list, name="import_batch_list"),
    path("new/", import_views.import_upload, name="import_upload"),
    path("canonical-sample.csv", import_views.import_sample, name="import_sample"),
    path("<int:pk>/", import_views.import_batch_detail, name="import_batch_detail"),
    path("<int:pk>/start/", import_views.import_batch_start, name="import_batch_start"),
    path("<int:pk>/cancel/", import_views.import_batch_cancel, name="import_batch_cancel"),
    path("<int:pk>/errors.csv", import_views.import_batch_report, name="import_batch_report"),
    path("profiles/", import_views.import_profile_list, name="import_profile_list"),
    path("profiles/new/", import_views.import_profile_create, name="import_profile_create"),
    path("profiles/<int:pk>/", import_views.import_profile_edit, name="import_profile_edit"),
]
