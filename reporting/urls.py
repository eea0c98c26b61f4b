from django.urls import path

from reporting.views import bi_feed, data_quality, reports, tokens

app_name = "reporting"

urlpatterns = [
    path("", reports.report_list_view, name="report_list"),
    # Before "<slug:key>/": these are not reports.
    path("data-quality/", data_quality.data_quality_view, name="data_quality"),
    path("data-quality/<slug:check>/", data_quality.data_quality_patients_view, name="data_quality_patients"),
    path("data-quality/<slug:check>.csv", data_quality.data_quality_csv_view, name="data_quality_csv"),
    path("feed/<slug:key>.csv", bi_feed.bi_feed_view, name="bi_feed"),
    path("tokens/", tokens.token_list_view, name="token_list"),
    path("tokens/new/", tokens.token_create_view, name="token_create"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("<slug:key>/", reports.report_detail_view, name="report_detail"),
    path("<slug:key>/<slug:measure>/patients/", reports.report_patients_view, name="report_patients"),
]
