"""The recall worklist's filters (every one in the query string): register, practice, QOF year, due
month, state, invitations so far, frailty, caseload, a name or NHS number, and the sort.

The state and the sort are applied last (in `qs`), so that `unstated` is the list under every other
filter: the counts at the top of the worklist are per state of that list.
"""

from datetime import date
from typing import Any

import django_filters
from django import forms
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from caseload.filters import FilterForm, PatientPracticeChoices, patient_practice_filter, yes_no
from caseload.models import CaseloadEpisode, EfiCategory, Patient
from pcn.models import User
from recall.models import RecallEntry, Register, qof_year, year_label

OPEN = ""  # the default state choice: every open entry (RecallEntry.OPEN_STATES)
ANY_STATE = "any"
STATE_CHOICES = [(OPEN, "Open: due, invited, excepted or booked"), *RecallEntry.State.choices,
                 (ANY_STATE, "Any state")]  # fmt: skip
INVITATION_CHOICES = [("0", "None yet"), ("1", "1"), ("2", "2"), ("3+", "3 or more")]
FRAIL = (EfiCategory.MODERATE, EfiCategory.SEVERE)
MONTHS_OF_THE_YEAR = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)  # a QOF year runs April to March
DUE_MATCH_CHOICES = [("by", "In or before"), ("in", "In")]

BY_NAME = ("patient__family_name", "patient__given_name", "patient_id", "register__display_order", "id")
SORTS: dict[str, tuple[Any, ...]] = {
    "due": ("due_month", *BY_NAME),
    "name": BY_NAME,
    "invitations": ("-invitations", "due_month", *BY_NAME),
    "last_invited": (F("last_invited_on").asc(nulls_first=True), "due_month", *BY_NAME),
}
SORT_LABELS = {
    "due": "Due month (soonest first)",
    "name": "Name (A to Z)",
    "invitations": "Invitations (most first)",
    "last_invited": "Last invited (longest ago first)",
}


def month_in_year(year: int, month: int) -> date:
    """The first day of `month` in QOF year `year` (January to March fall in the next calendar year)."""
    return date(year if month >= 4 else year + 1, month, 1)


