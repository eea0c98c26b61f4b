from django.urls import path

from caseload.views import (
    care_events,
    coding,
    contacts,
    episodes,
    feedback,
    imports,
    pam,
    patients,
    people_around,
    referrals,
    services,
    signposting,
    tasks,
)

app_name = "caseload"

urlpatterns = [
    path("patients/", patients.patient_list_view, name="patient_list"),
    path("patients/export.csv", patients.patient_export_view, name="patient_export"),
    path("patients/<int:pk>/care-home/", patients.patient_care_home_view, name="patient_care_home"),
    path("caseload/add/", episodes.episode_add_view, name="episode_add"),
    path("caseload/<int:pk>/transfer/", episodes.episode_transfer_view, name="episode_transfer"),
    path("caseload/<int:pk>/close/", episodes.episode_close_view, name="episode_close"),
    # The population import and its profiles.
    path("imports/", imports.import_batch_list_view, name="import_batch_list"),
    path("imports/new/", imports.import_upload_view, name="import_upload"),
    path("imports/canonical-sample.csv", imports.import_sample_view, name="import_sample"),
    path("imports/<int:pk>/", imports.import_batch_detail_view, name="import_batch_detail"),
    path("imports/<int:pk>/start/", imports.import_batch_start_view, name="import_batch_start"),
    path("imports/<int:pk>/cancel/", imports.import_batch_cancel_view, name="import_batch_cancel"),
    path("imports/<int:pk>/errors.csv", imports.import_batch_report_view, name="import_batch_report"),
    path("imports/profiles/", imports.import_profile_list_view, name="import_profile_list"),
    path("imports/profiles/new/", imports.import_profile_create_view, name="import_profile_create"),
    path("imports/profiles/<int:pk>/", imports.import_profile_edit_view, name="import_profile_edit"),
    # Contacts, tasks and activation.
    path("patients/<int:pk>/contacts/add/", contacts.contact_add_view, name="contact_add"),
    path("contacts/<int:pk>/", contacts.contact_detail_view, name="contact_detail"),
    path("patients/<int:pk>/tasks/add/", tasks.task_add_view, name="task_add"),
    path("tasks/", tasks.my_tasks_view, name="my_tasks"),
    path("tasks/<int:pk>/done/", tasks.task_done_view, name="task_done"),
    path("patients/<int:pk>/pam/add/", pam.pam_add_view, name="pam_add"),
    # The people around the person (Caseload III): carers, relatives, friends, professionals.
    path(
        "patients/<int:pk>/people-around/add/", people_around.person_around_add_view, name="person_around_add"
    ),
    path("people-around/<int:pk>/edit/", people_around.person_around_edit_view, name="person_around_edit"),
    path(
        "people-around/<int:pk>/remove/", people_around.person_around_remove_view, name="person_around_remove"
    ),
    # Feedback and stories (Caseload III): from the person, the people around them or someone else.
    path("patients/<int:pk>/feedback/add/", feedback.feedback_add_view, name="feedback_add"),
    path("feedback/<int:pk>/edit/", feedback.feedback_edit_view, name="feedback_edit"),
    # The services directory, signposting, support given and the coding export.
    path("services/", services.service_list_view, name="service_list"),
    path("services/add/", services.service_add_view, name="service_add"),
    path("services/<int:pk>/edit/", services.service_edit_view, name="service_edit"),
    path("patients/<int:pk>/signposting/", signposting.signposting_add_view, name="signposting_add"),
    path("signposting/<int:pk>/outcome/", signposting.signposting_outcome_view, name="signposting_outcome"),
    path("patients/<int:pk>/support/", signposting.support_add_view, name="support_add"),
    path("coding/", coding.coding_export_view, name="coding_export"),
    path("coding/export.csv", coding.coding_export_csv_view, name="coding_export_csv"),
    # Referrals.
    path("patients/<int:pk>/referrals/add/", referrals.referral_add_view, name="referral_add"),
    path("referrals/", referrals.referral_list_view, name="referral_list"),
    path("referrals/<int:pk>/", referrals.referral_detail_view, name="referral_detail"),
    path("referrals/<int:pk>/accept/", referrals.referral_accept_view, name="referral_accept"),
    path("referrals/<int:pk>/decline/", referrals.referral_decline_view, name="referral_decline"),
    # Transfers of care.
    path("patients/<int:pk>/care-events/add/", care_events.care_event_add_view, name="care_event_add"),
    path("transfers-of-care/", care_events.triage_list_view, name="triage_list"),
    path("transfers-of-care/<int:pk>/", care_events.care_event_triage_view, name="care_event_triage"),
    path("transfers-of-care/unmatched/", care_events.care_event_unmatched_view, name="care_event_unmatched"),
    path(
        "transfers-of-care/unmatched/<int:pk>/",
        care_events.care_event_resolve_view,
        name="care_event_resolve",
    ),
    path("transfers-of-care/feeds/", care_events.care_event_import_view, name="care_event_import"),
    path(
        "transfers-of-care/feeds/<int:pk>/",
        care_events.care_event_import_detail_view,
        name="care_event_import_detail",
    ),
    path(
        "transfers-of-care/feeds/<int:pk>/import/",
        care_events.care_event_import_start_view,
        name="care_event_import_start",
    ),
]
