"""Login throttling under concurrency, unlocking, and sessions ending on account changes.

Runs on SpatiaLite and PostGIS (``web_ws``). The Argon2 verifications are
counted with a hasher that counts its ``verify`` calls: that is the work an
attacker gets out of a burst of guesses.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from geoenergy.store import AuditLog, LoginAttempt, Store
from geoenergy.web.auth import (
    AuthError,
    LoginLimits,
    LoginRateLimitError,
    authenticate,
    set_password,
    set_role,
    unlock_user,
)

PASSWORD = "correct horse battery staple"  # the fixture users' password
T0 = dt.datetime(2023, 11, 25, 8, 0, tzinfo=dt.UTC)


class CountingHasher(PasswordHasher):
    """A cheap Argon2 hasher that counts password verifications."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash, password):
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def store(web_ws):
    with Store.for_workspace(web_ws) as store:
        yield store


def _burst(store, attempts, limits, hasher):
    """Run ``attempts`` [(name, password, addr)] at once; the outcome of each, in order."""
    barrier = threading.Barrier(len(attempts))

    def one(args):
        name, password, addr = args
        barrier.wait()
        try:
            return authenticate(store, name, password, addr, limits=limits, hasher=hasher).name
        except LoginRateLimitError:
            return "throttled"
        except AuthError:
            return "refused"

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, attempts))


def _failures(store, **where):
    with store.session() as s:
        stmt = sa.select(sa.func.count(LoginAttempt.id)).where(LoginAttempt.success.is_(False))
        for k, v in where.items():
            stmt = stmt.where(getattr(LoginAttempt, k) == v)
        return s.scalar(stmt)


def test_40_parallel_wrong_passwords_are_verified_at_most_the_limit(store):
    hasher = CountingHasher()
    limits = LoginLimits(per_name=5, per_address=1000)
    # From 40 addresses: only the per-name limit applies.
    out = _burst(
        store, [("eve", "guess guess!", f"10.0.0.{i}") for i in range(40)], limits, hasher
    )
    assert hasher.verified == 5
    assert out.count("refused") == 5 and out.count("throttled") == 35
    # Only the verified attempts are failures; the throttled ones left no row.
    assert _failures(store, name="eve") == 5


def test_40_parallel_guesses_from_one_address_are_verified_at_most_its_limit(store):
    hasher = CountingHasher()
    limits = LoginLimits(per_name=1000, per_address=20)
    out = _burst(
        store, [(f"user{i}", "guess guess!", "10.6.6.6") for i in range(40)], limits, hasher
    )
    assert hasher.verified == 20 and out.count("throttled") == 20
    assert _failures(store, remote_addr="10.6.6.6") == 20


def test_right_password_among_29_wrong_does_not_log_in_once_the_limit_is_hit(store):
    hasher = CountingHasher()
    limits = LoginLimits(per_name=5, per_address=1000)
    for i in range(5):
        with pytest.raises(AuthError):
            authenticate(store, "eve", "guess guess!", f"10.1.0.{i}", limits=limits, hasher=hasher)
    hasher.verified = 0
    attempts = [("eve", "guess guess!", f"10.2.0.{i}") for i in range(29)]
    attempts.insert(17, ("eve", PASSWORD, "10.3.0.1"))
    out = _burst(store, attempts, limits, hasher)
    assert out == ["throttled"] * 30
    assert hasher.verified == 0


def test_right_password_in_a_parallel_burst_gets_at_most_a_fair_slot(store):
    """Without earlier failures, 30 attempts at once share the 5 free slots: the right
    password logs in only if it holds one. Its success clears the name's failures
    (the user proved who they are), so the attempts after it get 5 slots again."""
    hasher = CountingHasher()
    limits = LoginLimits(per_name=5, per_address=1000)
    attempts = [("eve", "guess guess!", f"10.2.0.{i}") for i in range(29)]
    attempts.insert(3, ("eve", PASSWORD, "10.3.0.1"))
    out = _burst(store, attempts, limits, hasher)
    assert hasher.verified <= (10 if "eve" in out else 5)
    assert out.count("eve") + out.count("refused") == hasher.verified


def test_delays_double_per_failure_up_to_the_cap(store):
    limits = LoginLimits(
        per_name=2,
        per_address=1000,
        window=dt.timedelta(days=1),
        delay=dt.timedelta(seconds=10),
        max_delay=dt.timedelta(seconds=60),
    )
    assert [limits.wait(n).total_seconds() for n in range(-1, 6)] == [0, 10, 20, 40, 60, 60, 60]
    hasher = CountingHasher()
    t = T0
    waits = []
    for _ in range(8):
        try:
            authenticate(
                store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, now=t, hasher=hasher
            )
        except LoginRateLimitError as exc:
            waits.append(exc.retry_after_s)
            t += dt.timedelta(seconds=exc.retry_after_s)
            with pytest.raises(AuthError):  # allowed exactly when told
                authenticate(
                    store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, now=t, hasher=hasher
                )
        except AuthError:
            pass
    assert waits == [10, 20, 40, 60, 60, 60]


