"""URLs of the pages that compose several apps (namespace "overview"). The home page is named "home"
in the root URLconf (pcn/urls.py): settings.LOGIN_REDIRECT_URL, sign-in and the error pages use it."""

from overview import views
from pcn.routes import route

app_name = "overview"

urlpatterns = [
    route("patients/<int:pk>/", views.patient_detail_view),
    route("caseload/", views.my_caseload_view),
    route("caseload/export.csv", views.my_caseload_export_view),
]
