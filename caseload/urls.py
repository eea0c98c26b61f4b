from django.urls import include, path

from caseload import care_event_views, contact_views, referral_views, support_views, views

app_name = "caseload"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/export.csv", views.patient_export, name="patient_export"),
    path("caseload/add/", views.episode_add, name="episode_add"),
    path("caseload/<int:pk>/transfer/", views.episode_transfer_view, name="episode_transfer"),
    path("caseload/<int:pk>/close/", views.episode_close_view, name="episode_close"),
    path("imports/", include("caseload.import_urls")),  # the population import: caseload:import_*
    # Contacts, tasks and activation (caseload.contact_views).
    path("patients/<int:pk>/contacts/add/", contact_views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/", contact_views.contact_detail, name="contact_detail"),
    path("patients/<int:pk>/tasks/add/", contact_views.task_add, name="task_add"),
    path("tasks/", contact_views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/done/", contact_views.task_done, name="task_done"),
    path("patients/<int:pk>/pam/add/", contact_views.pam_add, name="pam_add"),
    # Signposting, support given and the coding export (caseload.support_views).
    path("services/", support_views.service_list, name="service_list"),
    path("services/add/", support_views.service_add, name="service_add"),
    path("services/<int:pk>/edit/", support_views.service_edit, name="service_edit"),
    path("patients/<int:pk>/signposting/", support_views.signposting_add, name="signposting_add"),
    path("signposting/<int:pk>/outcome/", support_views.signposting_outcome, name="signposting_outcome"),
    path("patients/<int:pk>/support/", support_views.support_add, name="support_add"),
    path("coding/", support_views.coding_export, name="coding_export"),
    path("coding/export.csv", support_views.coding_export_csv, name="coding_export_csv"),
    # Referrals (caseload.referral_views).
    path("patients/<int:pk>/referrals/add/", referral_views.referral_add, name="referral_add"),
    path("referrals/", referral_views.referral_list, name="referral_list"),
    path("referrals/<int:pk>/", referral_views.referral_detail, name="referral_detail"),
    path("referrals/<int:pk>/accept/", referral_views.referral_accept_view, name="referral_accept"),
    path("referrals/<int:pk>/decline/", referral_views.referral_decline_view, name="referral_decline"),
    path(
        "referrals/<int:pk>/mdt/", referral_views.referral_direct_to_mdt_view, name="referral_direct_to_mdt"
    ),
    # Transfers of care (caseload.care_event_views).
    path("patients/<int:pk>/care-events/add/", care_event_views.care_event_add, name="care_event_add"),
    path("patients/<int:pk>/care-home/", care_event_views.patient_care_home, name="patient_care_home"),
    path("transfers-of-care/", care_event_views.triage_list, name="triage_list"),
    path("transfers-of-care/<int:pk>/", care_event_views.care_event_triage_view, name="care_event_triage"),
    path("transfers-of-care/unmatched/", care_event_views.care_event_unmatched, name="care_event_unmatched"),
    path(
        "transfers-of-care/unmatched/<int:pk>/",
        care_event_views.care_event_resolve_view,
        name="care_event_resolve",
    ),
    path("transfers-of-care/feeds/", care_event_views.care_event_import, name="care_event_import"),
    path(
        "transfers-of-care/feeds/<int:pk>/",
        care_event_views.care_event_import_detail,
        name="care_event_import_detail",
    ),
    path(
        "transfers-of-care/feeds/<int:pk>/import/",
        care_event_views.care_event_import_start,
        name="care_event_import_start",
    ),
]
