"""Users, passwords and logins of the review app.

Passwords are stored only as Argon2id hashes (argon2-cffi's defaults, RFC
9106's second recommended profile) and never logged. Logins are throttled
from the ``login_attempts`` table, so the limit holds across the processes of
a multi-worker server and across restarts. Creating and deactivating users
writes the audit log; the hash never appears in it.

Throttling, and why it is built this way:

- **Reserve, then verify.** An attempt is written (as a failure) in the same
  transaction that counts the earlier ones, under a write lock (SQLite's
  database lock; on PostgreSQL a ``SHARE ROW EXCLUSIVE`` lock on
  ``login_attempts``), and only then is the password verified. Attempts in
  flight therefore count: 40 parallel guesses are verified at most as often
  as the limit allows, not 40 times. A successful verification turns the
  reserved row into a success.
- **Growing delays, not a lock.** After ``per_name`` failures of a name (or
  ``per_address`` from one address) within ``window``, the next attempt is
  allowed only ``delay`` after the latest failure, and the wait doubles with
  each further failure up to ``max_delay``. An attacker cannot lock a user
  out for good, and a user who mistyped waits seconds, not a quarter hour.
- **Refused attempts are not failures.** A throttled attempt is not
  recorded, so hammering the form does not prolong the wait.
- A successful login, and :func:`unlock_user` (``geoenergy users unlock``),
  clear the failures of the name; the per-address count is left alone.

References
----------
.. [1] A. Biryukov, D. Dinu, D. Khovratovich, S. Josefsson, "Argon2
   Memory-Hard Function for Password Hashing and Proof-of-Work
   Applications", RFC 9106, 2021, section 4.
.. [2] OWASP Authentication Cheat Sheet, "Protect against automated
   attacks" (throttling with growing delays rather than a lockout that an
   attacker can use to deny service).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import threading
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError
from geoenergy.store import USER_ROLES, AuditLog, LoginAttempt, User, record_audit, utcnow

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
    "session_epoch",
    "set_password",
    "set_role",
    "unlock_user",
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
    """Too many recent failed logins for this user name or from this address."""

    def __init__(self, retry_after_s: int):
        self.retry_after_s = retry_after_s
        wait = (
            f"{retry_after_s} seconds" if retry_after_s < 120 else f"{retry_after_s // 60} minutes"
        )
        super().__init__(
            f"too many failed logins; try again in {wait} (each further failure doubles "
            f"the wait; an administrator can lift it with `geoenergy users unlock NAME`)."
        )


class UserError(GeoEnergyError, ValueError):
    """A user name, role or password that cannot be used."""


@dataclass(frozen=True)
class LoginLimits:
    """When failed logins start to slow further attempts down.

    Parameters
    ----------
    per_name : int
        Failures of one user name within ``window`` that cost nothing; from
        then on each attempt must wait (see ``delay``).
    per_address : int
        The same per client address. Higher than ``per_name`` because an
        office behind one NAT address shares it.
    window : datetime.timedelta
        How long a failure counts.
    delay : datetime.timedelta
        Wait after the latest failure once the free failures are used up;
        it doubles with each further failure.
    max_delay : datetime.timedelta
        The longest wait.

    Examples
    --------
    With the defaults, after 5 failures of a name the 6th attempt may come
    30 s after the 5th, the 7th 60 s after the 6th, then 2, 4, 8 and at most
    15 minutes; a success or ``geoenergy users unlock`` starts over.

    References
    ----------
    .. [1] OWASP Authentication Cheat Sheet (throttling, lockout as denial of service).
    """

    per_name: int = 5
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(hours=1)
    delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(minutes=15)

    def __post_init__(self):
        for name in ("per_name", "per_address"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"LoginLimits: {name} must be a positive integer, got {value!r}.")
        for name in ("window", "delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
                raise ValueError(
                    f"LoginLimits: {name} must be a positive datetime.timedelta, got {value!r}."
                )
        if self.max_delay < self.delay:
            raise ValueError(
                f"LoginLimits: max_delay ({self.max_delay}) is shorter than delay "
                f"({self.delay}); make it at least as long."
            )

    def wait(self, failures: int) -> dt.timedelta:
        """How long after the latest failure the next attempt must wait.

        Parameters
        ----------
        failures : int
            Failures counted for a name beyond its free ones: ``failures -
            per_name`` (or for an address, beyond ``per_address``); below 0
            means there are free attempts left.
        """
        if failures < 0:
            return dt.timedelta(0)
        # 2**n overflows timedelta long before n is large: cap the exponent.
        return min(self.delay * 2 ** min(failures, 40), self.max_delay)


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user of a request.

    ``epoch`` is :func:`session_epoch` of the user at login; a session whose
    epoch no longer matches (password or role changed since) has ended.
    """

    name: str
    role: str
    epoch: str = ""


def session_epoch(role: str, password_hash: str) -> str:
    """What a session is bound to: the user's role and password hash, fingerprinted.

    A new password (even the same one, re-salted) or another role gives
    another epoch, so every session opened before the change ends at its
    next request, in every worker, whichever tool made the change.

    Returns
    -------
    str
        16 hex characters (SHA-256 of the role and hash: the cookie, which
        the client can read, does not carry the hash itself).
    """
    return hashlib.sha256(f"{role}\n{password_hash}".encode()).hexdigest()[:16]


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
    """Replace the password of user ``name`` (audit-logged without the hash).

    Every open session of the user ends (see :func:`session_epoch`).
    """
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


