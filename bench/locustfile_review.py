"""Locust users of the review-app benchmark (:mod:`bench.bench_review` starts locust with it).

Each simulated enforcement officer logs in once, then browses the queue
(random pages, filters and sorts), opens cases (mostly near the top of the
queue, as teams work it) and records actions (assign, schedule, note,
outcome). An action that meets a concurrent one (HTTP 409) is an expected
outcome of optimistic concurrency, not an error: it is reported under its
own name. A login answered 429 (the throttle counts logins in flight from
one address) is retried after its ``Retry-After``; the login time includes
the waits. Every action the server accepted (303) is appended to
``$BENCH_REVIEW_ACTIONS`` as ``meter_id,version`` so the benchmark can check
afterwards that each one is in the reviews table and the audit log.

Environment: ``BENCH_REVIEW_USERS`` (comma-separated user names),
``BENCH_REVIEW_PASSWORD``, ``BENCH_REVIEW_ACTIONS`` (output file),
``BENCH_REVIEW_METERS`` (meter ids with flags, best rank first),
``BENCH_REVIEW_DISTRICTS`` (comma-separated), ``BENCH_REVIEW_THINK`` ("lo,hi"
seconds of think time between actions), ``BENCH_REVIEW_TODAY`` (ISO date),
``BENCH_REVIEW_N_USERS`` and ``BENCH_REVIEW_SECONDS`` (the measured window
starts when all users are logged in and lasts this long), ``BENCH_REVIEW_LOGINS``
(file for the login times [ms]).
"""

from __future__ import annotations

import itertools
import os
import random
import re
import threading
import time
from urllib.parse import quote

import gevent
from gevent.event import Event
from locust import HttpUser, between, events, task

USERS = os.environ.get("BENCH_REVIEW_USERS", "").split(",")
PASSWORD = os.environ.get("BENCH_REVIEW_PASSWORD", "")
ACTIONS_FILE = os.environ.get("BENCH_REVIEW_ACTIONS", "actions.csv")
DISTRICTS = [d for d in os.environ.get("BENCH_REVIEW_DISTRICTS", "").split(",") if d]
TODAY = os.environ.get("BENCH_REVIEW_TODAY", "2023-12-01")
with open(os.environ.get("BENCH_REVIEW_METERS", "meters.txt"), encoding="utf-8") as _f:
    METERS = [line.strip() for line in _f if line.strip()]
_lo, _hi = (float(x) for x in os.environ.get("BENCH_REVIEW_THINK", "1,3").split(","))
N_USERS = int(os.environ.get("BENCH_REVIEW_N_USERS", "1"))
MEASURE_S = float(os.environ.get("BENCH_REVIEW_SECONDS", "60"))
LOGINS_FILE = os.environ.get("BENCH_REVIEW_LOGINS", "logins.json")
#: Login attempts of one officer before giving up (each 429 waits its Retry-After).
LOGIN_TRIES = 8

# The measured window starts when the last officer has logged in: statistics are
# reset then, and locust stops MEASURE_S later. Login times are kept apart.
_login_ms: list[float] = []
_everyone_in = Event()

_names = itertools.cycle(USERS)
_write_lock = threading.Lock()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
SORTS = ["rank", "rank", "rank", "score", "district", "status", "assignee", "class"]
ACTIONS = ["assign", "schedule", "note", "outcome"]


def _meter() -> str:
    # Teams work from the top of the queue: rank r is picked with weight ~ 1/r.
    i = int(random.paretovariate(1.2)) - 1
    return METERS[min(i, len(METERS) - 1)] if random.random() < 0.9 else random.choice(METERS)


class Officer(HttpUser):
    wait_time = between(_lo, _hi)

    def on_start(self):
        self.name = next(_names)
        started = time.perf_counter()
        for _ in range(LOGIN_TRIES):
            page = self.client.get("/login", name="GET /login")
            token = CSRF.search(page.text).group(1)
            r = self.client.post(
                "/login",
                data={"name": self.name, "password": PASSWORD, "csrf_token": token},
                name="POST /login",
                allow_redirects=False,
            )
            if r.status_code != 429:
                break
            # The throttle counts logins in flight from one address: wait as told,
            # as a browser user would, and try again.
            gevent.sleep(min(float(r.headers.get("Retry-After", "5")), 60.0))
        if r.status_code != 303:
            raise RuntimeError(f"login of {self.name} failed: HTTP {r.status_code}")
        _login_ms.append((time.perf_counter() - started) * 1000)
        if len(_login_ms) == N_USERS:
            self.environment.runner.stats.reset_all()
            gevent.spawn_later(MEASURE_S, self.environment.runner.quit)
            _everyone_in.set()
        _everyone_in.wait()
        # Spread the first steps instead of 50 officers clicking at the same instant.
        gevent.sleep(random.uniform(0, _hi))

    @task(5)
    def queue(self):
        params = {"page": str(random.choice([1, 1, 1, 2, 3, random.randint(1, 2000)]))}
        if random.random() < 0.3 and DISTRICTS:
            params["district"] = random.choice(DISTRICTS)
        if random.random() < 0.2:
            params["status"] = random.choice(["open", "new", "assigned", "confirmed"])
        if random.random() < 0.1:
            params["assignee"] = self.name
        if random.random() < 0.15:
            params["score_min"] = "0.8"
        sort = random.choice(SORTS)
        if sort != "rank":
            params["sort"] = sort
            params["desc"] = random.choice(["0", "1"])
        self.client.get("/queue", params=params, name="GET /queue")

    @task(4)
    def case(self):
        self.client.get("/cases/" + quote(_meter(), safe=""), name="GET /cases/{id}")

    @task(1)
    def act(self):
        meter = _meter()
        url = "/cases/" + quote(meter, safe="")
        page = self.client.get(url, name="GET /cases/{id}")
        token, version = CSRF.search(page.text), VERSION.search(page.text)
        if not (token and version):
            return
        action = random.choice(ACTIONS)
        data = {"csrf_token": token.group(1), "action": action, "version": version.group(1)}
        if action == "assign":
            data["assignee"] = random.choice(USERS)
        elif action == "schedule":
            data["date"] = TODAY
        elif action == "outcome":
            data.update(outcome=random.choice(["mining", "not_mining", "no_access"]), date=TODAY)
        data["note"] = f"load test {action} by {self.name}"
        with self.client.post(
            url, data=data, name="POST /cases/{id}", allow_redirects=False, catch_response=True
        ) as r:
            if r.status_code == 303:
                r.success()
                with _write_lock, open(ACTIONS_FILE, "a", encoding="utf-8") as f:
                    f.write(f"{meter},{version.group(1)}\n")
            elif r.status_code == 409:
                # Someone else acted on this version first: the app said so and saved
                # nothing. Expected under concurrency; reported under its own name.
                r.request_meta["name"] = "POST /cases/{id} (409 conflict)"
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")


@events.quitting.add_listener
def _save_logins(environment, **kw):
    import json

    with open(LOGINS_FILE, "w", encoding="utf-8") as f:
        json.dump(_login_ms, f)
