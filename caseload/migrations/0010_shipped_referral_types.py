"""The four referral types the product ships with, each with its criteria checklist.

Administrators edit them (and add their own) in the administration site. The criteria are
plausible starting points drawn from the MDT descriptions in DOMAIN.md (EHCH, NHSE proactive care
for frailty, cancer and palliative care MDTs), not a national list: a PCN adapts them.
"""

from django.db import migrations

TYPES = [
    (
        "Care home MDT",
        "A care home resident for the weekly care home MDT (Enhanced Health in Care Homes).",
        "care_home",
        [
            ("Registered with a PCN practice", True),
            ("Lives in a care home aligned to the PCN", True),
            ("Consent to share information with the MDT (or a best-interests decision)", True),
            ("New or re-admitted resident, or a change in needs", False),
        ],
    ),
    (
        "Frailty / proactive care",
        "Proactive care for people living with frailty (NHSE 2023): holistic assessment and a care plan.",
        "frailty",
        [
            ("Registered with a PCN practice", True),
            ("Aged 65 or over", True),
            ("eFI moderate or severe", True),
            ("Consent to share information with the MDT", True),
        ],
    ),
    (
        "Cancer and palliative care",
        "People with cancer or in the last year of life, for the cancer and palliative care MDT.",
        "cancer_palliative",
        [
            ("Registered with a PCN practice", True),
            ("A cancer diagnosis, or likely to be in the last 12 months of life", True),
            ("Consent to share information with the MDT", True),
        ],
    ),
    (
        "Care coordination",
        "Support from a care coordinator: complex needs, several services, or frequent attendance.",
        "",
        [
            ("Registered with a PCN practice", True),
            ("Consent to be contacted by a care coordinator", True),
            ("Two or more long-term conditions, or frequent A&E attendance", False),
        ],
    ),
]


def create_types(apps, schema_editor):
    ReferralType = apps.get_model("caseload", "ReferralType")
    ReferralCriterion = apps.get_model("caseload", "ReferralCriterion")
    for name, description, mdt_kind, criteria in TYPES:
        referral_type, created = ReferralType.objects.get_or_create(
            name=name, defaults={"description": description, "mdt_kind": mdt_kind}
        )
        if created:
            ReferralCriterion.objects.bulk_create(
                ReferralCriterion(referral_type=referral_type, text=text, is_required=required, position=i)
                for i, (text, required) in enumerate(criteria, start=1)
            )


def remove_types(apps, schema_editor):
    ReferralType = apps.get_model("caseload", "ReferralType")
    ReferralType.objects.filter(name__in=[name for name, *_ in TYPES], referrals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("caseload", "0009_referrals_care_events_contacts_tasks_pam_signposting_coding")]

    operations = [migrations.RunPython(create_types, remove_types)]
