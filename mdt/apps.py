from django.apps import AppConfig


class MdtConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mdt"
    verbose_name = "MDT meetings"
