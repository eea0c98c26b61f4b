"""URLs of the MDT app (namespace "mdt"). Each engineer's part is a section below."""

from django.urls import path

from mdt import circulation_views, minutes_views, views

app_name = "mdt"

urlpatterns: list = []

# --- Minutes and actions ----------------------------------------------------------------------------
urlpatterns += [
    path("meetings/<int:pk>/minutes/", minutes_views.minutes, name="minutes"),
    path("meetings/<int:pk>/minutes/sign-off/", minutes_views.minutes_sign_off, name="minutes_sign_off"),
    path("meetings/<int:pk>/minutes/addendum/", minutes_views.addendum_add, name="addendum_add"),
    path("items/<int:pk>/discussion/", minutes_views.discussion_save, name="discussion_save"),
    path("items/<int:pk>/actions/add/", minutes_views.action_add, name="action_add"),
    path("actions/mine/", minutes_views.my_actions, name="my_actions"),
    path("actions/<int:pk>/", minutes_views.action_detail, name="action_detail"),
    path("actions/<int:pk>/close/", minutes_views.action_close, name="action_close"),
]

# --- Schedule and agenda ----------------------------------------------------------------------------
urlpatterns += [
    path("", views.series_list, name="series_list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/move/", views.meeting_move_view, name="meeting_move"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel_view, name="meeting_cancel"),
    path("meetings/<int:pk>/agenda/add/", views.agenda_item_add_view, name="agenda_item_add"),
    path("meetings/<int:pk>/agenda/order/", views.agenda_reorder_view, name="agenda_reorder"),
    path("meetings/<int:pk>/agenda/approve/", views.agenda_approve_view, name="agenda_approve"),
    path("items/<int:pk>/move/", views.agenda_item_move_view, name="agenda_item_move"),
    path("items/<int:pk>/update/", views.agenda_item_update_view, name="agenda_item_update"),
    path("items/<int:pk>/remove/", views.agenda_item_remove_view, name="agenda_item_remove"),
]

# --- Agenda packs and circulation -------------------------------------------------------------------
urlpatterns += [
    path(
        "meetings/<int:pk>/documents/<str:kind>.pdf",
        circulation_views.document_download,
        name="document_download",
    ),
    path(
        "meetings/<int:pk>/documents/<str:kind>/make/",
        circulation_views.document_request,
        name="document_request",
    ),
    path("meetings/<int:pk>/circulation/", circulation_views.circulation_list, name="circulation_list"),
    path("meetings/<int:pk>/circulate/", circulation_views.circulate_now, name="circulate_now"),
    path(
        "circulations/<int:pk>/resend/", circulation_views.circulation_resend_view, name="circulation_resend"
    ),
]
