"""The caseload app in the administration site."""

from django.contrib import admin

from caseload.forms.imports import ImportProfileForm
from caseload.models import CareHome, ImportBatch, ImportProfile, ReferralCriterion, ReferralType
from pcn.admin import ReadOnlyAdmin


@admin.register(ImportProfile)
class ImportProfileAdmin(admin.ModelAdmin):
    """The same form as the site's own profile pages (caseload:import_profile_*), with its checks."""

    form = ImportProfileForm
    list_display = ["name", "slug", "encoding", "one_row_per_patient", "updated_at"]
    search_fields = ["name", "slug"]


@admin.register(CareHome)
class CareHomeAdmin(admin.ModelAdmin):
    """Care homes aligned to the PCN's practices (imports match residents to them by name)."""

    list_display = ["name", "ods_code", "postcode", "practice"]
    list_filter = ["practice"]
    search_fields = ["name", "ods_code", "postcode"]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    """Read-only: a batch is the record of what an import did."""

    list_display = ["created_at", "source", "filename", "status", "created_by", "dry_run"]
    list_filter = ["status", "source"]
    date_hierarchy = "created_at"
    exclude = ["report"]


# --- Referral types and their criteria (Caseload II: referrals) ----------------------------------------


class ReferralCriterionInline(admin.TabularInline):
    model = ReferralCriterion
    extra = 1
    fields = ["position", "text", "is_required"]


@admin.register(ReferralType)
class ReferralTypeAdmin(admin.ModelAdmin):
    """Administrators define the referral types and their criteria checklists. A referral keeps a
    copy of the checklist as answered, so editing criteria never rewrites past referrals."""

    list_display = ["name", "mdt_kind", "is_active"]
    list_filter = ["is_active", "mdt_kind"]
    search_fields = ["name"]
    inlines = [ReferralCriterionInline]
