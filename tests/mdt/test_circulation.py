"""Circulating the agenda pack: each member once whatever happens (a Circulation row per meeting × kind ×
email, claimed before sending), the PDF attached for external members only when the series allows it,
re-sending by hand, the beat sweep, and the whole path through a real Celery worker on Redis sending
to a real SMTP server."""

import socket
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdt.models import Circulation, Meeting, MeetingDocument
from mdt.services.circulation import agenda_circulate, circulation_resend
from mdt.services.packs import meeting_document_render
from mdt.tasks import circulate_agenda_task, circulation_sweep, circulation_sweep_task
from pcn.models import AuditEvent
from tests.celery_worker import celery_worker
from tests.factories import PatientFactory
from tests.mdt.minutes_fixtures import add_external, add_item, make_meeting

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def meeting(meeting, patient):
    """The shared meeting (tests/mdt/conftest.py) with a patient on the agenda and an external member."""
    add_item(meeting, patient)
    add_external(meeting, email="dn@community.example.test")
    return meeting


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.mark.django_db
def test_each_member_is_sent_the_agenda_once_even_when_circulated_twice(meeting):
    assert agenda_circulate(meeting=meeting) == 3
    assert agenda_circulate(meeting=meeting) == 0

    assert sent_to() == ["cara@example.test", "dn@community.example.test", "liam@example.test"]
    rows = Circulation.objects.filter(meeting=meeting, kind=Circulation.Kind.AGENDA)
    assert sorted(rows.values_list("email", flat=True)) == sent_to()
    assert all(row.sent_at is not None and row.resent_at is None for row in rows)
    meeting.refresh_from_db()
    assert meeting.circulated_at is not None
    assert MeetingDocument.objects.get(meeting=meeting).state == MeetingDocument.State.READY


@pytest.mark.django_db
def test_the_pdf_goes_to_external_members_only_when_the_series_allows(meeting):
    agenda_circulate(meeting=meeting)
    assert [m.attachments for m in mail.outbox] == [[], [], []]
    external = next(m for m in mail.outbox if m.to == ["dn@community.example.test"])
    assert "Patient details are not sent by email" in external.body
    user = next(m for m in mail.outbox if m.to == ["cara@example.test"])
    assert f"/mdt/meetings/{meeting.pk}/" in user.body

    mail.outbox.clear()
    Circulation.objects.all().delete()
    meeting.series.attachments_to_external = True
    meeting.series.save()
    agenda_circulate(meeting=meeting)

    attached = {m.to[0]: [(name, kind) for name, _, kind in m.attachments] for m in mail.outbox}
    assert attached == {
        "cara@example.test": [],
        "liam@example.test": [],
        "dn@community.example.test": [("Care home MDT 2025-03-04 agenda.pdf", "application/pdf")],
    }
    pdf = next(m for m in mail.outbox if m.to == ["dn@community.example.test"]).attachments[0][1]
    assert pdf == MeetingDocument.objects.get(meeting=meeting).file.open("rb").read()


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_so_a_retry_sends(meeting):
    down = mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("SMTP down"))
    with down, pytest.raises(OSError):
        agenda_circulate(meeting=meeting)
    assert list(Circulation.objects.filter(sent_at__isnull=False)) == []
    meeting.refresh_from_db()
    assert meeting.circulated_at is None

    assert agenda_circulate(meeting=meeting) == 3
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_resend_sends_again_and_is_audited(meeting, coordinator, sign_in_as):
    agenda_circulate(meeting=meeting)
    mail.outbox.clear()
    circulation = Circulation.objects.get(email="dn@community.example.test")

    response = sign_in_as(coordinator).post(reverse("mdt:circulation_resend", args=[circulation.pk]))

    assert response.status_code == 302
    assert sent_to() == ["dn@community.example.test"]
    circulation.refresh_from_db()
    assert circulation.resent_at is not None
    event = AuditEvent.objects.get(action="mdt.agenda.resend")
    assert (event.user, event.detail["email"]) == (coordinator.user, "dn@community.example.test")


@pytest.mark.django_db
def test_resend_is_refused_while_the_pack_is_rendering(meeting, coordinator):
    agenda_circulate(meeting=meeting)
    mail.outbox.clear()
    MeetingDocument.objects.update(state=MeetingDocument.State.RENDERING)
    circulation = Circulation.objects.get(email="cara@example.test")

    with pytest.raises(ValidationError):
        circulation_resend(circulation=circulation, by=coordinator.user)
    circulation.refresh_from_db()
    assert (mail.outbox, circulation.resent_at) == ([], None)


@pytest.mark.django_db
def test_circulation_page_lists_who_was_sent_what(
    meeting, coordinator, sign_in_as, django_assert_max_num_queries
):
    agenda_circulate(meeting=meeting)
    client = sign_in_as(coordinator)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("mdt:circulation_list", args=[meeting.pk])).content.decode()
    assert page.count('data-testid="circulation"') == 3
    assert "dn@community.example.test (external)" in page


