from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps

from pcn import checks  # noqa: F401 (registers our system checks; it imports no models)


class PcnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pcn"
    verbose_name = "PCN core"


class PcnAdminConfig(admin_apps.AdminConfig):
    """The admin with our site class: administrators only, after two-factor sign-in."""

    default = False
    default_site = "pcn.admin_site.PcnAdminSite"
