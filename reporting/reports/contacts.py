"""Contacts: how many, by method, by intervention (its SNOMED CT term) and per coordinator."""

from django.db.models import Q, QuerySet

from caseload.codes import CONTACT_INTERVENTIONS
from caseload.models import Contact
from reporting.periods import Period
from reporting.reports.base import Breakdown, Measure, Report

COORDINATOR = Breakdown("coordinator", "Coordinator", "recorded_by__full_name")
METHOD = Breakdown("method", "Method", "method", dict(Contact.Method.choices))
INTERVENTION = Breakdown(
    "intervention",
    "Intervention",
    "interventions",
    {code.key: code.term for code in CONTACT_INTERVENTIONS},
    contains=True,
)


def _contacts() -> QuerySet:
    return Contact.objects.all()


def _with_interventions(period: Period) -> Q:
    return ~Q(interventions=[])


REPORT = Report(
    key="contacts",
    title="Contacts",
    question="How many contacts did the care coordinators make, how, and what did they do in them?",
    source="Contacts recorded here by coordinators (date and time, method, who with, interventions).",
    version="contacts-1",
    measures=(
        Measure(
            "contacts",
            "Contacts",
            _contacts,
            "patient__practice_id",
            date_field="contact_at",
            breakdowns=(
                METHOD,
                COORDINATOR,
                Breakdown("with_whom", "Who with", "with_whom", dict(Contact.WithWhom.choices)),
            ),
        ),
        Measure(
            "patients",
            "People contacted",
            _contacts,
            "patient__practice_id",
            date_field="contact_at",
            distinct_patients=True,
            breakdowns=(COORDINATOR,),
            help="Each person once, however many contacts they had.",
        ),
        Measure(
            "with_interventions",
            "Contacts recording an intervention",
            _contacts,
            "patient__practice_id",
            date_field="contact_at",
            when=_with_interventions,
            breakdowns=(INTERVENTION, COORDINATOR),
            help="By intervention, a contact counts once under each intervention it records.",
        ),
    ),
    notes=(
        "Per coordinator means the person who recorded the contact.",
        "Interventions are shown by their SNOMED CT term; those without a concept id are recorded as "
        "terms only (the coding export leaves their id empty).",
    ),
)