def set_role(store, name: str, role: str, *, actor: str = "cli") -> dict:
    """Give user ``name`` another role; their open sessions end (audit-logged).

    Returns
    -------
    dict
        ``{"name", "role", "active"}`` after the change.
    """
    _check_role(role)
    with store.session() as s:
        user = s.scalar(sa.select(User).where(User.name == name))
        if user is None:
            raise UserError(f"there is no user {name!r}; see `geoenergy users list`.")
        before = {"name": user.name, "role": user.role, "active": user.active}
        user.role = role
        after = {**before, "role": role}
        record_audit(
            s,
            actor=actor,
            action="user.role",
            entity="users",
            entity_id=name,
            before=before,
            after=after,
        )
    return after


def unlock_user(store, name: str, *, actor: str = "cli", now: dt.datetime | None = None) -> int:
    """Clear the failed logins of user name ``name``: its next login is not delayed.

    The failures stay in ``login_attempts`` (the security log); logins count
    only those after the latest unlock, which is recorded in the audit log
    (``user.unlock``). Failures from an address still count for that address.
    Works for names that are not users too (a mistyped name at the form).

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    name : str
        The user name as typed at the login form.
    actor : str
        Who unlocks, for the audit log.
    now : datetime, optional
        Aware time of the unlock (tests); default now.

    Returns
    -------
    int
        Failures of the name that counted and no longer do.
    """
    if not isinstance(name, str):
        raise TypeError(f"user name must be a str, got {type(name).__name__}.")
    rec_name = name[:MAX_NAME_LENGTH]
    now = now or utcnow()
    with store.session() as s:
        since = _name_since(s, rec_name, now - dt.timedelta(days=3650))
        cleared = s.scalar(
            sa.select(sa.func.count(LoginAttempt.id)).where(
                LoginAttempt.name == rec_name,
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= since,
                LoginAttempt.at <= now,
            )
        )
        entry = record_audit(
            s,
            actor=actor,
            action=UNLOCK_ACTION,
            entity="users",
            entity_id=rec_name,
            after={"failures_cleared": cleared},
        )
        entry.at = now
    return int(cleared or 0)


#: Audit action of :func:`unlock_user`; logins count failures of a name after it.
UNLOCK_ACTION = "user.unlock"


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
    """Check a login, throttled by earlier failures (see the module notes).

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    name, password : str
        As typed at the login form.
    remote_addr : str
        The client's address (for the per-address limit and the security log).
    limits : LoginLimits, optional
        Default ``LoginLimits()``.
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
        The name or address must wait (``retry_after_s``); the password is
        not checked and the attempt is not recorded.
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
    attempt_id = _reserve(store, rec_name, rec_addr, now, limits)
    user = _verify(store, name, password, hasher or _hasher())
    if user is None:
        raise AuthError()
    with store.session() as s:
        s.execute(
            sa.update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(success=True)
        )
    return user


def _name_since(session, rec_name: str, since: dt.datetime) -> dt.datetime:
    """Start of the failures that count for a name: after its latest success or unlock."""
    last_ok = session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.name == rec_name, LoginAttempt.success.is_(True)
        )
    )
    unlocked = session.scalar(
        sa.select(sa.func.max(AuditLog.at)).where(
            AuditLog.entity == "users",
            AuditLog.entity_id == rec_name,
            AuditLog.action == UNLOCK_ACTION,
        )
    )
    # Strictly after: a failure at the very instant of an unlock is cleared.
    later = [t + dt.timedelta(microseconds=1) for t in (last_ok, unlocked) if t is not None]
    return max([since, *later])


def _wait(session, where, since, free: int, limits: LoginLimits, now) -> dt.timedelta:
    """Time still to wait for one key (name or address): zero when free."""
    n, latest = session.execute(
        sa.select(sa.func.count(LoginAttempt.id), sa.func.max(LoginAttempt.at)).where(
            where, LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    ).one()
    if n < free:
        return dt.timedelta(0)
    return max(dt.timedelta(0), latest + limits.wait(n - free) - now)


def _reserve(store, rec_name: str, rec_addr: str, now, limits: LoginLimits) -> int:
    """Record the attempt as a failure, atomically with the check of the earlier ones.

    The row is written first, under a lock that serialises every reservation,
    and the earlier rows (other than this one) are counted in the same
    transaction: two parallel attempts can never both see the other missing.
    A refused attempt is rolled back, so it is not a failure.

    Returns
    -------
    int
        Id of the reserved ``login_attempts`` row.
    """
    with store.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            # Conflicts with itself and with plain inserts: one reservation at a
            # time. It is held for a few milliseconds (no hashing inside).
            s.execute(sa.text("LOCK TABLE login_attempts IN SHARE ROW EXCLUSIVE MODE"))
        attempt = LoginAttempt(at=now, name=rec_name, remote_addr=rec_addr, success=False)
        s.add(attempt)
        # On SQLite the INSERT takes the database's write lock, held to commit.
        s.flush()
        others = LoginAttempt.id != attempt.id
        window_start = now - limits.window
        wait = max(
            _wait(
                s,
                sa.and_(others, LoginAttempt.name == rec_name),
                _name_since(s, rec_name, window_start),
                limits.per_name,
                limits,
                now,
            ),
            _wait(
                s,
                sa.and_(others, LoginAttempt.remote_addr == rec_addr),
                window_start,
                limits.per_address,
                limits,
                now,
            ),
        )
        if wait > dt.timedelta(0):
            # Raising rolls the reservation back: a refused attempt is no failure.
            raise LoginRateLimitError(math.ceil(wait.total_seconds()))
        return attempt.id


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
    current_hash = row.password_hash
    if hasher.check_needs_rehash(row.password_hash):
        # Parameters were raised since the hash was made: upgrade it while the
        # password is at hand.
        current_hash = hasher.hash(password)
        with store.session() as s:
            s.execute(sa.update(User).where(User.name == name).values(password_hash=current_hash))
    return SessionUser(name=name, role=row.role, epoch=session_epoch(row.role, current_hash))
