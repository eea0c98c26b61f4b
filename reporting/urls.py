from django.urls import path

from reporting.views import bi_feed, dashboard, data_quality, exports, reports, saved_searches, tokens

app_name = "reporting"

urlpatterns = [
    path("", reports.report_list_view, name="report_list"),
    # Before the reports' own pages: "dashboard" would otherwise be taken for a report's key.
    path("dashboard/", dashboard.dashboard_view, name="dashboard"),
    # Downloads (before the reports' own "<key>/" pages, which would take "downloads" for a key).
    path("downloads/", exports.export_list_view, name="export_list"),
    path("downloads/<int:pk>/", exports.export_detail_view, name="export_detail"),
    path("downloads/<int:pk>/file/", exports.export_download_view, name="export_download"),
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
    # Before "<slug:key>/": these are not reports.
    path("data-quality/", data_quality.data_quality_view, name="data_quality"),
    path("data-quality/<slug:check>/", data_quality.data_quality_patients_view, name="data_quality_patients"),
    path("data-quality/<slug:check>.csv", data_quality.data_quality_csv_view, name="data_quality_csv"),
    path("feed/<slug:key>.csv", bi_feed.bi_feed_view, name="bi_feed"),
    path("tokens/", tokens.token_list_view, name="token_list"),
    path("tokens/new/", tokens.token_create_view, name="token_create"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("<slug:key>/", reports.report_detail_view, name="report_detail"),
    path("<slug:key>/download/", exports.export_create_view, name="export_create"),
    path("<slug:key>/<slug:measure>/patients/", reports.report_patients_view, name="report_patients"),
]
