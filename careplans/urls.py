from django.urls import path

from careplans.views import ehch, plans, reviews

app_name = "careplans"

urlpatterns = [
    # Plans and versions.
    path("patients/<int:pk>/", plans.plan, name="plan"),
    path("versions/<int:pk>/edit/", plans.edit, name="edit"),
    path("versions/<int:pk>/agree/", plans.agree, name="agree"),
    path("versions/<int:pk>/care-plan.pdf", plans.pdf, name="pdf"),
    path("versions/<int:pk>/care-plan-full.pdf", plans.staff_pdf, name="staff_pdf"),
    path("<int:pk>/compare/", plans.compare, name="compare"),
    # Reviews and timeliness.
    path("reviews-due/", reviews.reviews_due, name="reviews_due"),
    path("versions/<int:pk>/review/", reviews.review, name="review"),
    # Care home residents' PCSPs (EHCH).
    path("care-homes/", ehch.ehch, name="ehch"),
    path("care-homes/export.csv", ehch.ehch_export, name="ehch_export"),
]
