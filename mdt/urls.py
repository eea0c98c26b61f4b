"""URLs of the MDT app (namespace "mdt")."""

from mdt.views import actions, agenda, circulation, meetings, minutes, referrals, series
from pcn.routes import route

app_name = "mdt"

urlpatterns = [
    # Referrals directed to an MDT go on its next open agenda
    route("referrals/<int:pk>/", referrals.referral_direct_to_mdt_view),
    # Minutes and actions
    route("meetings/<int:pk>/minutes/", minutes.minutes_view),
    route("meetings/<int:pk>/minutes/sign-off/", minutes.minutes_sign_off_view),
    route("meetings/<int:pk>/minutes/addendum/", minutes.addendum_add_view),
    route("items/<int:pk>/discussion/", minutes.discussion_save_view),
    route("items/<int:pk>/actions/add/", minutes.action_add_view),
    route("actions/mine/", actions.my_actions_view),
    route("actions/<int:pk>/", actions.action_detail_view),
    route("actions/<int:pk>/close/", actions.action_close_view),
    # Schedule and agenda
    route("", series.series_list_view),
    route("meetings/<int:pk>/", meetings.meeting_detail_view),
    route("meetings/<int:pk>/move/", meetings.meeting_move_view),
    route("meetings/<int:pk>/cancel/", meetings.meeting_cancel_view),
    route("meetings/<int:pk>/agenda/add/", agenda.agenda_item_add_view),
    route("meetings/<int:pk>/agenda/order/", agenda.agenda_reorder_view),
    route("meetings/<int:pk>/agenda/approve/", agenda.agenda_approve_view),
    route("items/<int:pk>/move/", agenda.agenda_item_move_view),
    route("items/<int:pk>/update/", agenda.agenda_item_update_view),
    route("items/<int:pk>/remove/", agenda.agenda_item_remove_view),
    # Agenda packs and circulation
    route("meetings/<int:pk>/documents/<str:kind>.pdf", circulation.document_download_view),
    route("meetings/<int:pk>/documents/<str:kind>/make/", circulation.document_request_view),
    route("meetings/<int:pk>/circulation/", circulation.circulation_list_view),
    route("meetings/<int:pk>/circulate/", circulation.circulate_now_view),
    route("circulations/<int:pk>/resend/", circulation.circulation_resend_view),
]
