"""Users, passwords and logins of the review app.

Passwords are stored only as Argon2id hashes (argon2-cffi's defaults, RFC
9106's second recommended profile) and never logged. Logins are rate limited
from the ``login_attempts`` table, so the limit holds across the processes of
a multi-worker server and across restarts. Creating and deactivating users
writes the audit log; the hash never appears in it.

References
----------
.. [1] A. Biryukov, D. Dinu, D. Khovratovich, S. Josefsson, "Argon2
   Memory-Hard Function for Password Hashing and Proof-of-Work
   Applications", RFC 9106, 2021, section 4.
.. [2] OWASP Authentication Cheat Sheet, "Protect against automated
   attacks" (account lockout after a small number of failures per window).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError
from geoenergy.store import USER_ROLES, LoginAttempt, User, record_audit, utcnow

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AuthError",
    "LoginLimits",
    "LoginRateLimitError",
    "SessionUser",
    "UserError",
    "add_user",
    "authenticate",
    "deactivate_user",
    "hash_password",
    "list_users",
    "set_password",
]

#: Shortest password ``add_user`` accepts. NIST SP 800-63B asks for at least 8;
#: 10 because these accounts open personal data.
MIN_PASSWORD_LENGTH = 10
#: Longest user name (the ``users.name`` column). [characters]
MAX_NAME_LENGTH = 64
#: Longest password accepted; Argon2 takes any length, this only bounds the work
#: an anonymous request can cause. [characters]
MAX_PASSWORD_LENGTH = 1024


class AuthError(GeoEnergyError):
    """Login refused: unknown user, wrong password or deactivated account.

    The message never says which, so it cannot be used to find user names.
    """

    def __init__(self):
        super().__init__("wrong user name or password.")


class LoginRateLimitError(GeoEnergyError):
    """Too many failed logins for this user name or from this address."""

    def __init__(self, retry_after_s: int, minutes: int):
        self.retry_after_s = retry_after_s
        super().__init__(
            f"too many failed logins; try again in {max(1, round(retry_after_s / 60))} "
            f"minute(s) (logins are blocked for {minutes} minutes after repeated failures)."
        )


class UserError(GeoEnergyError, ValueError):
    """A user name, role or password that cannot be used."""


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed before logins are refused.

    Parameters
    ----------
    per_name : int
        Failures allowed per user name within ``window``; the next attempt
        gets HTTP 429 until the oldest failure leaves the window.
    per_address : int
        Failures allowed per client address within ``window``. Higher than
        ``per_name`` because an office behind one NAT address shares it.
    window : datetime.timedelta
        The sliding window.

    References
    ----------
    .. [1] OWASP Authentication Cheat Sheet (account lockout).
    """

    per_name: int = 5
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)

    def __post_init__(self):
        for name in ("per_name", "per_address"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LoginLimits: {name} must be a positive integer, got {value!r}.")
        if not isinstance(self.window, dt.timedelta) or self.window <= dt.timedelta(0):
            raise ValueError(
                f"LoginLimits: window must be a positive datetime.timedelta, got {self.window!r}."
            )


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user of a request."""

    name: str
    role: str


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the review app needs argon2-cffi: `pip install 'argon2-cffi>=23.1'`."
        ) from None
    return PasswordHasher()


#: Password hashes computed at once per process. Each Argon2 computation holds
#: its memory cost (64 MiB by default) and saturates a core; a burst of logins
#: (a whole shift at 8:00) would otherwise take gigabytes and starve page requests.
MAX_CONCURRENT_HASHES = 2
_HASH_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

_DUMMY_HASHES: dict[tuple, str] = {}


def _dummy_hash(hasher) -> str:
    # Verifying against a real hash when the user does not exist takes as long
    # as a real check, so response times do not reveal which names exist.
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("not a password of anyone")
    return _DUMMY_HASHES[key]


def hash_password(password: str, *, hasher=None) -> str:
    """Argon2id hash of ``password`` (salted; the PHC string includes the parameters).

    Parameters
    ----------
    password : str
        The password, at least :data:`MIN_PASSWORD_LENGTH` characters.
    hasher : argon2.PasswordHasher, optional
        Another parameter set (tests use a cheap one); default argon2-cffi's.

    Returns
    -------
    str
        ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``.
    """
    _check_password(password)
    return (hasher or _hasher()).hash(password)


def _check_password(password) -> None:
    if not isinstance(password, str):
        raise TypeError(f"password must be a str, got {type(password).__name__}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"the password has {len(password)} characters; use at least "
            f"{MIN_PASSWORD_LENGTH} (a passphrase of several words is easiest)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(
            f"the password has {len(password)} characters; use at most {MAX_PASSWORD_LENGTH}."
        )


def check_user_name(name) -> str:
    """Check a user name: 1-64 printable characters, no leading/trailing space.

    Any script is allowed (Chinese names included); control characters are
    not, since they cannot be typed at the login form and would hide in logs.

    Returns
    -------
    str
        ``name`` unchanged.
    """
    if not isinstance(name, str):
        raise TypeError(f"user name must be a str, got {type(name).__name__}.")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise UserError(
            f"user name {name!r} has {len(name)} characters; use 1 to {MAX_NAME_LENGTH}."
        )
    if name != name.strip():
        raise UserError(f"user name {name!r} starts or ends with a space; remove it.")
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")]
    if bad:
        raise UserError(
            f"user name {name!r} contains control or unassigned characters {bad!r}; "
            f"use printable characters only."
        )
    return name


def _check_role(role) -> str:
    if role not in USER_ROLES:
        raise UserError(f"role {role!r} is not a role; use one of {', '.join(USER_ROLES)}.")
    return role


def add_user(store, name: str, role: str, password: str, *, actor: str = "cli", hasher=None):
    """Create a user of the review app.

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    name : str
        Unique user name (see :func:`check_user_name`).
    role : str
        One of :data:`geoenergy.store.USER_ROLES`; see
        :data:`geoenergy.web.roles.PERMISSIONS` for what each may do.
    password : str
        At least :data:`MIN_PASSWORD_LENGTH` characters; only its Argon2 hash
        is stored.
    actor : str
        Who creates the user, for the audit log.
    hasher : argon2.PasswordHasher, optional
        Hashing parameters (tests pass a cheap one).

    Returns
    -------
    dict
        ``{"name", "role", "active"}`` of the new user.

    Raises
    ------
    UserError
        If the name is taken or invalid, the role unknown or the password too short.
    """
    check_user_name(name)
    _check_role(role)
    password_hash = hash_password(password, hasher=hasher)
    with store.session() as s:
        if s.scalar(sa.select(User.id).where(User.name == name)) is not None:
            raise UserError(
                f"user {name!r} exists already; choose another name, or deactivate the old "
                f"account with `geoenergy users deactivate {name}` first."
            )
        s.add(User(name=name, password_hash=password_hash, role=role, active=True))
        after = {"name": name, "role": role, "active": True}
        record_audit(
            s, actor=actor, action="user.add", entity="users", entity_id=name, after=after
        )
    return after


def set_password(store, name: str, password: str, *, actor: str = "cli", hasher=None) -> None:
    """Replace the password of user ``name`` (audit-logged without the hash)."""
    _check_password(password)
    password_hash = hash_password(password, hasher=hasher)
    with store.session() as s:
        user = s.scalar(sa.select(User).where(User.name == name))
        if user is None:
            raise UserError(f"there is no user {name!r}; see `geoenergy users list`.")
        user.password_hash = password_hash
        record_audit(
            s, actor=actor, action="user.password", entity="users", entity_id=name, after={}
        )


def list_users(store) -> list[dict]:
    """All users: ``[{"name", "role", "active", "created_at"}, ...]`` sorted by name."""
    with store.session() as s:
        rows = s.execute(
            sa.select(User.name, User.role, User.active, User.created_at).order_by(User.name)
        ).all()
    return [r._asdict() for r in rows]


def deactivate_user(store, name: str, *, actor: str = "cli") -> dict:
    """Deactivate user ``name``: they can no longer log in, and open sessions end.

    Users are never deleted: their name stays in the reviews and audit log.

    Returns
    -------
    dict
        ``{"name", "role", "active": False}``.
    """
    with store.session() as s:
        user = s.scalar(sa.select(User).where(User.name == name))
        if user is None:
            raise UserError(f"there is no user {name!r}; see `geoenergy users list`.")
        before = {"name": user.name, "role": user.role, "active": user.active}
        user.active = False
        after = {**before, "active": False}
        record_audit(
            s,
            actor=actor,
            action="user.deactivate",
            entity="users",
            entity_id=name,
            before=before,
            after=after,
        )
    return after


def authenticate(
    store,
    name: str,
    password: str,
    remote_addr: str,
    *,
    limits: LoginLimits | None = None,
    now: dt.datetime | None = None,
    hasher=None,
) -> SessionUser:
    """Check a login and record the attempt.

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    name, password : str
        As typed at the login form.
    remote_addr : str
        The client's address (for the per-address limit and the security log).
    limits : LoginLimits, optional
        Default ``LoginLimits()`` (5 failures per name, 20 per address, in 15 minutes).
    now : datetime, optional
        Aware current time (tests).
    hasher : argon2.PasswordHasher, optional
        The parameters new hashes should have; a stored hash made with other
        parameters is re-hashed on a successful login. Default argon2-cffi's.

    Returns
    -------
    SessionUser

    Raises
    ------
    LoginRateLimitError
        Too many recent failures for this name or address; the password is not
        even checked (the attempt is recorded as a failure).
    AuthError
        Unknown user, wrong password or deactivated account.
    """
    limits = limits or LoginLimits()
    now = now or utcnow()
    name = name if isinstance(name, str) else ""
    password = password if isinstance(password, str) else ""
    # Columns are 64 characters; an over-long name is recorded cut, never refused
    # with a server error.
    rec_name, rec_addr = name[:MAX_NAME_LENGTH], (remote_addr or "unknown")[:64]
    since = now - limits.window
    with store.session() as s:
        failures = sa.select(LoginAttempt.at).where(
            LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
        by_name = s.scalars(
            failures.where(LoginAttempt.name == rec_name).order_by(LoginAttempt.at)
        ).all()
        by_addr = s.scalars(
            failures.where(LoginAttempt.remote_addr == rec_addr).order_by(LoginAttempt.at)
        ).all()
        blocked = []
        if len(by_name) >= limits.per_name:
            blocked.append(by_name[-limits.per_name])
        if len(by_addr) >= limits.per_address:
            blocked.append(by_addr[-limits.per_address])
        if blocked:
            s.add(LoginAttempt(at=now, name=rec_name, remote_addr=rec_addr, success=False))
            free_at = max(blocked) + limits.window
            retry = int((free_at - now).total_seconds()) + 1
            raise_after = LoginRateLimitError(retry, int(limits.window.total_seconds() // 60))
        else:
            raise_after = None
    if raise_after is not None:
        raise raise_after
    user = _verify(store, name, password, hasher or _hasher())
    with store.session() as s:
        s.add(LoginAttempt(at=now, name=rec_name, remote_addr=rec_addr, success=user is not None))
    if user is None:
        raise AuthError()
    return user


def _verify(store, name: str, password: str, hasher) -> SessionUser | None:
    from argon2.exceptions import InvalidHashError, VerificationError

    with store.session() as s:
        row = s.execute(
            sa.select(User.password_hash, User.role, User.active).where(User.name == name)
        ).first()
    if row is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        with _HASH_SLOTS, contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(hasher), password[:MAX_PASSWORD_LENGTH] or "x")
        return None
    try:
        with _HASH_SLOTS:
            hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not row.active:
        return None
    if hasher.check_needs_rehash(row.password_hash):
        # Parameters were raised since the hash was made: upgrade it while the
        # password is at hand.
        with store.session() as s:
            s.execute(
                sa.update(User)
                .where(User.name == name)
                .values(password_hash=hasher.hash(password))
            )
    return SessionUser(name=name, role=row.role)