def test_failures_leave_the_window(store):
    limits = LoginLimits(per_name=2, per_address=1000, window=dt.timedelta(minutes=10))
    hasher = CountingHasher()
    for _ in range(2):
        with pytest.raises(AuthError):
            authenticate(
                store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, now=T0, hasher=hasher
            )
    with pytest.raises(LoginRateLimitError):
        authenticate(store, "eve", PASSWORD, "10.0.0.1", limits=limits, now=T0, hasher=hasher)
    later = T0 + dt.timedelta(minutes=10, seconds=1)
    assert authenticate(
        store, "eve", PASSWORD, "10.0.0.1", limits=limits, now=later, hasher=hasher
    )


def test_a_success_clears_the_name_but_not_the_address(store):
    limits = LoginLimits(per_name=3, per_address=4)
    hasher = CountingHasher()
    for _ in range(3):
        with pytest.raises(AuthError):
            authenticate(store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, hasher=hasher)
    # The name's wait is over only after `delay`; but from its own user's success on:
    with pytest.raises(LoginRateLimitError):
        authenticate(store, "eve", PASSWORD, "10.0.0.2", limits=limits, hasher=hasher)
    unlock_user(store, "eve")
    assert authenticate(store, "eve", PASSWORD, "10.0.0.2", limits=limits, hasher=hasher)
    # Three free failures again for the name, but the address has one left.
    with pytest.raises(AuthError):
        authenticate(store, "eve", "wrong wrong!", "10.0.0.1", limits=limits, hasher=hasher)
    with pytest.raises(LoginRateLimitError):
        authenticate(store, "ed", PASSWORD, "10.0.0.1", limits=limits, hasher=hasher)


def test_unlock_user_clears_failures_keeps_the_log_and_is_audited(store):
    limits = LoginLimits(per_name=5, per_address=1000)
    hasher = CountingHasher()
    _burst(store, [("eve", "guess guess!", f"10.0.0.{i}") for i in range(10)], limits, hasher)
    with pytest.raises(LoginRateLimitError):
        authenticate(store, "eve", PASSWORD, "10.9.0.1", limits=limits, hasher=hasher)
    assert unlock_user(store, "eve", actor="cli:root") == 5
    assert authenticate(store, "eve", PASSWORD, "10.9.0.1", limits=limits, hasher=hasher).name
    assert _failures(store, name="eve") == 5  # the security log keeps them
    with store.session() as s:
        entry = s.execute(
            sa.select(AuditLog.actor, AuditLog.after).where(AuditLog.action == "user.unlock")
        ).one()
    assert entry.actor == "cli:root" and entry.after == {"failures_cleared": 5}
    assert unlock_user(store, "nobody") == 0


# -- sessions end when the account changes ---------------------------------------------


def test_old_session_fails_after_a_password_change(client_for, kit, web_ws):
    client = client_for(name="ed")
    other_device = client_for(name="ed")
    assert client.get("/queue").status_code == 200
    with Store.for_workspace(web_ws) as store:
        set_password(store, "ed", "a brand new passphrase", hasher=kit.cheap_hasher())
    for c in (client, other_device):
        r = c.get("/queue", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert kit.login(client, "ed").status_code == 401
    assert kit.login(client, "ed", password="a brand new passphrase").status_code == 303
    assert client.get("/queue").status_code == 200


def test_old_session_fails_after_a_role_change(client_for, kit, web_ws):
    client = client_for(name="ed")
    assert client.get("/queue").status_code == 200
    with Store.for_workspace(web_ws) as store:
        assert set_role(store, "ed", "analyst", actor="cli:root")["role"] == "analyst"
        with store.session() as s:
            assert s.scalar(sa.select(AuditLog.action).where(AuditLog.entity_id == "ed")) == (
                "user.role"
            )
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_http_burst_of_logins_is_throttled(web_app, kit, web_ws):
    """The same over HTTP: 40 clients post a wrong password for one name at once."""
    from fastapi.testclient import TestClient

    clients = [TestClient(web_app) for _ in range(40)]
    tokens = [kit.csrf_of(c.get("/login").text) for c in clients]
    barrier = threading.Barrier(len(clients))

    def post(i):
        barrier.wait()
        data = {"name": "eve", "password": "guess guess guess", "csrf_token": tokens[i]}
        return clients[i].post("/login", data=data, follow_redirects=False).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(post, range(len(clients))))
    assert codes.count(401) == 5 and codes.count(429) == 35
    for c in clients:
        c.close()
