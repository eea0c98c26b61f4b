"""System checks of our own. `manage.py check --deploy` refuses a production configuration that would
print email to the console instead of sending it, and says which variable to set."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

# The backend settings.py picks when EMAIL_HOST is not set (for trying it out).
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@register(Tags.mail, deploy=True)
def email_is_sent_in_production(app_configs: Any, **kwargs: Any) -> list[Error]:
    # Django's own check (mail.E001) catches the same case but cannot name our variables; settings.py
    # silences it in favour of this one.
    if settings.MAILERS.get("default", {}).get("BACKEND") != CONSOLE_BACKEND:
        return []
    return [
        Error(
            "Email is printed to the console, not sent: no EMAIL_HOST is set.",
            hint=(
                "Set EMAIL_HOST to your SMTP relay (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                "EMAIL_USE_TLS or EMAIL_USE_SSL as it needs). Agenda packs, action chases and password "
                "resets are sent by email. See the README, Production."
            ),
            id="pcn.E001",
        )
    ]
