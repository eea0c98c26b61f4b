from careplans.views import decision_aids, ehch, plans, reviews
from pcn.routes import route

app_name = "careplans"

urlpatterns = [
    # Plans and versions.
    route("patients/<int:pk>/", plans.plan_view),
    route("versions/<int:pk>/edit/", plans.edit_view),
    route("versions/<int:pk>/agree/", plans.agree_view),
    route("versions/<int:pk>/care-plan.pdf", plans.pdf_view),
    route("versions/<int:pk>/care-plan-full.pdf", plans.staff_pdf_view),
    route("<int:pk>/compare/", plans.compare_view),
    # Reviews and timeliness.
    route("reviews-due/", reviews.reviews_due_view),
    route("versions/<int:pk>/review/", reviews.review_view),
    # Care home residents' PCSPs (EHCH).
    route("care-homes/", ehch.ehch_view),
    route("care-homes/export.csv", ehch.ehch_export_view),
    # Shared decision making: decision aids offered (Caseload III).
    route("patients/<int:pk>/decision-aids/offer/", decision_aids.decision_aid_offer_add_view),
    route("decision-aid-offers/<int:pk>/", decision_aids.decision_aid_offer_edit_view),
]
