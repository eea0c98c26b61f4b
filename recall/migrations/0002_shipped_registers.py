"""The registers the product ships with (DOMAIN.md "Call / recall"; issue: call/recall).

Administrators edit them in the admin site. The chronic disease reviews carry the one review code
DOMAIN.md gives (888461000000107, "Chronic disease management annual review completed"); every other
code is a term only: no SNOMED id is invented. Invitation terms are the words the coding export shows,
for the coordinator to enter with the practice's own invitation code.
"""

from django.db import migrations

LTC_REVIEW = ("888461000000107", "Chronic disease management annual review completed")

# key, name, review, condition flag (caseload.models.LongTermCondition), kind, extra settings
REGISTERS = [
    ("diabetes", "Diabetes", "Diabetes annual review", 1 << 0, {}),
    ("hypertension", "Hypertension", "Blood pressure review", 1 << 1, {}),
    ("chd", "Coronary heart disease", "Heart disease annual review", 1 << 2, {}),
    ("stroke_tia", "Stroke or TIA", "Stroke annual review", 1 << 3, {}),
    ("heart_failure", "Heart failure", "Heart failure annual review", 1 << 4, {}),
    ("af", "Atrial fibrillation", "Atrial fibrillation annual review", 1 << 12, {}),
    ("copd", "COPD", "COPD annual review", 1 << 5, {}),
    ("asthma", "Asthma", "Asthma annual review", 1 << 6, {}),
    ("ckd", "Chronic kidney disease", "Kidney disease annual review", 1 << 7, {}),
    ("dementia", "Dementia", "Dementia annual review", 1 << 8, {"review": ("", "")}),
    (
        "smi",
        "Severe mental illness",
        "Physical health check (severe mental illness)",
        1 << 9,
        {"review": ("", "Severe mental illness physical health check")},
    ),
    (
        "learning_disability",
        "Learning disability",
        "Learning disability annual health check",
        1 << 10,
        {"min_age": 14, "review": ("", "Learning disability annual health check")},
    ),
    (
        "ndh",
        "Non-diabetic hyperglycaemia",
        "Blood sugar check (non-diabetic hyperglycaemia)",
        1 << 13,
        {"review": ("", "")},
    ),
    (
        "bowel_screening",
        "Bowel cancer screening",
        "Bowel cancer screening test",
        0,
        {"kind": "screening", "min_age": 50, "max_age": 74, "interval_months": 24},
    ),
    (
        "breast_screening",
        "Breast screening",
        "Breast screening appointment",
        0,
        {"kind": "screening", "sex": "F", "min_age": 50, "max_age": 70, "interval_months": 36},
    ),
    (
        "cervical_screening",
        "Cervical screening",
        "Cervical screening test",
        0,
        {
            "kind": "screening",
            "sex": "F",
            "min_age": 25,
            "max_age": 64,
            "interval_months": 36,
            "invitations": 3,
        },
    ),
]


def ship(apps, schema_editor):
    Register = apps.get_model("recall", "Register")
    for order, (key, name, review, flag, extra) in enumerate(REGISTERS, start=1):
        screening = extra.get("kind") == "screening"
        snomed, term = extra.get("review", LTC_REVIEW if not screening else ("", ""))
        Register.objects.update_or_create(
            key=key,
            defaults={
                "name": name,
                "review_name": review,
                "kind": extra.get("kind", "review"),
                "ltc_flag": flag,
                "sex": extra.get("sex", ""),
                "min_age": extra.get("min_age"),
                "max_age": extra.get("max_age"),
                "invitations_expected": extra.get("invitations", 2),
                "due_rule": "after_last_review" if screening else "birth_month",
                "interval_months": extra.get("interval_months", 12),
                "invitation_term": f"{review} invitation",
                "review_snomed_id": snomed,
                "review_term": term,
                "display_order": order,
            },
        )


def unship(apps, schema_editor):
    apps.get_model("recall", "Register").objects.filter(key__in=[row[0] for row in REGISTERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("recall", "0001_registers_entries_ledger_appointments")]

    operations = [migrations.RunPython(ship, unship)]
