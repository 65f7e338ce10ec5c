"""The traffic of `make load`: readers, researchers and editors of the ledger in one user.

Each simulated user reads pledge lists and pledges, asks for totals and small CSV exports, and,
as an editor with its own API token, creates pledges and changes the ones it created, each
change with the ETag it last read in `If-Match`. Every request, and every write with its
outcome, goes to the journal (LOAD_JOURNAL, one JSON object a line): benchmarks/load/run.py
computes the figures from it and checks the writes against the database.

Run by benchmarks/load/run.py, which sets LOAD_JOURNAL, LOAD_TOKENS (a file, one API token a
line), LOAD_RUN (this run's marker), LOAD_PLEDGES and LOAD_SOURCES (the synthetic ledger's ids).
"""

import datetime
import itertools
import json
import os
import random
import uuid
from pathlib import Path

from locust import FastHttpUser, between, events, task

JOURNAL = open(os.environ["LOAD_JOURNAL"], "a", buffering=1)  # noqa: SIM115 (open for the run)
TOKENS = Path(os.environ["LOAD_TOKENS"]).read_text().split()
RUN = os.environ["LOAD_RUN"]
PLEDGES = int(os.environ["LOAD_PLEDGES"])
SOURCES = int(os.environ["LOAD_SOURCES"])
# Donors of the synthetic ledger (benchmarks/synthetic.py): big ones for lists and totals, small
# ones (tens of lines each) for the CSV exports a researcher downloads.
DONORS = ["US", "GB", "DE", "PL", "FR", "CA", "NL", "DK", "SE", "NO"]
SMALL_DONORS = ["EE", "LT", "AU", "JP", "BE", "ES", "PT", "IE"]
GROUPINGS = [
    "group_by=donor",
    "group_by=category&category_level=1",
    "group_by=donor,period&period=quarter",
    "group_by=category,period&measure=quantity",
]
numbers = itertools.count()


def record(**entry) -> None:
    JOURNAL.write(json.dumps(entry) + "\n")


@events.request.add_listener
def journal_request(name, response_time, response, exception, start_time, **kwargs):
    """Every request with its start, duration and status; a failure with what it answered."""
    entry = {"name": name, "t": start_time, "ms": round(response_time, 1)}
    entry["status"] = getattr(response, "status_code", 0) or 0
    if exception is not None:
        entry["error"] = str(exception)[:200]
        try:
            entry["body"] = (response.text or "")[:300]
            entry["type"] = response.headers.get("Content-Type", "")
        except Exception:  # no response at all: the connection failed or was cut
            entry["body"] = ""
    record(**entry)


class LedgerUser(FastHttpUser):
    """A reader who also edits: most requests read, about one in five writes."""

    wait_time = between(0.2, 1.0)
    network_timeout = 30.0  # gunicorn's own worker timeout: a hung worker shows as an error
    connection_timeout = 10.0

    def on_start(self):
        number = next(numbers)
        self.auth = {"Authorization": f"Token {TOKENS[number % len(TOKENS)]}"}
        self.mine: list[int] = []  # pledges this user created: only it changes them

    @task(3)
    def pledge_list(self):
        donor = random.choice(DONORS)
        self.client.get(f"/api/v1/pledges/?donor={donor}&page_size=20", name="pledges: list")

    @task(3)
    def pledge_detail(self):
        self.client.get(f"/api/v1/pledges/{random.randint(1, PLEDGES)}/", name="pledges: detail")

    @task(2)
    def line_list(self):
        donor, year = random.choice(DONORS), random.randint(2022, 2025)
        self.client.get(
            f"/api/v1/lines/?donor={donor}&announced_after={year}-01-01"
            f"&announced_before={year}-12-31",
            name="lines: list",
        )

    @task(2)
    def totals(self):
        grouping = random.choice(GROUPINGS)
        donor = f"&donor={random.choice(DONORS)}" if random.random() < 0.5 else ""
        self.client.get(f"/api/v1/totals/?{grouping}{donor}", name="totals")

    @task(1)
    def csv_export(self):
        donor = random.choice(SMALL_DONORS)
        self.client.get(f"/api/v1/lines/?format=csv&donor={donor}", name="lines: CSV export")

    @task(2)
    def create(self):
        marker = f"load {RUN} {uuid.uuid4().hex}"
        record(write="create", marker=marker, sent=True)
        day = datetime.date(2022, 3, 1) + datetime.timedelta(days=random.randrange(1000))
        pledge = {
            "donor": random.choice(DONORS),
            "recipient": "UA",
            "announced_on": day.isoformat(),
            "date_precision": "day",
            "notes": marker,
            "lines": [
                {"item": "FPV drones", "category": "drones", "quantity": random.randint(1, 999)},
                {"item": "155mm artillery rounds", "category": "ammunition", "unit": "rounds"},
            ],
            "sources": [{"source": random.randint(1, SOURCES), "role": "announcement"}],
        }
        with self.client.post(
            "/api/v1/pledges/",
            json=pledge,
            headers=self.auth,
            name="pledges: create",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                self.mine.append(response.json()["id"])
                record(write="create", marker=marker, ok=True, id=self.mine[-1])
            else:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                record(write="create", marker=marker, ok=False, status=response.status_code)

    @task(1)
    def update(self):
        if not self.mine:
            return
        pledge = random.choice(self.mine)
        url = f"/api/v1/pledges/{pledge}/"
        read = self.client.get(url, headers=self.auth, name="pledges: read to update")
        if read.status_code != 200:
            return
        change = {"package": f"load update {next(numbers)}"}
        with self.client.patch(
            url,
            json=change,
            headers={**self.auth, "If-Match": read.headers["ETag"]},
            name="pledges: update (If-Match)",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                version = int(response.headers["ETag"].strip('"').rsplit("-v", 1)[1])
                record(write="update", id=pledge, ok=True, version=version)
            else:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                record(write="update", id=pledge, ok=False, status=response.status_code)
