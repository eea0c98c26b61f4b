"""The filters of the lists: the cohort ("Find patients"), My caseload, the referral inbox and the
triage of transfers of care. Every filter lives in the query string."""

from datetime import date
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Upper
from django.utils import timezone

from caseload.models import (
    CareEvent,
    CaseloadEpisode,
    EfiCategory,
    ImportBatch,
    LongTermCondition,
    Patient,
    Referral,
    ReferralType,
)
from pcn.models import Practice, Role, User

AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-17": (0, 17),
    "18-64": (18, 64),
    "65-74": (65, 74),
    "75-84": (75, 84),
    "85+": (85, None),
}

# Risk bands on the 0-100 risk score. Tools differ; these are the product's own bands (a local
# convention, shown in the filter's hint), not a national standard.
RISK_BANDS: dict[str, tuple[Decimal, Decimal | None]] = {
    "low": (Decimal("0"), Decimal("40")),
    "moderate": (Decimal("40"), Decimal("60")),
    "high": (Decimal("60"), Decimal("80")),
    "very_high": (Decimal("80"), None),
}
RISK_BAND_LABELS = {"low": "Low (under 40)", "moderate": "Moderate (40 to 59.9)", "high": "High (60 to 79.9)",
                    "very_high": "Very high (80 and over)"}  # fmt: skip

YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


class FilterForm(forms.Form):
    hide_optional = True  # every filter is optional: the NHS.UK pack need not say so on each one


class FilterMeta:
    """What every FilterSet's Meta shares: only the filters it declares (none made from the model's
    fields), on the NHS.UK filter form. A FilterSet's `class Meta(FilterMeta)` names its model."""

    fields: list[str] = []
    form = FilterForm


SORTS = {
    "name": ("family_name", "given_name", "id"),
    "-name": ("-family_name", "-given_name", "-id"),
    "nhs_number": ("nhs_number",),
    "age": ("-date_of_birth", "-id"),
    "-age": ("date_of_birth", "id"),
    "risk": (F("risk_score").desc(nulls_last=True), "id"),
    "efi": (F("efi_score").desc(nulls_last=True), "id"),
    "ae": (F("ae_attendances_12m").desc(nulls_last=True), "id"),
}
SORT_LABELS = {
    "name": "Name (A to Z)", "-name": "Name (Z to A)", "nhs_number": "NHS number", "age": "Age (youngest first)",
    "-age": "Age (oldest first)", "risk": "Risk score (highest first)", "efi": "eFI (highest first)",
    "ae": "A&E attendances (most first)",
}  # fmt: skip


