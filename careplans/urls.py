from django.urls import path

app_name = "careplans"

urlpatterns: list = []

# Plans and versions (careplans.views).
from careplans import views  # noqa: E402

urlpatterns += [
    path("patients/<int:pk>/", views.plan, name="plan"),
    path("versions/<int:pk>/edit/", views.edit, name="edit"),
    path("versions/<int:pk>/agree/", views.agree, name="agree"),
    path("versions/<int:pk>/care-plan.pdf", views.pdf, name="pdf"),
    path("versions/<int:pk>/care-plan-full.pdf", views.staff_pdf, name="staff_pdf"),
    path("<int:pk>/compare/", views.compare, name="compare"),
]

# Reviews and timeliness (careplans.review_views).
from careplans import review_views  # noqa: E402

urlpatterns += [
    path("reviews-due/", review_views.reviews_due, name="reviews_due"),
    path("versions/<int:pk>/review/", review_views.review, name="review"),
    path("care-homes/", review_views.ehch, name="ehch"),
    path("care-homes/export.csv", review_views.ehch_export, name="ehch_export"),
]
