from django.urls import path

from careplans.views import decision_aids, ehch, plans, reviews

app_name = "careplans"

urlpatterns = [
    # Plans and versions.
    path("patients/<int:pk>/", plans.plan_view, name="plan"),
    path("versions/<int:pk>/edit/", plans.edit_view, name="edit"),
    path("versions/<int:pk>/agree/", plans.agree_view, name="agree"),
    path("versions/<int:pk>/care-plan.pdf", plans.pdf_view, name="pdf"),
    path("versions/<int:pk>/care-plan-full.pdf", plans.staff_pdf_view, name="staff_pdf"),
    path("<int:pk>/compare/", plans.compare_view, name="compare"),
    # Reviews and timeliness.
    path("reviews-due/", reviews.reviews_due_view, name="reviews_due"),
    path("versions/<int:pk>/review/", reviews.review_view, name="review"),
    # Care home residents' PCSPs (EHCH).
    path("care-homes/", ehch.ehch_view, name="ehch"),
    path("care-homes/export.csv", ehch.ehch_export_view, name="ehch_export"),
    # Shared decision making: decision aids offered (Caseload III).
    path(
        "patients/<int:pk>/decision-aids/offer/",
        decision_aids.decision_aid_offer_add_view,
        name="decision_aid_offer_add",
    ),
    path(
        "decision-aid-offers/<int:pk>/",
        decision_aids.decision_aid_offer_edit_view,
        name="decision_aid_offer_edit",
    ),
]
