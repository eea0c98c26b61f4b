"""URLs of the MDT app (namespace "mdt")."""

from django.urls import path

from mdt.views import actions, agenda, circulation, meetings, minutes, referrals, series

app_name = "mdt"

urlpatterns = [
    # Referrals directed to an MDT go on its next open agenda
    path("referrals/<int:pk>/", referrals.referral_direct_to_mdt_view, name="referral_direct_to_mdt"),
    # Minutes and actions
    path("meetings/<int:pk>/minutes/", minutes.minutes_view, name="minutes"),
    path("meetings/<int:pk>/minutes/sign-off/", minutes.minutes_sign_off_view, name="minutes_sign_off"),
    path("meetings/<int:pk>/minutes/addendum/", minutes.addendum_add_view, name="addendum_add"),
    path("items/<int:pk>/discussion/", minutes.discussion_save_view, name="discussion_save"),
    path("items/<int:pk>/actions/add/", minutes.action_add_view, name="action_add"),
    path("actions/mine/", actions.my_actions_view, name="my_actions"),
    path("actions/<int:pk>/", actions.action_detail_view, name="action_detail"),
    path("actions/<int:pk>/close/", actions.action_close_view, name="action_close"),
    # Schedule and agenda
    path("", series.series_list_view, name="series_list"),
    path("meetings/<int:pk>/", meetings.meeting_detail_view, name="meeting_detail"),
    path("meetings/<int:pk>/move/", meetings.meeting_move_view, name="meeting_move"),
    path("meetings/<int:pk>/cancel/", meetings.meeting_cancel_view, name="meeting_cancel"),
    path("meetings/<int:pk>/agenda/add/", agenda.agenda_item_add_view, name="agenda_item_add"),
    path("meetings/<int:pk>/agenda/order/", agenda.agenda_reorder_view, name="agenda_reorder"),
    path("meetings/<int:pk>/agenda/approve/", agenda.agenda_approve_view, name="agenda_approve"),
    path("items/<int:pk>/move/", agenda.agenda_item_move_view, name="agenda_item_move"),
    path("items/<int:pk>/update/", agenda.agenda_item_update_view, name="agenda_item_update"),
    path("items/<int:pk>/remove/", agenda.agenda_item_remove_view, name="agenda_item_remove"),
    # Agenda packs and circulation
    path(
        "meetings/<int:pk>/documents/<str:kind>.pdf",
        circulation.document_download_view,
        name="document_download",
    ),
    path(
        "meetings/<int:pk>/documents/<str:kind>/make/",
        circulation.document_request_view,
        name="document_request",
    ),
    path("meetings/<int:pk>/circulation/", circulation.circulation_list_view, name="circulation_list"),
    path("meetings/<int:pk>/circulate/", circulation.circulate_now_view, name="circulate_now"),
    path("circulations/<int:pk>/resend/", circulation.circulation_resend_view, name="circulation_resend"),
]
