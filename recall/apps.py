from django.apps import AppConfig


class RecallConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recall"
    verbose_name = "Call and recall"
