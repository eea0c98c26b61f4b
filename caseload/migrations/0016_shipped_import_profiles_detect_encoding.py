"""The shipped import profiles detect the encoding (UTF-8, else Windows-1252) instead of insisting on
UTF-8: EMIS exports saved by Excel are Windows-1252, and a UTF-8 profile refused them whole.

A shipped profile keeps its encoding when it is no longer the shipped UTF-8 or when an administrator
chose it: an `import_profile.change` audit event (the profile's page) or an admin-site change that
names the encoding field. Profiles that administrators added are left as they are."""

from django.db import migrations

SHIPPED = ("canonical", "emis-search", "systmone", "icb-risk")
UTF8, AUTO = "utf-8-sig", "auto"


def detect_by_default(apps, schema_editor):
    ImportProfile = apps.get_model("caseload", "ImportProfile")
    AuditEvent = apps.get_model("pcn", "AuditEvent")
    LogEntry = apps.get_model("admin", "LogEntry")
    shipped = ImportProfile.objects.filter(slug__in=SHIPPED, encoding=UTF8)
    ids = set(shipped.values_list("pk", flat=True))
    pinned = {
        event.detail.get("profile_id")
        for event in AuditEvent.objects.filter(action="import_profile.change", detail__profile_id__in=ids)
        if "encoding" in (event.detail.get("changed") or [])
    }
    pinned |= {
        int(object_id)
        for object_id in LogEntry.objects.filter(
            content_type__app_label="caseload",
            content_type__model="importprofile",
            object_id__in=[str(pk) for pk in ids],
            change_message__icontains='"encoding"',
        ).values_list("object_id", flat=True)
    }
    shipped.exclude(pk__in=pinned).update(encoding=AUTO)


def utf8_again(apps, schema_editor):
    # Before 0015 there was no "auto": UTF-8 is what such profiles read.
    apps.get_model("caseload", "ImportProfile").objects.filter(encoding=AUTO).update(encoding=UTF8)


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0015_import_profile_encoding_detect"),
        ("pcn", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunPython(detect_by_default, utf8_again),
    ]
