"""The database out of reach (Hardening): while PostgreSQL cannot be reached the web answers a plain 503
page — no traceback, Retry-After — and the first request after it is back succeeds, with no restart. The
outage is real: the connection is pointed at a port where nothing listens, not a mock."""

import socket
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from pcn.views import server_error_view
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free once closed: nothing listens there


@contextmanager
def database_out_of_reach():
    real = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(real)


@pytest.fixture
def browser(coordinator):
    client = Client(raise_request_exception=False)  # as a browser would: the handler's page, not the error
    return sign_in(client, coordinator.user)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a database server to lose")
def test_the_page_says_unavailable_while_the_database_is_out_of_reach_then_recovers(browser):
    assert browser.get(reverse("home")).status_code == 200
    with database_out_of_reach():
        for url in (reverse("home"), reverse("caseload:patient_list")):
            down = browser.get(url)
            assert down.status_code == 503, url
            assert down["Retry-After"] == "30"
            assert "Sorry, the service is unavailable for a moment" in down.text
            assert "Traceback" not in down.text and "OperationalError" not in down.text
            assert "no-store" in down["Cache-Control"]
    assert browser.get(reverse("home")).status_code == 200  # the next request reconnects


def test_any_other_failure_is_still_the_500_page(rf):
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error_view(rf.get("/"))
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.content.decode()
    assert not response.has_header("Retry-After")
