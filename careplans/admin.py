"""The care plans app in the administration site: the decision aids the PCN offers."""

from django.contrib import admin

from careplans.models import DecisionAid


@admin.register(DecisionAid)
class DecisionAidAdmin(admin.ModelAdmin):
    """Administrators keep the list of decision aids (title, https link, the decision it supports,
    source). Untick "offered now" to withdraw one: the offers already recorded keep it."""

    list_display = ["title", "decision", "source", "is_active", "updated_at"]
    list_filter = ["is_active", "source"]
    search_fields = ["title", "decision", "source"]
