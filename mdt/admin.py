from django.contrib import admin

from mdt.models import ExternalMember, MeetingSeries


class ExternalMemberInline(admin.TabularInline):
    model = ExternalMember
    extra = 1


@admin.register(MeetingSeries)
class MeetingSeriesAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "frequency", "weekday", "start_time", "chair", "is_active"]
    list_filter = ["kind", "is_active"]
    filter_horizontal = ["practices", "care_homes", "members"]
    inlines = [ExternalMemberInline]
