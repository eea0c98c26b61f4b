from django.apps import AppConfig


class PcnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pcn"
    verbose_name = "PCN core"