def birth_date_years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def yes_no(queryset: QuerySet, condition: Q, value: str) -> QuerySet:
    if value == "yes":
        return queryset.filter(condition)
    if value == "no":
        return queryset.exclude(condition)
    return queryset


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Name or NHS number", method="filter_search", widget=forms.TextInput(attrs={"type": "search"})
    )
    practice = django_filters.ModelMultipleChoiceFilter(
        queryset=Practice.objects.none(), widget=forms.CheckboxSelectMultiple, label="Practice"
    )
    age_band = django_filters.MultipleChoiceFilter(
        choices=[(key, key.replace("-", " to ")) for key in AGE_BANDS],
        method="filter_age_band",
        widget=forms.CheckboxSelectMultiple,
        label="Age",
    )
    risk_band = django_filters.MultipleChoiceFilter(
        choices=list(RISK_BAND_LABELS.items()),
        method="filter_risk_band",
        widget=forms.CheckboxSelectMultiple,
        label="Risk band",
    )
    risk_min = django_filters.NumberFilter(
        field_name="risk_score", lookup_expr="gte", label="Risk score from"
    )
    risk_max = django_filters.NumberFilter(field_name="risk_score", lookup_expr="lte", label="Risk score to")
    efi = django_filters.MultipleChoiceFilter(
        field_name="efi_category",
        choices=EfiCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Frailty (eFI)",
    )
    conditions = django_filters.MultipleChoiceFilter(
        choices=[(flag.name.lower(), flag.label) for flag in LongTermCondition],
        method="filter_conditions",
        widget=forms.CheckboxSelectMultiple,
        label="Long-term conditions (has all of)",
    )
    frequent_attender = django_filters.ChoiceFilter(
        choices=YES_NO[1:], empty_label="Any", method="filter_frequent_attender", label="Frequent attender"
    )
    care_home = django_filters.ChoiceFilter(
        choices=YES_NO[1:], empty_label="Any", method="filter_care_home", label="Care home resident"
    )
    on_caseload = django_filters.ChoiceFilter(
        choices=YES_NO[1:], empty_label="Any", method="filter_on_caseload", label="On a caseload"
    )
    coordinator = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), method="filter_coordinator", label="Care coordinator", empty_label="Any"
    )
    new_since_import = django_filters.BooleanFilter(
        method="filter_new_since_import", widget=forms.CheckboxInput, label="New since the last import"
    )
    risk_rising = django_filters.BooleanFilter(
        method="filter_risk_rising", widget=forms.CheckboxInput, label="Risk rising since the last import"
    )
    include_inactive = django_filters.BooleanFilter(
        method="filter_include_inactive", widget=forms.CheckboxInput, label="Include people who died or left"
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORT_LABELS.items()), method="filter_sort", empty_label=None, label="Sort by"
    )

    class Meta(FilterMeta):
        model = Patient

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        self.today = timezone.localdate()
        super().__init__(data, *args, **kwargs)
        practice_ids = user.practice_ids()
        self.filters["practice"].queryset = Practice.objects.filter(pk__in=practice_ids)
        self.filters["coordinator"].queryset = (
            User.objects.filter(memberships__practice_id__in=practice_ids, memberships__role=Role.COORDINATOR)
            .distinct()
            .order_by("full_name")
        )
        self.filters["risk_band"].extra["help_text"] = "The product's own bands on the 0 to 100 risk score."
        self.filters["frequent_attender"].extra["help_text"] = (
            f"{settings.FREQUENT_ATTENDER_THRESHOLD} or more A&E attendances in 12 months"
        )

    @property
    def qs(self) -> QuerySet[Patient]:
        queryset = super().qs
        data = self.form.cleaned_data if self.form.is_valid() else {}
        if not data.get("include_inactive"):
            queryset = queryset.filter(is_deceased=False, has_left=False)
        if data.get("q") and data.get("sort", "name") in ("", "name"):
            # A name search matches few rows: sort those, rather than walk the name index until
            # enough of them turn up (a common surname sits deep in it; the prefix indexes of
            # migration 0007 find the matches).
            queryset = queryset.order_by(Upper("family_name"), Upper("given_name"), "id")
        elif not data.get("sort"):
            queryset = queryset.order_by(*SORTS["name"])
        return queryset

    # --- methods ------------------------------------------------------------------------------
    def filter_search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.search(value[:100])  # type: ignore[attr-defined]

    def filter_age_band(self, queryset: QuerySet[Patient], name: str, value: list[str]) -> QuerySet[Patient]:
        condition = Q()
        for band in value:
            youngest, oldest = AGE_BANDS[band]
            # Aged at least `youngest`: born on or before today minus `youngest` years.
            band_q = Q(date_of_birth__lte=birth_date_years_ago(self.today, youngest))
            if oldest is not None:
                band_q &= Q(date_of_birth__gt=birth_date_years_ago(self.today, oldest + 1))
            condition |= band_q
        return queryset.filter(condition)

    def filter_risk_band(self, queryset: QuerySet[Patient], name: str, value: list[str]) -> QuerySet[Patient]:
        condition = Q()
        for band in value:
            low, high = RISK_BANDS[band]
            band_q = Q(risk_score__gte=low)
            if high is not None:
                band_q &= Q(risk_score__lt=high)
            condition |= band_q
        return queryset.filter(condition)

    def filter_conditions(
        self, queryset: QuerySet[Patient], name: str, value: list[str]
    ) -> QuerySet[Patient]:
        mask = 0
        for key in value:
            mask |= LongTermCondition[key.upper()]
        if not mask:
            return queryset
        return queryset.annotate(_ltc=F("ltc_flags").bitand(mask)).filter(_ltc=mask)

    def filter_frequent_attender(
        self, queryset: QuerySet[Patient], name: str, value: str
    ) -> QuerySet[Patient]:
        return yes_no(queryset, Q(ae_attendances_12m__gte=settings.FREQUENT_ATTENDER_THRESHOLD), value)

    def filter_care_home(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return yes_no(queryset, Q(care_home__isnull=False), value)

    def filter_on_caseload(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        open_episodes = CaseloadEpisode.objects.open().values("patient_id")
        return yes_no(queryset, Q(pk__in=open_episodes), value)

    def filter_coordinator(
        self, queryset: QuerySet[Patient], name: str, value: User | None
    ) -> QuerySet[Patient]:
        if value is None:
            return queryset
        return queryset.filter(
            pk__in=CaseloadEpisode.objects.open().filter(coordinator=value).values("patient_id")
        )

    def filter_new_since_import(
        self, queryset: QuerySet[Patient], name: str, value: bool | None
    ) -> QuerySet[Patient]:
        if not value:
            return queryset
        latest = (
            ImportBatch.objects.filter(status=ImportBatch.Status.DONE).order_by("-created_at", "-id").first()
        )
        return queryset.filter(first_batch=latest) if latest else queryset.none()

    def filter_risk_rising(
        self, queryset: QuerySet[Patient], name: str, value: bool | None
    ) -> QuerySet[Patient]:
        if not value:
            return queryset
        return queryset.filter(previous_risk_score__isnull=False, risk_score__gt=F("previous_risk_score"))

    def filter_include_inactive(
        self, queryset: QuerySet[Patient], name: str, value: bool | None
    ) -> QuerySet[Patient]:
        return queryset  # applied in `qs`, which also knows when it is off

    def filter_sort(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.order_by(*SORTS.get(value, SORTS["name"]))


def patient_cohort(data: Any, *, user: User) -> PatientFilter:
    """Find patients' filter over the user's practices' patients, with each one's care coordinator:
    the list page, its CSV and a saved search's run all count and show the same rows."""
    open_coordinator = CaseloadEpisode.objects.open().filter(patient=OuterRef("pk"))
    base = (
        Patient.objects.visible_to(user)
        .select_related("practice")
        .annotate(coordinator_name=Subquery(open_coordinator.values("coordinator__full_name")[:1]))
    )
    return PatientFilter(data or None, queryset=base, user=user)


def patient_practice_filter() -> django_filters.ModelChoiceFilter:
    """The "Practice" filter of a list of patients' records (`PatientPracticeChoices` fills it in)."""
    return django_filters.ModelChoiceFilter(
        field_name="patient__practice", queryset=Practice.objects.none(), label="Practice", empty_label="All"
    )


class PatientPracticeChoices:
    """Mixin for a FilterSet with `practice = patient_practice_filter()`: takes the signed-in user and
    offers only their practices. (A mixin, not a base FilterSet: a base's filters would come first.)"""

    filters: dict[str, Any]

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)  # type: ignore[call-arg]
        self.filters["practice"].queryset = Practice.objects.filter(pk__in=user.practice_ids())


class CaseloadFilter(PatientPracticeChoices, django_filters.FilterSet):
    """My caseload; clinical leads and managers choose whose (everyone's by default)."""

    coordinator = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), label="Care coordinator", empty_label="Everyone"
    )
    practice = patient_practice_filter()
    q = django_filters.CharFilter(label="Name or NHS number", method="filter_search")

    class Meta(FilterMeta):
        model = CaseloadEpisode

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(data, *args, user=user, **kwargs)
        self.filters["coordinator"].queryset = (
            User.objects.filter(
                memberships__practice_id__in=user.practice_ids(), memberships__role=Role.COORDINATOR
            )
            .distinct()
            .order_by("full_name")
        )

    def filter_search(
        self, queryset: QuerySet[CaseloadEpisode], name: str, value: str
    ) -> QuerySet[CaseloadEpisode]:
        matching = Patient.objects.search(value[:100]).values("pk")
        return queryset.filter(patient__in=matching)


class ReferralFilter(PatientPracticeChoices, django_filters.FilterSet):
    """The referral inbox: new ones by default; every filter in the query string."""

    status = django_filters.ChoiceFilter(
        label="Status", choices=Referral.Status.choices, empty_label="Any status", method="filter_status"
    )
    referral_type = django_filters.ModelChoiceFilter(
        label="Type", queryset=ReferralType.objects.all(), empty_label="All types"
    )
    urgency = django_filters.ChoiceFilter(
        label="Urgency", choices=Referral.Urgency.choices, empty_label="Any"
    )
    source = django_filters.ChoiceFilter(
        label="Referred by", choices=Referral.Source.choices, empty_label="Anyone"
    )
    practice = patient_practice_filter()

    class Meta(FilterMeta):
        model = Referral

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = Referral.Status.NEW
        super().__init__(data, *args, user=user, **kwargs)

    def filter_status(self, queryset: QuerySet[Referral], name: str, value: str) -> QuerySet[Referral]:
        return queryset.filter(status=value) if value else queryset


class TriageFilter(PatientPracticeChoices, django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        label="Event", choices=CareEvent.Kind.choices, empty_label="All events"
    )
    practice = patient_practice_filter()

    class Meta(FilterMeta):
        model = CareEvent
