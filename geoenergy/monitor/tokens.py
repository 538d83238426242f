"""Bearer tokens of the ingest API: who may write the readings of which meters.

A token is a 256-bit random secret, shown once when it is made
(``geoenergy tokens add``) and stored only as its SHA-256. A slow password
hash (Argon2) protects low-entropy passwords against guessing; a random
256-bit secret cannot be guessed, so a fast hash is as safe and keeps every
API request's check to one indexed lookup. Each token lists the meters it
may write; the API refuses, row by row, a reading of any other meter.
Adding and revoking a token are audit-logged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError
from geoenergy.store.models import ApiToken, Meter, record_audit, utcnow

__all__ = [
    "TOKEN_PREFIX",
    "TokenError",
    "TokenInfo",
    "add_token",
    "authenticate",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "geo_"
"""Prefix of every token, so a leaked one is recognisable in logs and scanners."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class TokenError(GeoEnergyError, ValueError):
    """A token name, meter list or lookup that cannot be honoured."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as the API sees it (never the secret itself).

    Attributes
    ----------
    id : int
    name : str
    meters : frozenset of str
        Meter ids the token may write.
    revoked : bool
    """

    id: int
    name: str
    meters: frozenset[str]
    revoked: bool = False


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_add(name, meters) -> list[str]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise TokenError(
            f"token name {name!r} is not allowed; use 1-64 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, e.g. 'dc-yizhuang-gw1'."
        )
    if isinstance(meters, str) or not meters:
        raise TokenError(
            f"a token needs at least one meter, got {meters!r}; pass --meter ID once per meter."
        )
    out = []
    for m in meters:
        m = str(m).strip()
        if not m or len(m) > 64:
            raise TokenError(f"meter id {m!r} must be 1-64 characters.")
        if m not in out:
            out.append(m)
    return out


def add_token(store, name: str, meters, *, actor: str = "cli") -> tuple[str, list[str]]:
    """Create a token allowed to write ``meters``.

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace store.
    name : str
        A unique name, e.g. the data centre's gateway.
    meters : sequence of str
        Meter ids the token may write.
    actor : str
        Who makes it, for the audit log.

    Returns
    -------
    token : str
        The secret; it is not stored and cannot be shown again.
    warnings : list of str
        Meters not (yet) in the registry: their readings will be rejected by
        ingestion until the registry has them.

    Raises
    ------
    TokenError
        Bad name or meters, or a token of that name exists.
    """
    meters = _check_add(name, meters)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as s:
        if s.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise TokenError(
                f"a token named {name!r} exists already; choose another name, or revoke it "
                f"with `geoenergy tokens revoke {name}` and use a new name."
            )
        s.add(
            ApiToken(
                name=name,
                token_sha256=hash_token(token),
                meters=meters,
                created_at=utcnow(),
                created_by=actor,
            )
        )
        known = set(s.scalars(sa.select(Meter.meter_id).where(Meter.meter_id.in_(meters))))
        record_audit(
            s,
            actor=actor,
            action="token.add",
            entity="api_tokens",
            entity_id=name,
            after={"name": name, "meters": meters},
        )
    warnings = [
        f"meter {m} is not in the registry; its readings are rejected until it is."
        for m in meters
        if m not in known
    ]
    return token, warnings


def list_tokens(store) -> list[dict]:
    """Every token: ``name``, ``meters``, ``created_at``, ``created_by``, ``revoked_at``."""
    with store.session() as s:
        rows = s.scalars(sa.select(ApiToken).order_by(ApiToken.name)).all()
        return [
            {
                "name": t.name,
                "meters": list(t.meters),
                "created_at": t.created_at,
                "created_by": t.created_by,
                "revoked_at": t.revoked_at,
            }
            for t in rows
        ]


def revoke_token(store, name: str, *, actor: str = "cli") -> None:
    """Revoke a token: the API refuses it from the next request on.

    Raises
    ------
    TokenError
        No token of that name, or it is revoked already.
    """
    with store.session() as s:
        t = s.scalars(sa.select(ApiToken).where(ApiToken.name == name)).first()
        if t is None:
            raise TokenError(f"no token named {name!r}; see `geoenergy tokens list`.")
        if t.revoked_at is not None:
            raise TokenError(
                f"token {name!r} was revoked already ({t.revoked_at:%Y-%m-%d %H:%M}Z)."
            )
        t.revoked_at = utcnow()
        record_audit(
            s,
            actor=actor,
            action="token.revoke",
            entity="api_tokens",
            entity_id=name,
            before={"revoked_at": None},
            after={"revoked_at": t.revoked_at.isoformat()},
        )


def authenticate(store, token: str | None) -> TokenInfo | None:
    """The active token matching ``token``, or None (unknown, malformed or revoked)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with store.session() as s:
        t = s.scalars(
            sa.select(ApiToken).where(ApiToken.token_sha256 == hash_token(token))
        ).first()
        if t is None or t.revoked_at is not None:
            return None
        return TokenInfo(id=t.id, name=t.name, meters=frozenset(t.meters), revoked=False)
