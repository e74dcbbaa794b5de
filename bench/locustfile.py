"""Locust users for ``bench/load_bench.py``: professionals and clients using Polku as they would in a working day.

Read by ``locust`` (not by pytest). The users and the clients each professional may open come from the JSON file
that ``load_bench.py prepare`` writes (``POLKU_LOAD_USERS``). Every request is also appended to a CSV file
(``POLKU_LOAD_LOG``): the time it started, its name, status and duration, and for a client's message the token it
carried, so the driver can compute percentiles per period and check that every acknowledged write is in the
database afterwards.

* **Professional** (coordinators, social workers, health professionals, Kela experts and provider workers): the
  front page (worklist and caseload), a client's page, the referral inbox, a client search, a client and the
  worklist over the API.
* **Client**: the portal's front page, the plan, messages (reads and sends a message), who has seen my data.

Between two actions a person waits 1–5 seconds (reading, typing): 200 users make about 60 requests a second.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import threading
import uuid
from typing import Any

from locust import HttpUser, between, events, task

USERS = json.loads(open(os.environ["POLKU_LOAD_USERS"], encoding="utf-8").read())  # noqa: SIM115
PASSWORD = USERS["password"]
STAFF = itertools.cycle(USERS["staff"])
CLIENTS = itertools.cycle(USERS["clients"])
PICK = threading.Lock()
LOG_PATH = os.environ.get("POLKU_LOAD_LOG", "load-requests.csv")
LOG = open(LOG_PATH, "a", newline="", encoding="utf-8")  # noqa: SIM115 - open for the whole run
WRITER = csv.writer(LOG)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@events.request.add_listener
def _log_request(request_type: str, name: str, response_time: float, response_length: int, response: Any,
                 context: dict[str, Any], exception: Exception | None, start_time: float, **_: Any) -> None:
    status = getattr(response, "status_code", 0) if response is not None else 0
    WRITER.writerow([f"{start_time:.3f}", request_type, name, status, f"{response_time:.1f}",
                     "error" if exception else "ok", (context or {}).get("token", ""),
                     f"{type(exception).__name__}: {str(exception)[:160]}" if exception else ""])


@events.quitting.add_listener
def _close(**_: Any) -> None:
    LOG.flush()


class Person(HttpUser):
    abstract = True
    # Each person's pause between actions, in seconds (reading a page, typing): ``POLKU_LOAD_THINK`` = "MIN,MAX".
    wait_time = between(*(float(x) for x in os.environ.get("POLKU_LOAD_THINK", "10,30").split(",")))
    account: dict[str, Any]

    def _sign_in(self, username: str) -> None:
        page = self.client.get("/login/", name="sign-in form")
        match = CSRF.search(page.text or "")
        token = match.group(1) if match else ""
        self.client.post("/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                         headers={"Referer": f"{self.host}/login/"}, name="sign in", allow_redirects=False)

    def _csrf(self, path: str, name: str) -> str:
        page = self.client.get(path, name=name)
        match = CSRF.search(page.text or "")
        return match.group(1) if match else ""


class Professional(Person):
    weight = 3

    def on_start(self) -> None:
        with PICK:
            self.account = next(STAFF)
        self._sign_in(self.account["username"])

    def _client_id(self) -> int:
        return int(random.choice(self.account["clients"]))

    @task(3)
    def front_page(self) -> None:
        self.client.get("/", name="staff: front page (worklist, caseload)")

    @task(4)
    def client_page(self) -> None:
        self.client.get(f"/clients/{self._client_id()}/", name="staff: client page")

    @task(1)
    def referrals(self) -> None:
        self.client.get("/referrals/", name="staff: referrals")

    @task(1)
    def search(self) -> None:
        self.client.get("/clients/", params={"q": random.choice(self.account["search"])}, name="staff: client search")

    @task(1)
    def api_client(self) -> None:
        self.client.get(f"/api/v1/clients/{self._client_id()}", name="api: a client")

    @task(1)
    def api_worklist(self) -> None:
        self.client.get("/api/v1/alerts/worklist", name="api: worklist")


class ClientPerson(Person):
    weight = 1

    def on_start(self) -> None:
        with PICK:
            self.account = next(CLIENTS)
        self._sign_in(self.account["username"])

    @task(3)
    def home(self) -> None:
        self.client.get("/me/", name="client: my page")

    @task(2)
    def plan(self) -> None:
        self.client.get("/me/plan/", name="client: my plan")

    @task(1)
    def log(self) -> None:
        self.client.get("/me/log/", name="client: who has seen my data")

    @task(1)
    def send_message(self) -> None:
        csrf = self._csrf("/me/messages/", "client: messages")
        token = uuid.uuid4().hex
        with self.client.post("/me/messages/", {"body": f"Kysymys ajasta {token}", "csrfmiddlewaretoken": csrf},
                              headers={"Referer": f"{self.host}/me/messages/"}, name="client: send a message",
                              allow_redirects=False, catch_response=True, context={"token": token}) as response:
            # Sent: 302 back to the thread. Anything else (a form error, 503) is a failure, and not acknowledged.
            if response.status_code == 302:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
