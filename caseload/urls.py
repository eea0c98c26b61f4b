from caseload.views import (
    care_events,
    coding,
    contacts,
    episodes,
    imports,
    pam,
    patients,
    people_around,
    referrals,
    services,
    signposting,
    tasks,
)
from pcn.routes import route

app_name = "caseload"

urlpatterns = [
    route("patients/", patients.patient_list_view),
    route("patients/export.csv", patients.patient_export_view),
    route("patients/<int:pk>/care-home/", patients.patient_care_home_view),
    route("caseload/add/", episodes.episode_add_view),
    route("caseload/<int:pk>/transfer/", episodes.episode_transfer_view),
    route("caseload/<int:pk>/close/", episodes.episode_close_view),
    # The population import and its profiles.
    route("imports/", imports.import_batch_list_view),
    route("imports/new/", imports.import_upload_view),
    route("imports/canonical-sample.csv", imports.import_sample_view),
    route("imports/<int:pk>/", imports.import_batch_detail_view),
    route("imports/<int:pk>/start/", imports.import_batch_start_view),
    route("imports/<int:pk>/cancel/", imports.import_batch_cancel_view),
    route("imports/<int:pk>/errors.csv", imports.import_batch_report_view),
    route("imports/profiles/", imports.import_profile_list_view),
    route("imports/profiles/new/", imports.import_profile_create_view),
    route("imports/profiles/<int:pk>/", imports.import_profile_edit_view),
    # Contacts, tasks and activation.
    route("patients/<int:pk>/contacts/add/", contacts.contact_add_view),
    route("contacts/<int:pk>/", contacts.contact_detail_view),
    route("patients/<int:pk>/tasks/add/", tasks.task_add_view),
    route("tasks/", tasks.my_tasks_view),
    route("tasks/<int:pk>/done/", tasks.task_done_view),
    route("patients/<int:pk>/pam/add/", pam.pam_add_view),
    # The people around the person (Caseload III): carers, relatives, friends, professionals.
    route("patients/<int:pk>/people-around/add/", people_around.person_around_add_view),
    route("people-around/<int:pk>/edit/", people_around.person_around_edit_view),
    route("people-around/<int:pk>/remove/", people_around.person_around_remove_view),
    # The services directory, signposting, support given and the coding export.
    route("services/", services.service_list_view),
    route("services/add/", services.service_add_view),
    route("services/<int:pk>/edit/", services.service_edit_view),
    route("patients/<int:pk>/signposting/", signposting.signposting_add_view),
    route("signposting/<int:pk>/outcome/", signposting.signposting_outcome_view),
    route("patients/<int:pk>/support/", signposting.support_add_view),
    route("coding/", coding.coding_export_view),
    route("coding/export.csv", coding.coding_export_csv_view),
    # Referrals.
    route("patients/<int:pk>/referrals/add/", referrals.referral_add_view),
    route("referrals/", referrals.referral_list_view),
    route("referrals/<int:pk>/", referrals.referral_detail_view),
    route("referrals/<int:pk>/accept/", referrals.referral_accept_view),
    route("referrals/<int:pk>/decline/", referrals.referral_decline_view),
    # Transfers of care.
    route("patients/<int:pk>/care-events/add/", care_events.care_event_add_view),
    route("transfers-of-care/", care_events.triage_list_view),
    route("transfers-of-care/<int:pk>/", care_events.care_event_triage_view),
    route("transfers-of-care/unmatched/", care_events.care_event_unmatched_view),
    route("transfers-of-care/unmatched/<int:pk>/", care_events.care_event_resolve_view),
    route("transfers-of-care/feeds/", care_events.care_event_import_view),
    route("transfers-of-care/feeds/<int:pk>/", care_events.care_event_import_detail_view),
    route("transfers-of-care/feeds/<int:pk>/import/", care_events.care_event_import_start_view),
]
