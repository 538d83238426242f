"""Ingest tokens: the library and ``geoenergy tokens add|list|revoke``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from geoenergy.cli import main
from geoenergy.monitor.tokens import (
    TokenError,
    add_token,
    authenticate,
    hash_token,
    list_tokens,
    revoke_token,
)
from geoenergy.store.models import ApiToken, AuditLog


def test_token_is_stored_only_as_a_hash_and_authenticates(make_ws):
    ws = make_ws()
    tok, warnings = add_token(ws.store, "gw-1", ["F1", "I1", "F1"])
    assert tok.startswith("geo_") and len(tok) > 40
    assert warnings and "not in the registry" in warnings[0]
    with ws.store.session() as s:
        row = s.scalars(sa.select(ApiToken)).one()
        assert row.token_sha256 == hash_token(tok) and tok not in str(row.__dict__)
        assert row.meters == ["F1", "I1"]
        assert [a.action for a in s.scalars(sa.select(AuditLog))] == ["token.add"]
    info = authenticate(ws.store, tok)
    assert info.name == "gw-1" and info.meters == {"F1", "I1"}
    assert authenticate(ws.store, tok + "x") is None
    assert authenticate(ws.store, None) is None
    revoke_token(ws.store, "gw-1")
    assert authenticate(ws.store, tok) is None
    assert list_tokens(ws.store)[0]["revoked_at"] is not None


@pytest.mark.parametrize(
    ("name", "meters", "match"),
    [
        ("", ["F1"], "token name"),
        ("a b", ["F1"], "token name"),
        ("gw", [], "at least one meter"),
        ("gw", "F1", "at least one meter"),
    ],
)
def test_bad_token_requests_name_the_fix(make_ws, name, meters, match):
    ws = make_ws()
    with pytest.raises(TokenError, match=match):
        add_token(ws.store, name, meters)


def test_duplicate_and_unknown_names(make_ws):
    ws = make_ws()
    add_token(ws.store, "gw", ["F1"])
    with pytest.raises(TokenError, match="exists already"):
        add_token(ws.store, "gw", ["F2"])
    with pytest.raises(TokenError, match="no token named 'nope'"):
        revoke_token(ws.store, "nope")
    revoke_token(ws.store, "gw")
    with pytest.raises(TokenError, match="revoked already"):
        revoke_token(ws.store, "gw")


def test_cli_add_prints_the_token_once_list_and_revoke(make_ws, capsys):
    ws = make_ws()
    assert (
        main(["-w", str(ws.path), "tokens", "add", "gw-1", "--meter", "F1", "--meter", "I1"]) == 0
    )
    out, err = capsys.readouterr()
    tok = out.strip()
    assert tok.startswith("geo_") and "shown once" in err
    assert authenticate(ws.store, tok).meters == {"F1", "I1"}
    assert main(["-w", str(ws.path), "tokens", "list"]) == 0
    out, _ = capsys.readouterr()
    assert "gw-1" in out and "F1, I1" in out and tok not in out
    assert main(["-w", str(ws.path), "tokens", "revoke", "gw-1"]) == 0
    assert main(["-w", str(ws.path), "tokens", "revoke", "gw-1"]) == 1
    _, err = capsys.readouterr()
    assert "revoked already" in err
