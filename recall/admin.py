"""Call and recall in the administration site: the registers (data, not code). Entries, invitations and
appointments are patient records: they are worked on the site's own pages, which scope and audit them."""

from django.contrib import admin

from recall.models import Register


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key",
        "kind",
        "invitations_expected",
        "min_days_between_invitations",
        "due_rule",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key"]
    fieldsets = [
        (None, {"fields": ["name", "key", "kind", "review_name", "is_active", "display_order"]}),
        ("Who is on it", {"fields": ["ltc_flag", "sex", "min_age", "max_age"]}),
        (
            "Invitations",
            {
                "fields": [
                    "invitations_expected",
                    "min_days_between_invitations",
                    "due_rule",
                    "due_month",
                    "interval_months",
                ]
            },
        ),
        ("Coding", {"fields": ["invitation_term", "review_snomed_id", "review_term"]}),
    ]