class WorklistFilter(PatientPracticeChoices, django_filters.FilterSet):
    register = django_filters.ModelChoiceFilter(
        queryset=Register.objects.filter(is_active=True), label="Register", empty_label="All registers"
    )
    practice = patient_practice_filter()
    year = django_filters.ChoiceFilter(choices=[], label="QOF year", empty_label=None)
    due_match = django_filters.ChoiceFilter(
        choices=DUE_MATCH_CHOICES, label="Due", empty_label=None, method="filter_noop"
    )
    due_month = django_filters.ChoiceFilter(
        choices=[], label="Due month", empty_label="Any month", method="filter_due_month"
    )
    state = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, label="State", empty_label=None, method="filter_noop"
    )
    invitations = django_filters.ChoiceFilter(
        choices=INVITATION_CHOICES, label="Invitations so far", empty_label="Any number",
        method="filter_invitations",
    )  # fmt: skip
    frail = django_filters.BooleanFilter(
        method="filter_frail", widget=forms.CheckboxInput, label="Moderate or severe frailty (eFI)"
    )
    on_caseload = django_filters.ChoiceFilter(
        choices=[("yes", "Yes"), ("no", "No")], empty_label="Any", method="filter_on_caseload",
        label="On a caseload",
    )  # fmt: skip
    q = django_filters.CharFilter(
        label="Name or NHS number", method="filter_search", widget=forms.TextInput(attrs={"type": "search"})
    )
    sort = django_filters.ChoiceFilter(
        choices=list(SORT_LABELS.items()), label="Sort by", empty_label=None, method="filter_noop"
    )

    class Meta:
        model = RecallEntry
        fields: list[str] = []
        form = FilterForm

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        current = qof_year(timezone.localdate())
        data = data.copy() if data is not None else {}
        for key, default in (("year", str(current)), ("due_match", "by"), ("sort", "due")):
            if not data.get(key):
                data[key] = default
        super().__init__(data, *args, user=user, **kwargs)
        years = range(current + 1, current - 3, -1)
        self.filters["year"].extra["choices"] = [(str(year), year_label(year)) for year in years]
        year = int(data["year"]) if str(data["year"]).isdigit() else current
        self.filters["due_month"].extra["choices"] = [
            (str(month), f"{month_in_year(year, month):%B %Y}") for month in MONTHS_OF_THE_YEAR
        ]

    @property
    def cleaned(self) -> dict[str, Any]:
        return self.form.cleaned_data if self.form.is_valid() else {}

    @property
    def unstated(self) -> QuerySet[RecallEntry]:
        """The list under every filter but the state, unsorted: what the counts count."""
        return super().qs

    @property
    def qs(self) -> QuerySet[RecallEntry]:
        queryset = self.unstated
        if self.cleaned.get("state", OPEN) != ANY_STATE:
            queryset = queryset.filter(state__in=self.states())
        return queryset.order_by(*SORTS.get(self.cleaned.get("sort", "due"), SORTS["due"]))

    def states(self) -> tuple[str, ...]:
        """The states the list shows (the state filter)."""
        state = self.cleaned.get("state", OPEN)
        if state == OPEN:
            return tuple(RecallEntry.OPEN_STATES)
        return tuple(RecallEntry.State.values) if state == ANY_STATE else (state,)

    def counts(self) -> dict[str, int]:
        """How many entries of the list (under every filter but the state) are in each state: one query."""
        return self.unstated.order_by().aggregate(
            **{state: Count("pk", filter=Q(state=state)) for state in RecallEntry.State.values}
        )

    def describe(self) -> str:
        """The filters in words, for a batch's description: "Diabetes, 2026/27, due by December 2026"."""
        data, form = self.cleaned, self.form
        parts = [str(data["register"]) if data.get("register") else "All registers"]
        if data.get("practice"):
            parts.append(str(data["practice"]))
        parts.append(year_label(int(data.get("year") or qof_year(timezone.localdate()))))
        if data.get("due_month"):
            month = dict(form.fields["due_month"].choices)[data["due_month"]]
            parts.append(f"due {'by' if data.get('due_match') == 'by' else 'in'} {month}")
        if data.get("state") not in (None, OPEN):
            parts.append(dict(STATE_CHOICES)[data["state"]].lower())
        if data.get("invitations"):
            parts.append(f"invited {dict(INVITATION_CHOICES)[data['invitations']].lower()}")
        if data.get("frail"):
            parts.append("moderate or severe frailty")
        if data.get("on_caseload"):
            parts.append("on a caseload" if data["on_caseload"] == "yes" else "not on a caseload")
        if data.get("q"):
            parts.append(f"matching “{data['q'][:40]}”")
        return ", ".join(parts)

    # --- methods ------------------------------------------------------------------------------
    def filter_noop(self, queryset: QuerySet[RecallEntry], name: str, value: Any) -> QuerySet[RecallEntry]:
        return queryset  # applied in `qs` (the state and the sort) or by `due_month` (its match)

    def filter_due_month(
        self, queryset: QuerySet[RecallEntry], name: str, value: str
    ) -> QuerySet[RecallEntry]:
        year = int(self.cleaned.get("year") or qof_year(timezone.localdate()))
        month = month_in_year(year, int(value))
        if self.cleaned.get("due_match") == "in":
            return queryset.filter(due_month=month)
        return queryset.filter(due_month__lte=month)

    def filter_invitations(
        self, queryset: QuerySet[RecallEntry], name: str, value: str
    ) -> QuerySet[RecallEntry]:
        if value == "3+":
            return queryset.filter(invitations__gte=3)
        return queryset.filter(invitations=int(value))

    def filter_frail(
        self, queryset: QuerySet[RecallEntry], name: str, value: bool | None
    ) -> QuerySet[RecallEntry]:
        return queryset.filter(patient__efi_category__in=FRAIL) if value else queryset

    def filter_on_caseload(
        self, queryset: QuerySet[RecallEntry], name: str, value: str
    ) -> QuerySet[RecallEntry]:
        open_episode = CaseloadEpisode.objects.open().filter(patient_id=OuterRef("patient_id"))
        return yes_no(queryset, Q(Exists(open_episode)), value)

    def filter_search(self, queryset: QuerySet[RecallEntry], name: str, value: str) -> QuerySet[RecallEntry]:
        return queryset.filter(patient__in=Patient.objects.search(value[:100]).values("pk"))


def worklist_filter(data: Any, *, user: User) -> WorklistFilter:
    """The worklist's filter over the user's practices' entries: the worklist page and a saved search's
    run count and show the same rows."""
    on_caseload = CaseloadEpisode.objects.open().filter(patient_id=OuterRef("patient_id"))
    base = (
        RecallEntry.objects.visible_to(user)
        .select_related("patient__practice", "register")
        .annotate(on_caseload=Exists(on_caseload))
    )
    return WorklistFilter(data, queryset=base, user=user)
