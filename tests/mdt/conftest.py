"""The meeting most MDT tests work on: chaired by the clinical lead at practice A, with the coordinator
as a member; `item` puts the named patient on its agenda. A module that needs another meeting
defines its own `meeting`."""

import pytest

from tests.mdt.minutes_fixtures import add_item, make_meeting


@pytest.fixture
def meeting(clinical_lead, coordinator, practice_a):
    return make_meeting(chair=clinical_lead.user, practice=practice_a, members=[coordinator.user])


@pytest.fixture
def item(meeting, patient):
    return add_item(meeting, patient)
