"""Invite tokens (bot/commands/tokens.py) and scope texts (bot/commands/scopes.py): pure functions, no I/O."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.scopes import split_scope_arg
from bot.commands.tokens import MAX_PAYLOAD, TokenError, derive_secret, make_token, read_token
from metrics.scope import ScopeError, canonical

SECRET = derive_secret("123456:TEST-token_secret")
NOW = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _kind(token: str, now: datetime = NOW, secret: bytes = SECRET) -> str:
    try:
        read_token(secret, token, now)
    except TokenError as exc:
        return exc.kind
    return "ok"


def test_round_trip_and_shape():
    token = make_token(SECRET, 42, EXPIRES)
    assert len(token) == 39 <= MAX_PAYLOAD
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    read = read_token(SECRET, token, NOW)
    assert read.invite_id == 42 and read.expires_at == EXPIRES


@given(st.integers(1, 2**63 - 1), st.integers(1, 2**32 - 1))
def test_round_trip_any_id_and_expiry(invite_id, expiry):
    expires = datetime.fromtimestamp(expiry, UTC)
    token = make_token(SECRET, invite_id, expires)
    assert len(token) <= MAX_PAYLOAD and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)
    read = read_token(SECRET, token, expires - timedelta(seconds=1))
    assert (read.invite_id, read.expires_at) == (invite_id, expires)


def test_every_altered_character_is_refused_as_forged():
    token = make_token(SECRET, 7, EXPIRES)
    for i, char in enumerate(token):
        for other in ALPHABET:
            if other != char:
                assert _kind(token[:i] + other + token[i + 1:]) == "forged", (i, other)


def test_truncated_extended_and_malformed_tokens_are_forged():
    token = make_token(SECRET, 7, EXPIRES)
    for bad in (token[:-1], token + "A", token + "=", "", "x" * 65, token.replace(token[3], "+"),
                token[:10] + " " + token[11:], "start", "0" * 39):
        assert _kind(bad) == "forged", bad


def test_another_secret_is_forged():
    token = make_token(SECRET, 7, EXPIRES)
    assert _kind(token, secret=derive_secret("999:other")) == "forged"
    assert _kind(token, secret=b"an explicit INVITE_SECRET value") == "forged"


def test_expiry_boundary():
    token = make_token(SECRET, 7, EXPIRES)
    assert _kind(token, EXPIRES - timedelta(microseconds=1)) == "ok"
    assert _kind(token, EXPIRES) == "expired"  # valid up to, not including, its expiry second
    assert _kind(token, EXPIRES + timedelta(days=30)) == "expired"


def test_derived_secret_is_stable_and_token_specific():
    assert derive_secret("1:a") == derive_secret("1:a") != derive_secret("1:b")
    assert len(SECRET) == 32 and b"TEST" not in SECRET


@pytest.mark.parametrize(("text", "scope"), [
    ("team:north", "team:north"),
    ("  manager:ivanov ", "manager:ivanov"),
    ("team:north & region:msk", "region:msk & team:north"),
    ("region:msk&team:north&team:north", "region:msk & team:north"),
    ("vip", "vip"),
    ("a.b-c_d:1", "a.b-c_d:1"),
    ("*", None),
    ("manager:иванов", "manager:иванов"),            # the command line always took these;
    ("e & d & c & b & a", "a & b & c & d & e"),      # the bot refused them before one grammar
    ("segment/b2b & utm.vk@x+1", "segment/b2b & utm.vk@x+1"),
])
def test_scope_canonical_form(text, scope):
    assert canonical(text) == scope


# One grammar for the bot and the command line (metrics.scope): letters of any script are a tag's
# ("тег" is one), a space, ';' or '|' are not; at most 8 tags.
@pytest.mark.parametrize("text", ["", "team north", "team:north & ", "team;drop", "a|b", "тег north", "x" * 65,
                                  "a & b & c & d & e & f & g & h & i", "team:north & *"])
def test_bad_scopes_say_what_would_be_right(text):
    with pytest.raises(ScopeError) as err:
        canonical(text)
    assert "team:north" in str(err.value) or "at most" in str(err.value)
    assert err.value.text("ru") != str(err.value)


def test_scope_argument_of_subscribe():
    assert split_scope_arg(["08:45", "UTC"]) == (["08:45", "UTC"], None)
    assert split_scope_arg(["08:45", "scope=team:north", "&", "region:msk"]) == (
        ["08:45"], "team:north & region:msk")
    assert split_scope_arg(["scope="]) == ([], "")


def test_invite_settings():
    from db.settings import SettingsError, load_settings

    s = load_settings({"INVITE_SECRET": "0123456789abcdef0123", "INVITE_TTL_DAYS": "3"}, dotenv=None)
    assert s.invite_secret == "0123456789abcdef0123" and s.invite_ttl_days == 3.0
    assert "0123456789abcdef" not in repr(s)  # a secret never reaches a log line
    assert load_settings({}, dotenv=None).invite_ttl_days == 7.0
    with pytest.raises(SettingsError, match="INVITE_SECRET is too short") as err:
        load_settings({"INVITE_SECRET": "short"}, dotenv=None)
    assert "short" not in str(err.value).replace("too short", "")
    for bad in ("0", "-1", "soon", "400"):
        with pytest.raises(SettingsError, match="INVITE_TTL_DAYS"):
            load_settings({"INVITE_TTL_DAYS": bad}, dotenv=None)
