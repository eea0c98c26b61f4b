"""The administration site: practices, users and their roles, PCN settings. Administrators only, after 2FA."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from pcn.models import AuditEvent, Membership, PcnSettings, Practice, TaskAttempt, User
from pcn.services import user_deactivate


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records to look at, never to add, change or delete in the admin site."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["practice"]


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "ods_code", "safeguarding_lead", "is_active"]
    list_select_related = ["safeguarding_lead"]
    search_fields = ["name", "ods_code"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        """The safeguarding lead is chosen from the active people with a role at the practice (none
        before the practice is saved and its people are given roles)."""
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("safeguarding_lead")
        if field is not None:
            people = (
                User.objects.filter(is_active=True, memberships__practice=obj) if obj else User.objects.none()
            )
            field.queryset = people.distinct().order_by("full_name")  # type: ignore[attr-defined]
        return form


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["full_name"]
    list_display = ["full_name", "email", "job_title", "is_active", "last_login"]
    list_filter = ["is_active", "memberships__role", "memberships__practice"]
    search_fields = ["full_name", "email"]
    inlines = [MembershipInline]
    actions = ["deactivate_users"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "job_title")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        was_active = change and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            ended = user_deactivate(user=obj, by=request.user)  # type: ignore[arg-type]
            messages.info(request, f"{obj} is deactivated; {ended} session(s) ended.")

    @admin.action(description="Deactivate the selected users and end their sessions")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_deactivate(user=user, by=request.user)  # type: ignore[arg-type]
        messages.success(request, f"{queryset.count()} user(s) deactivated and signed out.")


@admin.register(PcnSettings)
class PcnSettingsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PcnSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: audit rows are append-only (and on PostgreSQL the database enforces it)."""

    list_display = ["at", "user", "action", "ip_address", "path"]
    list_filter = ["action"]
    date_hierarchy = "at"


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    """Background tasks that failed, were given up after repeated deliveries, or whose worker died."""

    list_display = ["name", "state", "deliveries", "error", "first_at", "updated_at"]
    list_filter = ["state", "name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # an administrator clears a row once its cause is dealt with
