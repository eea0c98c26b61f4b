"""The import profiles the product ships with. Administrators may edit them afterwards; running this
again (a fresh database) creates any that are missing and leaves existing ones alone."""

from django.db import migrations

CANONICAL_COLUMNS = [
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "practice_code",
    "address",
    "postcode",
    "phone",
    "mobile",
    "preferred_language",
    "interpreter_needed",
    "is_carer",
    "has_carer",
    "care_home_resident",
    "care_home_name",
    "is_deceased",
    "has_left",
    "risk_score",
    "efi_score",
    "ae_attendances_12m",
    "emergency_admissions_12m",
    "conditions",
]

PROFILES = [
    {
        "slug": "canonical",
        "name": "Canonical CSV",
        "description": (
            "This product's own CSV layout: one row per patient, headings that are the field names, "
            "dates as dd/mm/yyyy (ISO yyyy-mm-dd also accepted), Y/N flags, and long-term conditions "
            "as keys separated by semicolons. The README documents every column; "
            "docs/samples/canonical_population.csv is an example."
        ),
        "column_map": {column: column for column in CANONICAL_COLUMNS},
        "date_formats": ["%d/%m/%Y", "%Y-%m-%d"],
        "encoding": "utf-8-sig",
        "delimiter": ",",
        "fill_down": [],
        "one_row_per_patient": True,
    },
    {
        "slug": "emis-search",
        "name": "EMIS Web search export",
        "description": (
            "An EMIS Web population search exported to CSV: one row per coded condition, with the NHS "
            "number, name, date of birth, sex and practice on a patient's first row only (filled down). "
            "Names as “SURNAME, Forename (Title)”, dates like 20-Jan-1959. The condition terms are "
            "matched to the long-term-condition registers; the search is taken as the whole truth about "
            "a patient's registered conditions. Build the search with these column headings."
        ),
        "column_map": {
            "NHS Number": "nhs_number",
            "Full Name": "full_name",
            "Date of Birth": "date_of_birth",
            "Gender": "sex",
            "Practice": "practice_code",
            "Code Term": "condition_term",
        },
        "date_formats": ["%d-%b-%Y", "%d/%m/%Y"],
        "encoding": "utf-8-sig",
        "delimiter": ",",
        "fill_down": ["NHS Number", "Full Name", "Date of Birth", "Gender", "Practice"],
        "one_row_per_patient": False,
    },
    {
        "slug": "systmone",
        "name": "SystmOne report export",
        "description": (
            "Unverified: a plausible SystmOne (TPP) clinical report export, one row per patient, "
            "dates as dd/mm/yyyy. No real SystmOne file has been checked against it, so compare its "
            "column headings with your report's and edit the profile to match."
        ),
        "column_map": {
            "NHS Number": "nhs_number",
            "Surname": "family_name",
            "Given Name": "given_name",
            "Date of Birth": "date_of_birth",
            "Gender": "sex",
            "Practice Code": "practice_code",
            "Address": "address",
            "Postcode": "postcode",
            "Home Telephone": "phone",
            "Mobile Telephone": "mobile",
            "Main Spoken Language": "preferred_language",
            "Interpreter Required": "interpreter_needed",
        },
        "date_formats": ["%d/%m/%Y", "%d %b %Y"],
        "encoding": "utf-8-sig",
        "delimiter": ",",
        "fill_down": [],
        "one_row_per_patient": True,
    },
    {
        "slug": "icb-risk",
        "name": "ICB risk-stratification extract",
        "description": (
            "The ICB's monthly risk-stratification extract: one row per patient, ISO dates, risk score "
            "0-100, eFI score, A&E attendances and emergency admissions in 12 months, care home "
            "resident Y/N. It has no names: patients it adds show “Name not known” until a clinical "
            "system import names them. Its ltc_count column is not stored."
        ),
        "column_map": {
            "nhs_number": "nhs_number",
            "practice_code": "practice_code",
            "date_of_birth": "date_of_birth",
            "sex": "sex",
            "risk_score": "risk_score",
            "efi_score": "efi_score",
            "ae_attendances_12m": "ae_attendances_12m",
            "emergency_admissions_12m": "emergency_admissions_12m",
            "care_home_resident": "care_home_resident",
        },
        "date_formats": ["%Y-%m-%d"],
        "encoding": "utf-8-sig",
        "delimiter": ",",
        "fill_down": [],
        "one_row_per_patient": True,
    },
]


def create_profiles(apps, schema_editor):
    ImportProfile = apps.get_model("caseload", "ImportProfile")
    for spec in PROFILES:
        fields = {key: value for key, value in spec.items() if key != "slug"}
        ImportProfile.objects.get_or_create(slug=spec["slug"], defaults=fields)


def remove_profiles(apps, schema_editor):
    ImportProfile = apps.get_model("caseload", "ImportProfile")
    ImportProfile.objects.filter(slug__in=[spec["slug"] for spec in PROFILES], batches__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0005_import_profiles_and_batch_progress"),
    ]

    operations = [
        migrations.RunPython(create_profiles, remove_profiles),
    ]
