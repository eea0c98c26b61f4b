from django.urls import path

from reporting.views import reports, saved_searches

app_name = "reporting"

urlpatterns = [
    path("", reports.report_list_view, name="report_list"),
    # Saved searches (reporting.views.saved_searches): before the reports' <slug:key>/, which "searches" matches.
    path("searches/", saved_searches.saved_search_list_view, name="saved_search_list"),
    path("searches/new/", saved_searches.saved_search_create_view, name="saved_search_create"),
    path("searches/<int:pk>/", saved_searches.saved_search_detail_view, name="saved_search_detail"),
    path("searches/<int:pk>/run/", saved_searches.saved_search_run_view, name="saved_search_run"),
    path(
        "searches/<int:pk>/download/", saved_searches.saved_search_download_view, name="saved_search_download"
    ),
    path("searches/<int:pk>/edit/", saved_searches.saved_search_edit_view, name="saved_search_edit"),
    path("searches/<int:pk>/delete/", saved_searches.saved_search_delete_view, name="saved_search_delete"),
    path("<slug:key>/", reports.report_detail_view, name="report_detail"),
    path("<slug:key>/<slug:measure>/patients/", reports.report_patients_view, name="report_patients"),
]
