"""Sessions end after 30 idle minutes, and 10 hours after sign-in however active (Hardening), both tried
with time travel: a shared computer's session cannot be kept alive for ever."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from pcn.models import UserSession

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def home_status(client) -> int:
    return client.get(reverse("home")).status_code


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_quiet_session_ends_after_the_idle_timeout(client, sign_in_as, coordinator):
    with time_machine.travel(START, tick=False) as clock:
        sign_in_as(coordinator)
        assert home_status(client) == 200
        clock.shift(timedelta(minutes=29))
        assert home_status(client) == 200  # activity pushes the expiry on
        clock.shift(timedelta(minutes=31))
        assert sent_to_sign_in(client.get(reverse("home")))


def test_an_active_session_ends_ten_hours_after_sign_in(client, sign_in_as, coordinator):
    with time_machine.travel(START, tick=False) as clock:
        sign_in_as(coordinator)
        for _ in range(29):  # every 20 minutes until 9 h 40 min
            assert home_status(client) == 200
            clock.shift(timedelta(minutes=20))
        assert home_status(client) == 200  # 9 h 40 min after sign-in
        clock.shift(timedelta(minutes=20))  # 10 h
        ended = client.get(reverse("caseload:patient_list"))
        assert sent_to_sign_in(ended)
        assert "next=" + reverse("caseload:patient_list") in ended["Location"]
        page = client.get(ended["Location"])
        assert "You have been signed in for 10 hours. Sign in again to go on." in page.text
        assert sent_to_sign_in(client.get(reverse("home")))  # signed out, not only redirected once
        assert not UserSession.objects.filter(user_id=coordinator.user.pk).exists()


def test_the_lifetime_is_a_setting(client, sign_in_as, coordinator, settings):
    settings.SESSION_ABSOLUTE_LIFETIME_HOURS = 2
    with time_machine.travel(START, tick=False) as clock:
        sign_in_as(coordinator)
        for _ in range(5):  # active until 1 h 40 min
            clock.shift(timedelta(minutes=20))
            assert home_status(client) == 200
        clock.shift(timedelta(minutes=19))
        assert home_status(client) == 200  # 1 h 59 min
        clock.shift(timedelta(minutes=1))
        assert sent_to_sign_in(client.get(reverse("home")))


def test_signing_in_again_starts_a_new_lifetime(client, sign_in_as, coordinator):
    with time_machine.travel(START, tick=False) as clock:
        sign_in_as(coordinator)
        assert home_status(client) == 200
        clock.shift(timedelta(hours=9, minutes=50))
        client.logout()
        sign_in_as(coordinator)
        assert home_status(client) == 200
        clock.shift(timedelta(minutes=20))  # 10 h 10 min after the first sign-in, 20 min after this one
        assert home_status(client) == 200
