from pcn.routes import route
from reporting.views import bi_feed, dashboard, data_quality, exports, reports, saved_searches, tokens

app_name = "reporting"

urlpatterns = [
    route("", reports.report_list_view),
    # Before the reports' own pages: "dashboard" would otherwise be taken for a report's key.
    route("dashboard/", dashboard.dashboard_view),
    # Downloads (before the reports' own "<key>/" pages, which would take "downloads" for a key).
    route("downloads/", exports.export_list_view),
    route("downloads/<int:pk>/", exports.export_detail_view),
    route("downloads/<int:pk>/file/", exports.export_download_view),
    # Saved searches (reporting.views.saved_searches): before the reports' <slug:key>/, which "searches" matches.
    route("searches/", saved_searches.saved_search_list_view),
    route("searches/new/", saved_searches.saved_search_create_view),
    route("searches/<int:pk>/", saved_searches.saved_search_detail_view),
    route("searches/<int:pk>/run/", saved_searches.saved_search_run_view),
    route("searches/<int:pk>/download/", saved_searches.saved_search_download_view),
    route("searches/<int:pk>/edit/", saved_searches.saved_search_edit_view),
    route("searches/<int:pk>/delete/", saved_searches.saved_search_delete_view),
    # Before "<slug:key>/": these are not reports.
    route("data-quality/", data_quality.data_quality_view),
    route("data-quality/<slug:check>/", data_quality.data_quality_patients_view),
    route("data-quality/<slug:check>.csv", data_quality.data_quality_csv_view),
    route("feed/<slug:key>.csv", bi_feed.bi_feed_view),
    route("tokens/", tokens.token_list_view),
    route("tokens/new/", tokens.token_create_view),
    route("tokens/<int:pk>/revoke/", tokens.token_revoke_view),
    route("<slug:key>/", reports.report_detail_view),
    route("<slug:key>/download/", exports.export_create_view),
    route("<slug:key>/<slug:measure>/patients/", reports.report_patients_view),
]
