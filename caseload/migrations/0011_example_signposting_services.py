"""A handful of example services for the signposting directory, so that a new PCN sees how it works.

Every one is fictional: example.org addresses and Ofcom's drama numbers (01632 960xxx), which are
never connected. Administrators replace them with the PCN's own services (or untick "Offered now").
"""

from django.db import migrations

SERVICES = [
    ("Example Citizens Advice Drop-in", "benefits",
     "Free, confidential help to claim benefits, manage debt and challenge decisions.",
     "Anyone living in the PCN area.", "01632 960001", "benefits@example.org"),
    ("Example Works: Back to Work Coaching", "employment",
     "One-to-one coaching, CV help and short training courses for people out of work because of health.",
     "Aged 18 to 66, out of work or at risk of losing work because of a health condition.",
     "01632 960002", "works@example.org"),
    ("Example Carers' Centre", "carers",
     "Carers' assessments, a carers' emergency card, peer groups and short breaks.",
     "Unpaid carers of any age.", "01632 960003", "carers@example.org"),
    ("Example Living Well Course", "self_management",
     "A six-week group course on living with a long-term condition: pacing, goals, medicines, mood.",
     "Adults living with one or more long-term conditions.", "01632 960004", "livingwell@example.org"),
    ("Example Breathe Easy Peer Group", "peer_support",
     "A monthly group for people living with lung conditions and their families.",
     "People with COPD, asthma or other lung conditions.", "01632 960005", "breathe@example.org"),
    ("Example Community Social Prescribing Service", "social_prescribing",
     "Link workers who help people find local groups, activities and practical support.",
     "Aged 18 and over, referred by the practice or the care coordinator.",
     "01632 960006", "linkworkers@example.org"),
    ("Example Housing Options Team", "housing",
     "Advice on repairs, adaptations, homelessness and moving to more suitable housing.",
     "Residents of the local authority area.", "01632 960007", "housing@example.org"),
    ("Example Talking Therapies", "mental_wellbeing",
     "Free talking therapies for anxiety and low mood; people can refer themselves.",
     "Aged 16 and over, registered with a GP in the area.", "01632 960008", "talking@example.org"),
]  # fmt: skip


def add_services(apps, schema_editor):
    Service = apps.get_model("caseload", "Service")
    for name, category, description, eligibility, phone, email in SERVICES:
        Service.objects.get_or_create(
            name=name,
            defaults={"category": category, "description": description, "eligibility": eligibility,
                      "phone": phone, "email": email, "website": "https://example.org/"},
        )  # fmt: skip


def remove_services(apps, schema_editor):
    Service = apps.get_model("caseload", "Service")
    Service.objects.filter(name__in=[row[0] for row in SERVICES], signpostings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("caseload", "0010_shipped_referral_types")]

    operations = [migrations.RunPython(add_services, remove_services)]
