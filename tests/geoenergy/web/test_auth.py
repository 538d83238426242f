"""Users, Argon2 passwords and rate-limited logins, without HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from geoenergy.store import AuditLog, LoginAttempt, Store, User
from geoenergy.web.auth import (
    AuthError,
    LoginLimits,
    LoginRateLimitError,
    UserError,
    add_user,
    authenticate,
    check_user_name,
    deactivate_user,
    hash_password,
    list_users,
    set_password,
)

PW = "a long enough passphrase"
T0 = dt.datetime(2023, 11, 25, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(make_ws):
    with Store.for_workspace(make_ws()) as store:
        yield store


@pytest.fixture
def hasher(kit):
    return kit.cheap_hasher()


def test_add_list_deactivate(store, hasher):
    add_user(store, "李四", "enforcement", PW, actor="cli:root", hasher=hasher)
    add_user(store, "ana", "analyst", PW, hasher=hasher)
    assert [(u["name"], u["role"], u["active"]) for u in list_users(store)] == [
        ("ana", "analyst", True),
        ("李四", "enforcement", True),
    ]
    assert deactivate_user(store, "李四")["active"] is False
    with store.session() as s:
        trail = s.execute(
            sa.select(AuditLog.actor, AuditLog.action, AuditLog.before, AuditLog.after)
            .where(AuditLog.entity == "users")
            .order_by(AuditLog.id)
        ).all()
    assert [(a, b) for a, b, _, _ in trail] == [
        ("cli:root", "user.add"),
        ("cli", "user.add"),
        ("cli", "user.deactivate"),
    ]
    assert trail[2].before["active"] is True and trail[2].after["active"] is False
    assert "hash" not in repr(trail) and PW not in repr(trail)


@pytest.mark.parametrize(
    ("name", "role", "password", "error", "words"),
    [
        ("", "admin", PW, UserError, "use 1 to 64"),
        ("x" * 65, "admin", PW, UserError, "use 1 to 64"),
        (" eve", "admin", PW, UserError, "starts or ends with a space"),
        ("eve\n", "admin", PW, UserError, "starts or ends with a space"),
        ("e\x00ve", "admin", PW, UserError, "control or unassigned"),
        ("eve", "superuser", PW, UserError, "not a role; use one of admin, enforcement"),
        ("eve", "admin", "short", UserError, "use at least 10"),
        ("eve", "admin", 1234567890123, TypeError, "password must be a str"),
        (42, "admin", PW, TypeError, "user name must be a str"),
    ],
)
def test_add_user_checks_its_input(store, hasher, name, role, password, error, words):
    with pytest.raises(error, match=words):
        add_user(store, name, role, password, hasher=hasher)


def test_duplicate_and_unknown_users(store, hasher):
    add_user(store, "eve", "enforcement", PW, hasher=hasher)
    with pytest.raises(UserError, match="exists already"):
        add_user(store, "eve", "analyst", PW, hasher=hasher)
    with pytest.raises(UserError, match="no user 'bob'"):
        deactivate_user(store, "bob")
    with pytest.raises(UserError, match="no user 'bob'"):
        set_password(store, "bob", PW, hasher=hasher)


def test_payload_names_are_valid_names(store, hasher):
    """Any printable text is a name; the app escapes it where shown."""
    for name in ("<script>alert(1)</script>", "'; DROP TABLE users; --", "王 小明"):
        assert check_user_name(name) == name
        add_user(store, name, "analyst", PW, hasher=hasher)
    assert len(list_users(store)) == 3


def test_hash_is_argon2id_and_salted(hasher):
    a, b = hash_password(PW, hasher=hasher), hash_password(PW, hasher=hasher)
    assert a.startswith("$argon2id$") and a != b and PW not in a


def test_authenticate(store, hasher):
    add_user(store, "eve", "enforcement", PW, hasher=hasher)
    user = authenticate(store, "eve", PW, "10.0.0.1", now=T0, hasher=hasher)
    assert (user.name, user.role) == ("eve", "enforcement")
    for name, password in (("eve", PW + "x"), ("nobody", PW), ("eve", ""), ("", PW)):
        with pytest.raises(AuthError, match="wrong user name or password"):
            authenticate(store, name, password, "10.0.0.1", now=T0, hasher=hasher)
    deactivate_user(store, "eve")
    with pytest.raises(AuthError):
        authenticate(store, "eve", PW, "10.0.0.1", now=T0, hasher=hasher)


def test_rate_limit_per_name_and_window(store, hasher):
    """Free failures, then a wait after the latest one; refused attempts are not failures."""
    add_user(store, "eve", "enforcement", PW, hasher=hasher)
    limits = LoginLimits(per_name=3, per_address=100, window=dt.timedelta(minutes=15))
    for i in range(3):
        with pytest.raises(AuthError):
            authenticate(
                store, "eve", "wrong!", "10.0.0.1", limits=limits, now=T0 + dt.timedelta(minutes=i)
            )
    # The latest failure was at +2 min; the 4th attempt must wait `delay` (30 s) after it.
    for seconds in (0, 10, 29):
        with pytest.raises(LoginRateLimitError, match="too many failed logins") as info:
            authenticate(
                store,
                "eve",
                PW,
                "10.0.0.2",
                limits=limits,
                now=T0 + dt.timedelta(minutes=2, seconds=seconds),
            )
        assert info.value.retry_after_s == 30 - seconds
    # The three refusals were not recorded, so the wait did not grow.
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count(LoginAttempt.id))) == 3
    ok = authenticate(
        store, "eve", PW, "10.0.0.1", limits=limits, now=T0 + dt.timedelta(minutes=2, seconds=30)
    )
    assert ok.name == "eve"


def test_rate_limit_per_address(store, hasher):
    add_user(store, "eve", "enforcement", PW, hasher=hasher)
    limits = LoginLimits(per_name=100, per_address=4)
    for i in range(4):
        with pytest.raises(AuthError):
            authenticate(store, f"guess{i}", "wrong!", "10.9.9.9", limits=limits, now=T0)
    with pytest.raises(LoginRateLimitError):
        authenticate(store, "eve", PW, "10.9.9.9", limits=limits, now=T0)
    assert authenticate(store, "eve", PW, "10.0.0.1", limits=limits, now=T0).name == "eve"


def test_long_names_are_recorded_cut_not_crashing(store, hasher):
    with pytest.raises(AuthError):
        authenticate(store, "n" * 500, "p" * 5000, "a" * 300, now=T0, hasher=hasher)


def test_weak_hash_is_upgraded_at_login(store, hasher):
    from argon2 import PasswordHasher

    add_user(store, "eve", "enforcement", PW, hasher=hasher)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    authenticate(store, "eve", PW, "10.0.0.1", now=T0, hasher=stronger)
    with store.session() as s:
        new_hash = s.scalar(sa.select(User.password_hash))
    assert "m=2048,t=2" in new_hash


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"per_name": 0}, "per_name must be a positive integer"),
        ({"per_address": 1.5}, "per_address must be a positive integer"),
        ({"window": 900}, "window must be a positive datetime.timedelta"),
    ],
)
def test_login_limits_checks(kw, words):
    with pytest.raises(ValueError, match=words):
        LoginLimits(**kw)
