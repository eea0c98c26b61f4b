"""The load test's users (bench/load/run.py starts it): each is a signed-in PCN user — a session made by
the runner — who opens patient pages, care plans, lists and MDT agendas at a person's pace.

Locust (a maintained load tool) reads this file itself; the runner hands it the sessions and the pages
to open in a JSON file named by LOAD_PLAN.
"""

import json
import os
import random
from itertools import cycle

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 — read once at start
USERS = cycle(PLAN["users"])  # each: a session and the pages of its practice


class PcnUser(HttpUser):
    wait_time = between(1, 3)  # a person reading a page before the next

    def on_start(self) -> None:
        self.pages = next(USERS)
        self.client.cookies.set(PLAN["cookie"], self.pages["session"])

    def _get(self, group: str, url: str) -> None:
        with self.client.get(url, name=group, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    @task(4)
    def patient_page(self) -> None:
        self._get("patient page", f"/patients/{random.choice(self.pages['patients'])}/")

    @task(2)
    def care_plan(self) -> None:
        self._get("care plan page", f"/care-plans/patients/{random.choice(self.pages['plans'])}/")

    @task(3)
    def a_list(self) -> None:
        self._get("lists", random.choice(self.pages["lists"]))

    @task(1)
    def agenda(self) -> None:
        self._get("MDT agenda", f"/mdt/meetings/{random.choice(self.pages['meetings'])}/")
