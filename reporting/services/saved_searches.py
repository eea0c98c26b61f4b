"""Saved searches: saving a list page's filters, running them in the runner's scope, the weekly job.

A search holds a query string, never patients. Every run goes through the list page's own filter over
the *running* user's practices (`patient_cohort`, `worklist_filter`), so a coordinator running a
manager's shared search counts only their own practices' patients, and the count is the list's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone
from django_filters import FilterSet

from caseload.filters import PatientFilter, patient_cohort
from pcn.models import User
from pcn.permissions import Perm, has_perm
from recall.filters import WorklistFilter, worklist_filter
from recall.models import qof_year
from reporting.models import SavedSearch, SavedSearchRun

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SearchKind:
    filterset: type[FilterSet]
    build: Callable[..., FilterSet]  # (data, *, user) → the list page's filter over the user's practices
    noun: str
    nouns: str


KINDS = {
    SavedSearch.Kind.PATIENTS: SearchKind(PatientFilter, patient_cohort, "patient", "patients"),
    SavedSearch.Kind.RECALL_WORKLIST: SearchKind(WorklistFilter, worklist_filter, "review", "reviews"),
}


def counted(kind: str, count: int) -> str:
    """ "1 patient", "12 reviews"."""
    spec = KINDS[SavedSearch.Kind(kind)]
    return f"{count:,} {spec.noun if count == 1 else spec.nouns}"


def _errors(filterset: FilterSet) -> ValidationError:
    form = filterset.form
    messages = [
        f"{form.fields[name].label}: {message}" if name in form.fields else message
        for name, errors in form.errors.items()
        for message in errors
    ]
    return ValidationError(messages)


def _filter(kind: str, data: QueryDict, user: User) -> FilterSet:
    """The list page's filter for `data` in `user`'s scope; ValidationError if its form refuses it."""
    filterset = KINDS[SavedSearch.Kind(kind)].build(data, user=user)
    if filterset.form.is_bound and not filterset.form.is_valid():
        raise _errors(filterset)
    return filterset


def search_query_clean(*, kind: str, query: str, user: User) -> str:
    """The query string to keep: the filter's own keys in its order, empty values dropped, and validated
    by the filter's form in `user`'s scope (ValidationError naming each refused filter).

    Dropped on purpose: the page number (a run starts at the first page), keys that are not filters, and
    the worklist's QOF year when it is the current one, so that a weekly search follows the year over
    on 1 April. Kept: the sort, so that the list opens in the order it was saved in (it changes no count).
    """
    data, clean = QueryDict(query), QueryDict(mutable=True)
    for key in KINDS[SavedSearch.Kind(kind)].filterset.base_filters:
        if values := [value for value in data.getlist(key) if value.strip()]:
            clean.setlist(key, values)
    if kind == SavedSearch.Kind.RECALL_WORKLIST and clean.get("year") == str(qof_year(timezone.localdate())):
        del clean["year"]
    _filter(kind, clean, user)
    return clean.urlencode()


def saved_search_filter(*, search: SavedSearch, user: User) -> FilterSet:
    """The search's filter over `user`'s practices; ValidationError if it names a practice, coordinator
    or register the user cannot choose (it is refused, not widened by dropping the filter)."""
    return _filter(search.kind, QueryDict(search.query), user)


def saved_search_create(*, owner: User, kind: str, query: str, name: str, shared: bool) -> SavedSearch:
    return SavedSearch.objects.create(
        owner=owner, kind=kind, query=search_query_clean(kind=kind, query=query, user=owner), name=name,
        shared=shared,
    )  # fmt: skip


def saved_search_update(
    *, search: SavedSearch, name: str, shared: bool, schedule: str, today: date
) -> SavedSearch:
    """Name, sharing and schedule. A search newly made weekly is first run by the next daily job."""
    if schedule == SavedSearch.Schedule.WEEKLY and search.schedule != SavedSearch.Schedule.WEEKLY:
        search.next_run_on = today
    elif schedule != SavedSearch.Schedule.WEEKLY:
        search.next_run_on = None
    search.name, search.shared, search.schedule = name, shared, schedule
    search.save(update_fields=["name", "shared", "schedule", "next_run_on", "updated_at"])
    return search


def saved_search_run(*, search: SavedSearch, by: User) -> SavedSearchRun:
    """Count the search's result now, in `by`'s scope, and record the run."""
    count = saved_search_filter(search=search, user=by).qs.count()
    return SavedSearchRun.objects.create(search=search, run_at=timezone.now(), count=count, run_by=by)


def previous_run(run: SavedSearchRun, user: User) -> SavedSearchRun | None:
    """The run before `run` among those `user` sees (same scope): what its change is measured from."""
    return (
        SavedSearchRun.objects.seen_by(user)
        .filter(search_id=run.search_id, run_at__lte=run.run_at)
        .exclude(pk=run.pk)
        .order_by("-run_at", "-id")
        .first()
    )


def change_words(count: int, before: SavedSearchRun | None) -> str:
    """ "3 more than on 2 March 2026 (39)"; "the same as …"; "" for a first run."""
    if before is None:
        return ""
    when = f"on {timezone.localtime(before.run_at):%-d %B %Y} ({before.count:,})"
    if count == before.count:
        return f"the same as {when}"
    return f"{abs(count - before.count):,} {'more' if count > before.count else 'fewer'} than {when}"


def filters_described(filterset: FilterSet) -> list[tuple[str, str]]:
    """The filters set, in words: ("Practice", "Riverside Surgery"), ("Age", "75 to 84, 85+")."""
    form = filterset.form
    described: list[tuple[str, str]] = []
    if not form.is_bound:
        return described
    for name, value in form.cleaned_data.items():
        values = [
            v
            for v in (value if isinstance(value, list | QuerySet) else [value])
            if v not in (None, "", False)
        ]
        if not values or (name == "due_match" and not form.cleaned_data.get("due_month")):
            continue
        field = form.fields[name]
        choices = (
            {}
            if isinstance(field, ModelChoiceField)
            else {str(k): v for k, v in getattr(field, "choices", [])}
        )
        words = ["Yes" if item is True else str(choices.get(str(item), item)) for item in values]
        described.append((str(field.label), ", ".join(words)))
    return described


# --- The weekly job ----------------------------------------------------------------------------------


def saved_searches_run_due(*, today: date) -> int:
    """Run each weekly search due (its next_run_on reached) in its owner's scope, record the run and email
    the owner the count and its change. Returns the number run.

    Safe to run twice: each search is locked while it is run, its run row is unique per scheduled day,
    and next_run_on moves a week on in the same transaction, so a second run that day finds nothing due.
    """
    ran = 0
    for search_id in SavedSearch.objects.due(on=today).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            search = (
                SavedSearch.objects.select_for_update(of=("self",)).select_related("owner")
                .due(on=today).filter(pk=search_id).first()
            )  # fmt: skip
            if search is None or not has_perm(search.owner, Perm.VIEW_PATIENTS):
                continue  # run meanwhile, or the owner can no longer see patients: nothing to send
            ran += _scheduled_run(search, today)
    return ran


def _scheduled_run(search: SavedSearch, today: date) -> int:
    scheduled_for, search.next_run_on = search.next_run_on, today + WEEK
    try:
        count = saved_search_filter(search=search, user=search.owner).qs.count()
    except ValidationError as refused:
        search.save(update_fields=["next_run_on", "updated_at"])
        _email(search, {"refused": " ".join(refused.messages)})
        return 0
    try:
        with transaction.atomic():
            run = SavedSearchRun.objects.create(
                search=search, run_at=timezone.now(), count=count, run_by=None, scheduled_for=scheduled_for
            )
    except IntegrityError:
        return 0  # another run did this one
    search.save(update_fields=["next_run_on", "updated_at"])
    before = previous_run(run, search.owner)
    _email(search, {"count": counted(search.kind, count), "change": change_words(count, before)})
    return 1


def _email(search: SavedSearch, context: dict[str, Any]) -> None:
    """To the owner: the search's name, the count and its change. No patient is named."""
    body = render_to_string(
        "reporting/email/saved_search_weekly.txt",
        {"search": search, "link": f"{settings.SITE_URL}{search.get_absolute_url()}", **context},
    )
    subject = f"Saved search “{search.name}”: " + (context.get("count", "could not be run"))
    EmailMessage(subject=subject, body=body, to=[search.owner.email]).send()
