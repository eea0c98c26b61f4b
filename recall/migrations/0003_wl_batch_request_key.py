"""An invitation batch keeps the one-time key of the confirm form that made it, so that a form submitted
twice (a double click, a resend after a timeout) finds the batch it made instead of making another."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recall", "0002_shipped_registers"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitationbatch",
            name="request_key",
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
    ]