@pytest.mark.django_db
def test_circulation_page_queries_do_not_grow_with_members_or_patients(
    meeting, coordinator, practice_a, sign_in_as, django_assert_num_queries
):
    agenda_circulate(meeting=meeting)
    client = sign_in_as(coordinator)
    url = reverse("mdt:circulation_list", args=[meeting.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        add_item(meeting, PatientFactory(practice=practice_a), position=n + 1)
        add_external(meeting, email=f"ext{n}@example.test")
    Circulation.objects.all().delete()
    agenda_circulate(meeting=meeting)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


@pytest.mark.django_db
def test_sweep_picks_due_scheduled_uncirculated_meetings(
    meeting, clinical_lead, practice_a, django_capture_on_commit_callbacks
):
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    Meeting.objects.filter(pk=meeting.pk).update(circulate_at=now - timedelta(minutes=1))
    later = make_meeting(
        chair=clinical_lead.user, practice=practice_a, starts_at=datetime(2025, 3, 11, 13, 0, tzinfo=UTC)
    )
    cancelled = make_meeting(
        chair=clinical_lead.user, practice=practice_a, starts_at=datetime(2025, 3, 18, 13, 0, tzinfo=UTC)
    )
    Meeting.objects.filter(pk=cancelled.pk).update(circulate_at=now, status=Meeting.Status.CANCELLED)
    done = make_meeting(
        chair=clinical_lead.user, practice=practice_a, starts_at=datetime(2025, 3, 25, 13, 0, tzinfo=UTC)
    )
    Meeting.objects.filter(pk=done.pk).update(circulate_at=now, circulated_at=now)
    assert later.circulate_at > now

    with (
        mock.patch("mdt.tasks.circulate_agenda_task.apply_async") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert circulation_sweep(now=now) == [meeting.pk]
    delay.assert_called_once_with(args=[meeting.pk])  # through the outbox


@pytest.mark.django_db
def test_sweep_remakes_an_upcoming_pack_the_agenda_has_outdated(meeting, django_capture_on_commit_callbacks):
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    Meeting.objects.filter(pk=meeting.pk).update(circulated_at=now)
    meeting_document_render(meeting=meeting, kind=MeetingDocument.Kind.AGENDA_PACK)
    with mock.patch("mdt.tasks.render_meeting_document_task.apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            circulation_sweep(now=now)
        delay.assert_not_called()  # current: nothing to do

        meeting.items.update(reason="Worse since the last meeting")
        with django_capture_on_commit_callbacks(execute=True):
            assert circulation_sweep(now=now) == []
    delay.assert_called_once_with(args=[meeting.pk, MeetingDocument.Kind.AGENDA_PACK, ""])
    assert MeetingDocument.objects.get(meeting=meeting).state == MeetingDocument.State.RENDERING


def test_the_sweep_is_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["mdt-circulate-agendas"]
    assert entry["task"] == circulation_sweep_task.name == "mdt.tasks.circulation_sweep_task"
    assert entry["schedule"].total_seconds() == 300
    assert circulate_agenda_task.acks_late is True


# --- The whole path: a real worker on Redis, a real SMTP server -----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """An SMTP server on 127.0.0.1 that keeps every message it receives."""

    class Keep:
        def __init__(self) -> None:
            self.messages: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
            return "250 OK"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_circulation_through_a_real_worker_and_smtp_server(meeting, smtp_server, tmp_path):
    controller, received = smtp_server
    meeting.series.attachments_to_external = True
    meeting.series.save()
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(controller.port), "EMAIL_USE_TLS": "0"}
    with celery_worker(tmp_path, name="mdt-test", **env) as worker:
        # Twice, as a redelivery (or the sweep and a second beat) would.
        circulate_agenda_task.delay(meeting.pk)
        circulate_agenda_task.delay(meeting.pk)
        worker.wait_until(
            lambda: (
                Circulation.objects.filter(sent_at__isnull=False).count() == 3 and len(received.messages) >= 3
            ),
            what="circulate",
        )
        # Let the second task run to the end too before counting.
        time.sleep(3)

    worker_log = worker.log()
    ours = [
        line for line in worker_log.splitlines() if "circulate_agenda_task" in line and "succeeded" in line
    ]
    assert len(ours) == 2, worker_log
    recipients = sorted(address for rcpt_tos, _ in received.messages for address in rcpt_tos)
    assert recipients == ["cara@example.test", "dn@community.example.test", "liam@example.test"]
    by_address = {rcpt_tos[0]: message_from_bytes(raw) for rcpt_tos, raw in received.messages}
    pdfs = {
        a: [p.get_filename() for p in m.walk() if p.get_content_type() == "application/pdf"]
        for a, m in by_address.items()
    }
    assert pdfs == {
        "cara@example.test": [],
        "liam@example.test": [],
        "dn@community.example.test": ["Care home MDT 2025-03-04 agenda.pdf"],
    }
    meeting.refresh_from_db()
    assert meeting.circulated_at is not None
